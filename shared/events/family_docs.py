"""What the event catalog says of a family beyond what it says of every family, from the family's own
taxonomy: a column of its types table, and lines in each type's section.

Every family is documented without an entry here (meaning, fields, schema, example); an entry adds what only
that family has, such as the vendor events each canonical type is emitted for.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from shared.events import lead_taxonomy, taxonomy
from shared.events.canonical import WEBHOOK_EVENT_SOURCE, EngagementKind, EventType
from shared.events.lead_events import LEAD_EVENT_SOURCE, LeadEventType

_MAPPINGS_NOTE = "the vendor normalizers in `shared/webhooks/normalizers/` are authoritative"


@dataclass(frozen=True)
class FamilyDocs:
    column: str  # heading of the types table's third column
    cell: Callable[[StrEnum], str]  # a type's cell in that column (Markdown, one line)
    section: Callable[[StrEnum], list[str]]  # Markdown lines after the meaning in a type's section


def family_docs(source: str) -> FamilyDocs | None:
    return _BY_SOURCE.get(source)


# --- canonical events: the vendor events each type is emitted for ------------------------------------------


def _vendors(event_type: StrEnum) -> str:
    emitters = taxonomy.describe(EventType(event_type)).emitters
    return ", ".join(dict.fromkeys(f"`{e.vendor}`" for e in emitters)) or "not described"


def _emitted_for(event_type: StrEnum) -> list[str]:
    canonical = EventType(event_type)
    info = taxonomy.describe(canonical)
    if info.emitters:
        lines = [
            f"Emitted for these vendor events ({_MAPPINGS_NOTE}):",
            "",
            *(f"- {_emitter(e)}" for e in info.emitters),
            "",
        ]
    else:
        lines = [f"No vendor mapping onto it is described yet ({_MAPPINGS_NOTE}).", ""]
    if canonical is EventType.ENGAGEMENT_RECORDED:
        kinds = ", ".join(f"`{kind.value}`" for kind in EngagementKind)
        lines += [f"Engagement kinds the hub distinguishes (`EngagementKind`): {kinds}.", ""]
    return lines


def _emitter(emitter: taxonomy.Emitter) -> str:
    if emitter.vendor_event_types == ("*",):
        return f"`{emitter.vendor}`: {emitter.condition}"
    names = ", ".join(f"`{name}`" for name in emitter.vendor_event_types)
    return f"`{emitter.vendor}`: {names}" + (f" {emitter.condition}" if emitter.condition else "")


# --- lead events: the fields only some types set --------------------------------------------------------------


def _sets(event_type: StrEnum) -> str:
    fields = lead_taxonomy.describe(LeadEventType(event_type)).sets
    return ", ".join(f"`{name}`" for name in fields) or "none"


def _sets_and_leaves_null(event_type: StrEnum) -> list[str]:
    sets = lead_taxonomy.describe(LeadEventType(event_type)).sets
    null = [name for name in lead_taxonomy.TYPE_SPECIFIC_FIELDS if name not in sets]
    said = [
        f"it sets {_listed(sets)} (where {'it applies' if len(sets) == 1 else 'they apply'})" if sets else "",
        f"{_listed(null)} {'is' if len(null) == 1 else 'are'} always null" if null else "",
    ]
    return ["Of the fields only some types set, " + "; ".join(part for part in said if part) + ".", ""]


def _listed(names: Sequence[str]) -> str:
    quoted = [f"`{name}`" for name in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


_BY_SOURCE = {
    WEBHOOK_EVENT_SOURCE: FamilyDocs("emitted from", _vendors, _emitted_for),
    LEAD_EVENT_SOURCE: FamilyDocs("also sets", _sets, _sets_and_leaves_null),
}
