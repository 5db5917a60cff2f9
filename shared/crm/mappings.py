"""The CRM field mappings (`config/crm-mappings.json`): which hub field is which HubSpot property and which
Salesforce field, which way it syncs, which rule settles a disagreement, how values translate, and which fields
are critical (a conflict on them waits for a person). Validated at load; an error names the mapping by its id."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.config_files import ConfigFile, FileProblems, InvalidConfigFile, SnakeCaseId, repeated_ids
from shared.crm.expansions import EXPANSION_FIELDS, EXPANSION_OBJECTS, EXPANSION_PARENT, EXPANSION_PICKLISTS
from shared.crm.ports import CrmName, ObjectKind
from shared.leads.identity import normalize_email

DEFAULT_MAPPINGS_PATH = Path(__file__).resolve().parent.parent.parent / "config" / "crm-mappings.json"
CRMS: tuple[CrmName, ...] = ("hubspot", "salesforce")
HUB = "hub"
# A synced value is cut to this length where it enters the hub (from a CRM or from the hub's own events), so that
# what is written and what comes back are the same text, and a record (each value held a dozen times: the value,
# each CRM's agreed one, the values written lately) stays far below DynamoDB's 400 KB item limit.
MAX_VALUE_LENGTH = 1000
VALUES_SHOWN = 20  # a field's values named in a refusal of a value it cannot hold


class InvalidCrmMappings(InvalidConfigFile):
    noun = "CRM mappings"


class Direction(StrEnum):
    TWO_WAY = "two_way"
    HUB_TO_CRM = "hub_to_crm"
    CRM_TO_HUB = "crm_to_hub"


class SyncRule(StrEnum):
    LAST_MODIFIED_WINS = "last_modified_wins"
    PREFER_CRM_UNLESS_BLANK = "prefer_crm_unless_blank"
    PREFER_HUB_UNLESS_BLANK = "prefer_hub_unless_blank"
    NEVER_OVERWRITE = "never_overwrite"


class ValueFormat(StrEnum):
    TEXT = "text"
    EMAIL = "email"
    NUMBER = "number"
    DATE = "date"


CrmField = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[A-Za-z][A-Za-z0-9_]*$")]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SyncVersionFields(_Strict):
    hubspot: CrmField
    salesforce: CrmField


class ObjectMapping(_Strict):
    id: ObjectKind
    hubspot: CrmField
    salesforce: CrmField
    match_on: SnakeCaseId | None = None  # the hub field that finds an existing CRM record when no id is linked
    creates: bool = True  # false: the hub only updates records the CRM made (deals)
    # None: no version is written (a record the hub creates and never reads back: an expansion's task)
    sync_version: SyncVersionFields | None = None
    # the object its records belong to (an expansion's account): written once that record is in the CRM, linked
    belongs_to: ObjectKind | None = None

    def crm_object(self, crm: CrmName) -> str:
        return self.hubspot if crm == "hubspot" else self.salesforce


class FieldMapping(_Strict):
    id: Annotated[str, Field(min_length=3, max_length=80, pattern=r"^[a-z]+\.[a-z][a-z0-9_]*$")]
    object: ObjectKind
    hub_field: SnakeCaseId
    hubspot: CrmField | None = None
    salesforce: CrmField | None = None
    direction: Direction = Direction.TWO_WAY
    rule: SyncRule = SyncRule.LAST_MODIFIED_WINS
    critical: bool = False
    format: ValueFormat = ValueFormat.TEXT
    # hub value -> each CRM's value (picklists, owners); a CRM value not listed comes in as it is
    values: dict[str, dict[CrmName, Annotated[str, Field(min_length=1, max_length=255)]]] = Field(default_factory=dict)
    # another mapping's id whose `values` this one shares (an account's owner is a contact's: one list of reps)
    values_of: Annotated[str, Field(min_length=3, max_length=80)] | None = None
    on_create: dict[CrmName, Annotated[str, Field(min_length=1, max_length=255)]] = Field(default_factory=dict)
    # the object this field links its record to (a contact's account): the hub holds that record's hub id, each CRM
    # its record's id there (HubSpot as the contact's primary company association, Salesforce a lookup field)
    links_to: ObjectKind | None = None

    @model_validator(mode="after")
    def _named_consistently(self) -> FieldMapping:
        problems = []
        if self.id != f"{self.object}.{self.hub_field}":
            problems.append(f'id must be "{self.object}.{self.hub_field}" (object.hub_field)')
        if self.hubspot is None and self.salesforce is None:
            problems.append("names neither a hubspot property nor a salesforce field")
        for crm in CRMS:
            seen: dict[str, str] = {}
            for hub_value, per_crm in self.values.items():
                crm_value = per_crm.get(crm)
                if crm_value is not None and crm_value in seen:
                    problems.append(
                        f"values: {crm} value {crm_value!r} stands for both {seen[crm_value]!r} and {hub_value!r}"
                    )
                elif crm_value is not None:
                    seen[crm_value] = hub_value
        if self.links_to is not None:
            problems += _link_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def outbound(self) -> bool:
        return self.direction in (Direction.TWO_WAY, Direction.HUB_TO_CRM)

    @property
    def inbound(self) -> bool:
        return self.direction in (Direction.TWO_WAY, Direction.CRM_TO_HUB)

    def crm_field(self, crm: CrmName) -> str | None:
        return self.hubspot if crm == "hubspot" else self.salesforce

    def to_crm(self, crm: CrmName, value: str | None) -> str | None:
        """The hub's value as `crm` holds it (see `expressible` first: a value only another CRM knows has none)."""
        if value is None:
            return None
        mapped = self.values.get(value, {}).get(crm)
        if mapped is not None:
            return mapped
        return value.removeprefix(f"{crm}:") if self.values else value

    def expressible(self, crm: CrmName, value: str | None) -> bool:
        """Whether `crm` can hold the hub's value: a mapped field's value must be in `values`, or be that CRM's
        own unmapped value (an owner only Salesforce knows is not written to HubSpot)."""
        if value is None or not self.values or value in self.values:
            return True
        return value.startswith(f"{crm}:")

    def to_hub(self, crm: CrmName, value: Any) -> str | None:
        """A CRM's value as the hub holds it: text, the picklist / owner translated back, numbers normalized
        (`"42.50"` and `"42.5"` are one value, so a CRM's formatting is not taken for a change), dates as
        YYYY-MM-DD, blank as None."""
        if value is None:
            return None
        text = str(value).strip()[:MAX_VALUE_LENGTH]
        if not text or text == self.on_create.get(crm):
            return None  # blank, or the placeholder the hub itself gave the CRM where it requires a value
        for hub_value, per_crm in self.values.items():
            if per_crm.get(crm) == text:
                return hub_value
        if self.values:
            # a value the mapping does not list (an owner the hub has no rep for) stays that CRM's
            return f"{crm}:{text}"
        return normalized(self.format, text)

    def from_person(self, value: str) -> str:
        """A value a person gives the field (a conflict's resolution) as the hub holds it, normalized as a CRM's
        value is (`to_hub`): one of `values` (or a CRM's name for one), or a value of the field's format. Anything
        else no CRM would take (ValueError saying what the field accepts)."""
        text = value.strip()
        if not text:
            raise ValueError("is blank; give a value (or choose the hub's or the CRM's)")
        if len(text) > MAX_VALUE_LENGTH:
            raise ValueError(f"is {len(text)} characters long; at most {MAX_VALUE_LENGTH}")
        if self.values:
            if text in self.values:
                return text
            for hub_value, per_crm in self.values.items():
                if text in per_crm.values():
                    return hub_value  # a CRM's name for it (HubSpot's `marketingqualifiedlead`)
            listed = sorted(self.values)
            more = len(listed) - VALUES_SHOWN
            shown = ", ".join(listed[:VALUES_SHOWN]) + (f" (and {more} more)" if more > 0 else "")
            raise ValueError(f"{text[:100]!r} is none of its values; give one of {shown}, or a CRM's name for one")
        fmt = self.format
        if fmt is ValueFormat.EMAIL:
            if normalize_email(text) is None:
                raise ValueError(f"{text[:100]!r} is no email address; give one as name@domain.tld")
        elif fmt is ValueFormat.NUMBER:
            try:
                finite = Decimal(text).is_finite()
            except InvalidOperation:
                finite = False
            if not finite:
                raise ValueError(f"{text[:100]!r} is no number; give a decimal number such as 42.5")
        elif fmt is ValueFormat.DATE and not _is_date(text):
            raise ValueError(f"{text[:100]!r} is no date; give one as YYYY-MM-DD")
        return normalized(fmt, text)


