"""The detail of a bus event the handoff router takes, read with its event model: a detail that does not fit is
an InvalidInput, dead-lettered at once with the reason, as no retry can fix it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from shared.errors import InvalidInput

Detail = TypeVar("Detail", bound=BaseModel)


def detail_of(model: type[Detail], event: Mapping[str, Any], what: str) -> Detail:
    try:
        return model.model_validate(event.get("detail"))
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidInput(f"not {what}: {first['loc']}: {first['msg']}") from None
