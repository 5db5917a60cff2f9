"""What scoring reads: a contact's `Profile` and its engagement log, as `Engagement` named tuples.

Times are integer microseconds since the epoch (`to_us`) and points integer hundredths (`hundredths`), so the
engine filters, orders, buckets and sums with integer operations only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from shared.scoring.results import EPOCH, from_us

if TYPE_CHECKING:
    from shared.events.canonical import CanonicalEvent

US_PER_DAY = 86_400_000_000
_ONE_US = timedelta(microseconds=1)
_EMPTY: Mapping[str, Any] = MappingProxyType({})


def to_us(moment: datetime) -> int:
    """Microseconds since the epoch, exactly (no float rounding). `moment` must be timezone-aware."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment.isoformat()} has no timezone: scoring needs timezone-aware times")
    return (moment - EPOCH) // _ONE_US


def hundredths(value: Decimal | int | float) -> int:
    """Points as integer hundredths (`Decimal("2.5")` -> 250); the model allows at most two decimals."""
    return int(Decimal(str(value)) * 100)


class Engagement(NamedTuple):
    """One engagement of a contact, in the engine's compact form.

    `at_us`: when it happened, in microseconds since the epoch (`to_us`); `kind`: an `EngagementKind` value;
    `name`, `url`, `path` (text or None) and `properties` as in the canonical engagement event's `data`.
    `withheld`: why the caller may not score it (a person's withdrawn consent), or None: a withheld engagement
    earns nothing, counts toward no cap, MQL metric or handoff trigger, and shows in the breakdown with the reason.
    """

    event_id: str
    at_us: int
    kind: str
    name: str | None = None
    url: str | None = None
    path: str | None = None
    properties: Mapping[str, Any] = _EMPTY
    withheld: str | None = None

    @classmethod
    def of(
        cls,
        event_id: str,
        occurred_at: datetime,
        kind: str,
        *,
        name: str | None = None,
        url: str | None = None,
        path: str | None = None,
        properties: Mapping[str, Any] | None = None,
        withheld: str | None = None,
    ) -> Engagement:
        return cls(event_id, to_us(occurred_at), str(kind), name, url, path, properties or _EMPTY, withheld)

    @classmethod
    def from_data(cls, event_id: str, occurred_at: datetime, data: Mapping[str, Any]) -> Engagement:
        """From the `data` of an `engagement.recorded` canonical event (`kind`, `name`, `url`, `path`,
        `properties`; Calendly's `event_name` stands in for a missing `name`)."""
        properties = data.get("properties")
        return cls(
            event_id,
            to_us(occurred_at),
            str(data.get("kind") or ""),
            _str_or_none(data.get("name") or data.get("event_name")),
            _str_or_none(data.get("url")),
            _str_or_none(data.get("path")),
            properties if isinstance(properties, Mapping) else _EMPTY,
        )

    @classmethod
    def from_event(cls, event: CanonicalEvent) -> Engagement:
        if event.event_type != "engagement.recorded":
            raise ValueError(f"event {event.event_id} is {event.event_type}, not engagement.recorded")
        return cls.from_data(event.event_id, event.occurred_at, event.data)

    @property
    def occurred_at(self) -> datetime:
        return from_us(self.at_us)


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class Profile:
    """What fit rules read about a contact and its account. Unknown fields are None and match no rule.

    `country`: ISO 3166 alpha-2 in the default model. `annual_revenue`: in the model's currency (USD in the
    default). `attributes`: custom fields, read by rules on `attributes.<name>`. `nurture_started_at`: when
    the contact entered nurturing, if known; otherwise nurturing starts at its first engagement in the log.
    `nurture_withheld`: why the contact is not nurtured (a withdrawn consent), or None: the standard handoff,
    which follows nurturing, does not fire while it is set.
    """

    email: str | None = None
    job_title: str | None = None
    industry: str | None = None
    country: str | None = None
    company_domain: str | None = None
    employee_count: int | None = None
    annual_revenue: float | None = None
    nurture_started_at: datetime | None = None
    attributes: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    nurture_withheld: str | None = None