def _is_date(text: str) -> bool:
    from datetime import date

    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == len("YYYY-MM-DD")


def normalized(fmt: ValueFormat, text: str) -> str:
    if fmt is ValueFormat.EMAIL:
        return text.lower()
    if fmt is ValueFormat.NUMBER:
        try:
            number = Decimal(text)
        except InvalidOperation:
            return text
        if not number.is_finite():
            return text
        # HubSpot answers "42.5", Salesforce 42.5 or 42.50: one canonical text, no exponent
        return format(number.normalize(), "f") if number != 0 else "0"
    if fmt is ValueFormat.DATE:
        # HubSpot date properties come as YYYY-MM-DD or as midnight UTC in epoch milliseconds
        if text.isdigit():
            from datetime import UTC, datetime

            return datetime.fromtimestamp(int(text) / 1000, UTC).date().isoformat()
        return text[:10]
    return text


class CrmMappings(_Strict):
    version: Annotated[str, Field(min_length=1, max_length=40)]
    description: Annotated[str, Field(max_length=2000)] = ""
    tie_break: tuple[str, ...] = (HUB, "salesforce", "hubspot")
    # The CRM users the hub writes as (Salesforce's integration user): a change they made is the hub's own, any
    # other user's is a person's (never taken for an echo of the hub's writes, whatever its value)
    integration_users: dict[CrmName, tuple[Annotated[str, Field(min_length=1, max_length=80)], ...]] = Field(
        default_factory=dict
    )
    objects: tuple[ObjectMapping, ...]
    mappings: tuple[FieldMapping, ...]

    @model_validator(mode="before")
    @classmethod
    def _shared_values(cls, data: Any) -> Any:
        """A mapping's `values_of` fills its `values` from the mapping it names (checked after)."""
        if not isinstance(data, Mapping) or not isinstance(data.get("mappings"), list | tuple):
            return data
        listed = {m.get("id"): m for m in data["mappings"] if isinstance(m, Mapping)}
        mappings = []
        for mapping in data["mappings"]:
            named = listed.get(mapping.get("values_of")) if isinstance(mapping, Mapping) else None
            if isinstance(named, Mapping) and "values" not in mapping and named.get("values_of") is None:
                mapping = {**mapping, "values": named.get("values", {})}
            mappings.append(mapping)
        return {**data, "mappings": mappings}

    @model_validator(mode="after")
    def _whole_file(self) -> CrmMappings:
        problems: list[str] = []
        if sorted(self.tie_break) != sorted((HUB, *CRMS)):
            problems.append(f"tie_break: must order exactly {HUB}, hubspot and salesforce")
        for repeated in repeated_ids([o.id for o in self.objects]):
            problems.append(f'object "{repeated}": listed twice')
        for repeated in repeated_ids([m.id for m in self.mappings]):
            problems.append(f'mapping "{repeated}": listed twice')
        objects = {o.id: o for o in self.objects}
        for mapping in self.mappings:
            if mapping.object not in objects:
                problems.append(f'mapping "{mapping.id}": object {mapping.object!r} is not among the objects')
        for crm in CRMS:
            for kind in objects:
                names = [m.crm_field(crm) for m in self.mappings if m.object == kind and m.crm_field(crm)]
                for repeated in repeated_ids([n for n in names if n]):
                    problems.append(f"object {kind!r}: {crm} field {repeated!r} is mapped twice")
        by_id = {m.id: m for m in self.mappings}
        for mapping in self.mappings:
            if mapping.values_of is None:
                continue
            shared = by_id.get(mapping.values_of)
            if shared is None or shared.values_of is not None or not shared.values:
                problems.append(
                    f'mapping "{mapping.id}": values_of {mapping.values_of!r} names no mapping with values of its own'
                )
            elif mapping.values != shared.values:
                problems.append(f'mapping "{mapping.id}": give values or values_of, not both')
        for obj in self.objects:
            if obj.match_on is not None and not any(
                m.object == obj.id and m.hub_field == obj.match_on for m in self.mappings
            ):
                problems.append(f"object {obj.id!r}: match_on {obj.match_on!r} is no mapped hub field")
            if obj.id != "expansion":
                # the hub reads these back: the version it wrote tells its own write from a person's change
                if obj.sync_version is None:
                    problems.append(f"object {obj.id!r}: sync_version is required (hubspot and salesforce fields)")
                if obj.belongs_to is not None:
                    problems.append(f"object {obj.id!r}: belongs_to is for the expansion object only")
            elif obj.belongs_to is not None and (obj.belongs_to == obj.id or obj.belongs_to not in objects):
                problems.append(f"object {obj.id!r}: belongs_to {obj.belongs_to!r} is no other object")
        for mapping in self.mappings:
            if mapping.links_to is None or mapping.object not in objects:
                continue
            if mapping.links_to not in objects or mapping.links_to == mapping.object:
                problems.append(f'mapping "{mapping.id}": links_to {mapping.links_to!r} is no other object')
            elif (mapping.object, mapping.links_to) not in LINKS:
                problems.append(f'mapping "{mapping.id}": the hub links no {mapping.object} to an {mapping.links_to}')
            linking = objects[mapping.object]
            if mapping.salesforce is not None and linking.salesforce not in SALESFORCE_LINK_OBJECTS:
                problems.append(
                    f'mapping "{mapping.id}": a Salesforce {linking.salesforce} has no {mapping.salesforce} '
                    "(a Lead is linked to an Account only once converted): leave salesforce out"
                )
        if "expansion" in objects:
            problems += _expansion_problems(objects["expansion"], self.fields("expansion"))
        if problems:
            raise FileProblems(problems)
        return self

    def object(self, kind: ObjectKind) -> ObjectMapping:
        return next(o for o in self.objects if o.id == kind)

    def has_object(self, kind: ObjectKind) -> bool:
        """Whether the mappings sync `kind` at all (without an `expansion` object, signals create nothing)."""
        return any(o.id == kind for o in self.objects)

    def fields(self, kind: ObjectKind) -> tuple[FieldMapping, ...]:
        return tuple(m for m in self.mappings if m.object == kind)

    def field(self, kind: ObjectKind, hub_field: str) -> FieldMapping | None:
        return next((m for m in self.mappings if m.object == kind and m.hub_field == hub_field), None)

    def by_crm_field(self, kind: ObjectKind, crm: CrmName) -> dict[str, FieldMapping]:
        return {name: m for m in self.fields(kind) if (name := m.crm_field(crm)) is not None}

    def written_only(self, crm: CrmName) -> dict[str, frozenset[str]]:
        """Per object of `crm` (its own name): the fields the hub writes there and never reads back, its
        outbound-only fields and its sync version. A webhook about one of them is the hub's own write coming
        back (or a person overwriting what the hub owns, which its next write puts back), so the CRM need not
        report their changes: a HubSpot app subscribes to `propertyChange` property by property (README).

        Two hub objects may be one CRM object (expansions as opportunities are deals). A field one of them reads
        (a deal's name) stays reported, whoever writes it. And the CRM's records of a hub object never read back
        are that CRM object's records like any other once made (a rep works the expansion's deal: its stage and
        close date are the deal's, which the hub's other readers of deals, attribution, hear of): of its fields,
        only its key (the signal's id) is the hub's alone."""
        shared = {
            o.crm_object(crm).lower() for o in self.objects if self.reads_back(o.id)
        }  # CRM objects the hub reads back
        written: dict[str, set[str]] = {}
        read: dict[str, set[str]] = {}
        for obj in self.objects:
            crm_object = obj.crm_object(crm)
            own_only = not self.reads_back(obj.id) and crm_object.lower() in shared
            for m in self.fields(obj.id):
                name = m.crm_field(crm)
                if name is None:
                    continue
                if m.inbound:
                    read.setdefault(crm_object, set()).add(name)
                elif not own_only or m.hub_field == obj.match_on:
                    written.setdefault(crm_object, set()).add(name)
            if obj.sync_version is not None:
                written.setdefault(crm_object, set()).add(getattr(obj.sync_version, crm))
        objects = {obj.crm_object(crm) for obj in self.objects}
        return {o: frozenset(written.get(o, set()) - read.get(o, set())) for o in objects}

    def reads_back(self, kind: ObjectKind) -> bool:
        """Whether the hub reads any field of `kind` from the CRMs: an object it only writes (an expansion's task)
        is never read back, so a CRM's report of one (a rep completing the task) is no change of the hub's."""
        return any(m.inbound for m in self.fields(kind))

    def kind_of(self, crm: CrmName, crm_object: str) -> ObjectKind | None:
        """The hub object a CRM's object reports are of: one the hub reads back (never an expansion's)."""
        return next(
            (o.id for o in self.objects if o.crm_object(crm).lower() == crm_object.lower() and self.reads_back(o.id)),
            None,
        )

    def rank(self, source: str) -> int:
        """A source's place in the tie break: lower wins a tie of modification times."""
        return self.tie_break.index(source) if source in self.tie_break else len(self.tie_break)


