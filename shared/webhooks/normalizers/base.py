"""What every normalizer builds on: reading the vendor objects it maps through pydantic models, and building
the canonical event.

- Normalizers read the fields they use through `Payload` models: a field of the wrong type is a
  `MalformedPayload` naming it (`data.object.items: expected an object`). Models are lenient the way
  vendors are: unknown fields are ignored, a missing or null field is None (an object, `{}`; a list, `[]`),
  and an empty JSON array where an object goes is an empty object (PHP encodes `{}` as `[]`).
- The field types are built on `shared.webhooks.envelope`'s converters, so the receiver (which reads an
  event's envelope without pydantic) and the normalizers read a field the same way, times in 1970..2200
  included.

Models are built on first use (`defer_build`), so a cold start pays only for the vendors it meets.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, model_validator

from shared.events.canonical import CanonicalEvent, EventType, Subject
from shared.events.ids import event_id
from shared.webhooks import envelope
from shared.webhooks.model import VendorEvent
from shared.webhooks.payload import MalformedPayload
from shared.webhooks.vendor import DeliveryContext


def canonical(
    vendor: str,
    event: VendorEvent,
    context: DeliveryContext,
    event_type: EventType,
    subject: Subject | None = None,
    data: Mapping[str, Any] | None = None,
    dedupe_namespace: str | None = None,
) -> CanonicalEvent:
    """The canonical event `vendor`'s `event` becomes; `data` defaults to the whole vendor payload (what an
    unmapped event carries), `occurred_at` to the time the delivery was received. Its id is drawn from the
    vendor's de-duplication namespace (`Vendor.dedupe_namespace`), its name unless `dedupe_namespace` says."""
    payload = data if data is not None else {"payload": dict(event.payload)}
    return CanonicalEvent(
        event_id=event_id(dedupe_namespace or vendor, event.dedupe_key),
        event_type=event_type,
        occurred_at=event.occurred_at or context.received_at,
        received_at=context.received_at,
        source_vendor=vendor,
        vendor_event_id=event.vendor_event_id,
        vendor_event_type=event.vendor_event_type,
        subject=subject or Subject(),
        data=dict(payload),
        correlation_id=context.correlation_id,
        delivery_id=context.delivery_id,
    )


# Models -----------------------------------------------------------------------------------------------------


class Payload(BaseModel):
    """A vendor object as a normalizer reads it: unknown fields ignored, null or `[]` read as `{}`."""

    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True, populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _empty_is_empty_object(cls, value: Any) -> Any:
        return {} if value is None or (isinstance(value, list) and not value) else value


Model = TypeVar("Model", bound=BaseModel)


def read(model: type[Model], value: object, where: str = "") -> Model:
    """`value` as `model`, or a `MalformedPayload` naming the first field that is wrong (prefixed `where`)."""
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise MalformedPayload(describe(exc, where)) from None


def describe(exc: ValidationError, where: str = "") -> str:
    errors = exc.errors(include_url=False, include_input=False)
    first = errors[0]
    path = where
    for part in first["loc"]:
        path = envelope.at(path, part)
    problem = _PROBLEMS.get(first["type"]) or str(first["msg"]).removeprefix("Value error, ")
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{path}: {problem}{more}" if path else f"{problem}{more}"


_PROBLEMS = {
    "model_type": envelope.EXPECTED_OBJECT,
    "model_attributes_type": envelope.EXPECTED_OBJECT,
    "dict_type": envelope.EXPECTED_OBJECT,
    "string_type": envelope.EXPECTED_STRING,
    "list_type": envelope.EXPECTED_LIST,
    "int_type": "expected an integer",
    "int_parsing": "expected an integer",
    "int_from_float": "expected an integer",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "missing": "is required",
}


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


# Field types: what each normalizer declares its fields as.
Obj = Annotated[dict[str, Any], BeforeValidator(envelope.as_object)]
"""A JSON object; null and `[]` read as `{}`; anything else is malformed."""
List = Annotated[list[Any], BeforeValidator(envelope.as_list)]
"""A JSON array; null reads as `[]`; anything else is malformed."""
Str = str | None
"""A string the normalizer computes with (a name, a URL, a type); anything but a string or null is malformed
(pydantic's own check, in Rust: `expected a string`)."""
Text = Annotated[str | None, BeforeValidator(_text_or_none)]
"""Person data the normalizer passes on (an email): a non-empty string, else None. Vendors' custom-field
mix-ups (an email that is a number) lose the value, never the event."""
Id = Annotated[str | None, BeforeValidator(envelope.as_id)]
"""An id as a string; vendors send ids as strings or integers, null or "" when there is none."""
EpochSeconds = Annotated[datetime | None, BeforeValidator(envelope.as_epoch_seconds)]
EpochMillis = Annotated[datetime | None, BeforeValidator(envelope.as_epoch_millis)]
IsoTime = Annotated[datetime | None, BeforeValidator(envelope.as_iso_time)]
