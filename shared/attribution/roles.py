"""Which touch of a journey holds each role the position-based models single out.

A journey's touches are ordered by (occurred_at, touch_id); "at or before" a time includes a touch at exactly
that time, and "the last touch at or before" it is the latest in that order.

- FIRST: the first touch.
- LAST: the last touch, the closing one (every touch is at or before the conversion).
- LEAD_CREATION: the last touch at or before `lead_created_at`. When the hub never saw the lead created
  (`lead_created_at` is None), or the person was a Lead before the window (`lead_created_at` is before every
  touch), the first touch holds it: the earliest touch we can see is the one closest to the lead's creation.
  A lead created after the last touch gives it to the last touch.
- OPPORTUNITY_CREATION: the last touch at or before `opportunity_created_at`. When the hub never saw the
  opportunity created (None), the last touch holds it: the deal had to exist by the close. When it was created
  before every touch, the first touch holds it (as for the lead). It never comes before the lead-creation
  touch: an opportunity created before the lead's touch (a lead converted and re-engaged, clocks of two systems)
  goes to the lead-creation touch.
- A touch may hold several roles: in a one-touch journey it holds all four; in a two-touch journey without
  lead or opportunity times the first holds FIRST and LEAD_CREATION, the last OPPORTUNITY_CREATION and LAST.

An empty journey holds no roles: it is a ValueError (callers deal with "no touches" before attributing).
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import datetime
from typing import NamedTuple

from shared.attribution.journeys import Journey, Role, Touch

__all__ = ["RoleHolders", "role_holders", "touch_roles"]


class RoleHolders(NamedTuple):
    """The index in `journey.touches` of the touch holding each role."""

    first: int
    lead_creation: int
    opportunity_creation: int
    last: int

    def index_of(self, role: Role) -> int:
        return self[_FIELD_OF[role]]


_FIELD_OF = {Role.FIRST: 0, Role.LEAD_CREATION: 1, Role.OPPORTUNITY_CREATION: 2, Role.LAST: 3}


def _occurred_at(touch: Touch) -> datetime:
    return touch.occurred_at


def _last_at_or_before(touches: tuple[Touch, ...], moment: datetime) -> int:
    """The index of the last touch at or before `moment`; 0 (the first touch) when every touch is after it."""
    return max(bisect_right(touches, moment, key=_occurred_at) - 1, 0)


def role_holders(journey: Journey) -> RoleHolders:
    """Which touch holds each role (see the module's rules). ValueError for a journey without touches."""
    touches = journey.touches
    if not touches:
        raise ValueError(f"conversion {journey.conversion_id} has no touches: no touch can hold a role")
    last = len(touches) - 1
    lead = 0 if journey.lead_created_at is None else _last_at_or_before(touches, journey.lead_created_at)
    opportunity = (
        last if journey.opportunity_created_at is None else _last_at_or_before(touches, journey.opportunity_created_at)
    )
    return RoleHolders(first=0, lead_creation=lead, opportunity_creation=max(opportunity, lead), last=last)


def touch_roles(journey: Journey) -> list[frozenset[Role]]:
    """The roles each touch holds, one set per touch in the journey's order (most sets are empty)."""
    holders = role_holders(journey)
    return [
        frozenset(role for role in Role if holders.index_of(role) == index) for index in range(len(journey.touches))
    ]