# The links a mapping may make (`links_to`), and each CRM's field for them: HubSpot's contact property naming its
# primary company (read from webhooks; written as an association, contact to company type 1), Salesforce's lookup
LINKS: Mapping[tuple[str, str], Mapping[str, str]] = {
    ("contact", "account"): {"hubspot": "associatedcompanyid", "salesforce": "AccountId"}
}
SALESFORCE_LINK_OBJECTS = frozenset({"Contact"})


def _link_problems(mapping: FieldMapping) -> list[str]:
    """A link's value is a record id, translated through the synced records, not a value map or a format; and it
    is critical: a contact's account routes its leads, so when both sides moved it a person decides."""
    problems = []
    names = LINKS.get((mapping.object, mapping.links_to or ""), {})
    for crm in CRMS:
        given = mapping.crm_field(crm)
        if given is not None and names and given != names[crm]:
            problems.append(f"{crm} must be {names[crm]!r} (the link as {crm} holds it), not {given!r}")
    if mapping.values or mapping.values_of is not None or mapping.on_create:
        problems.append("a link takes no values, values_of or on_create (its value is a record's id)")
    if mapping.format is not ValueFormat.TEXT:
        problems.append("a link takes no format")
    if not mapping.critical:
        problems.append("a link must be critical (a person decides when both sides moved it)")
    if mapping.rule is not SyncRule.LAST_MODIFIED_WINS:
        problems.append("a link is settled by last_modified_wins")
    return problems


def _expansion_problems(obj: ObjectMapping, mappings: tuple[FieldMapping, ...]) -> list[str]:
    """An expansion is created from what the hub computes (`shared.crm.expansions`), as a CRM object that can hold
    it, with what that CRM requires to create one, found again by its signal's id, and linked to its account."""
    problems = []
    for crm in CRMS:
        kinds = EXPANSION_OBJECTS[crm]
        chosen = obj.crm_object(crm)
        if chosen not in kinds:
            problems.append(f"object 'expansion': {crm} must be {' or '.join(kinds)}, not {chosen!r}")
            continue
        mapped = {name for m in mappings if (name := m.crm_field(crm)) is not None}
        missing = sorted(kinds[chosen] - mapped)
        if missing:
            problems.append(f"object 'expansion': {crm} {chosen} needs {', '.join(missing)} mapped to create one")
    if obj.match_on != "signal_id":
        problems.append("object 'expansion': match_on must be 'signal_id' (one signal never makes two records)")
    if not obj.creates:
        problems.append("object 'expansion': creates must be true (the hub creates each expansion's record)")
    if obj.sync_version is not None:
        problems.append("object 'expansion': takes no sync_version (the hub never reads an expansion back)")
    by_field = {m.hub_field: m for m in mappings}
    key = by_field.get("signal_id")
    if key is None or key.hubspot is None or key.salesforce is None:
        problems.append(
            'mapping "expansion.signal_id": must name a hubspot and a salesforce field (it finds the record again)'
        )
    if obj.belongs_to != EXPANSION_PARENT:
        problems.append(f"object 'expansion': belongs_to must be {EXPANSION_PARENT!r} (linked to its account)")
    for mapping in mappings:
        if mapping.hub_field not in EXPANSION_FIELDS:
            known = ", ".join(sorted(EXPANSION_FIELDS))
            problems.append(f'mapping "{mapping.id}": the hub computes no {mapping.hub_field!r} ({known})')
        if mapping.direction is not Direction.HUB_TO_CRM:
            problems.append(f'mapping "{mapping.id}": an expansion goes out only (direction hub_to_crm)')
        picked = EXPANSION_PICKLISTS.get(mapping.hub_field)
        if picked is not None:
            lacking = [crm for crm in CRMS if mapping.crm_field(crm) and not mapping.values.get(picked, {}).get(crm)]
            if lacking:
                problems.append(
                    f'mapping "{mapping.id}": values must give {picked!r} as {" and ".join(lacking)} holds it '
                    "(a picklist)"
                )
        if mapping.hub_field == "owner" and mapping.values_of is None:
            problems.append(f'mapping "{mapping.id}": values_of must name the reps\' owner mapping (contact.owner)')
    return problems


_FILE: ConfigFile[CrmMappings] = ConfigFile(
    "CRM mappings", CrmMappings, InvalidCrmMappings, {"mappings": ("mapping", "id"), "objects": ("object", "id")}
)


def parse_crm_mappings(data: Mapping[str, Any] | str | bytes) -> CrmMappings:
    return _FILE.parse(data)


def load_crm_mappings(path: str | Path | None = None) -> CrmMappings:
    return _FILE.load(Path(path) if path is not None else DEFAULT_MAPPINGS_PATH)
