"""Reading a domain's versioned configuration file (`config/<domain>.json`) into its pydantic model, with every
problem named by the item it is about ("rep \"sdr-1\": capacity: ..."), as the domain conventions ask.

JSON text is read with exact decimals. A model's whole-file checks raise `FileProblems` so each problem
survives pydantic as its own line."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, BeforeValidator, Field, ValidationError

from shared.errors import InvalidInput

Model = TypeVar("Model", bound=BaseModel)


class FileProblems(ValueError):
    """Raised by a model's file-wide check: pydantic keeps the exception, so each problem survives as its own."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


class InvalidConfigFile(InvalidInput):
    """A domain's file is not valid; `problems` lists each problem, naming the item it is about. Each domain
    subclasses it with its `noun` ("routing file")."""

    noun = "configuration file"

    def __init__(self, problems: list[str]) -> None:
        self.problems = tuple(problems)
        super().__init__(f"invalid {self.noun}: " + "; ".join(problems))


def stripped(value: object) -> object:
    """For a `BeforeValidator`: text without surrounding blanks (anything else as it is, for pydantic to refuse)."""
    return value.strip() if isinstance(value, str) else value


def repeated_ids(ids: list[str]) -> list[str]:
    """The ids listed more than once, each once, in the order they first repeat."""
    seen: set[str] = set()
    repeated: list[str] = []
    for one in ids:
        if one in seen and one not in repeated:
            repeated.append(one)
        seen.add(one)
    return repeated


def no_float(value: object) -> object:
    """For a `BeforeValidator` of a Decimal: JSON text is read with exact decimals, but a mapping built in Python
    could carry a float, which does not hold a decimal exactly."""
    if isinstance(value, float):
        raise ValueError('write a decimal as a string ("7.5") or an integer: a float does not hold it exactly')
    return value


def lowered(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


def uppered(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


SnakeCaseId = Annotated[
    str,
    BeforeValidator(stripped),
    Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$", description="lower-case snake case"),
]


@dataclass(frozen=True)
class ConfigFile(Generic[Model]):
    noun: str  # "routing file"
    model: type[Model]
    invalid: Callable[[list[str]], Exception]  # the domain's InvalidInput, given every problem
    lists: Mapping[str, tuple[str, str]]  # top-level list -> (what an item is called, its id field)

    def parse(self, data: Mapping[str, Any] | str | bytes) -> Model:
        raw: object
        if isinstance(data, str | bytes):
            try:
                raw = json.loads(data, parse_float=Decimal)
            except ValueError as exc:
                raise self.invalid([f"{self.noun}: not valid JSON: {exc}"]) from None
        else:
            raw = dict(data)
        if not isinstance(raw, dict):
            raise self.invalid([f"{self.noun}: must be a JSON object"])
        try:
            return self.model.model_validate(raw)
        except ValidationError as exc:
            raise self.invalid([p for error in exc.errors() for p in self._problem(error, raw)]) from None

    def load(self, path: Path) -> Model:
        try:
            text = path.read_bytes()
        except OSError as exc:
            raise self.invalid([f"{self.noun} {path}: cannot be read: {exc.strerror}"]) from None
        return self.parse(text)

    def _problem(self, error: Mapping[str, Any], raw: dict[str, Any]) -> list[str]:
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, FileProblems):
            return list(cause.problems)
        message = str(cause) if error.get("type") == "value_error" else str(error.get("msg"))
        loc = tuple(error.get("loc", ()))
        if not loc:
            return [f"{self.noun}: {message}"]
        subject, rest = str(loc[0]), loc[1:]
        named = self.lists.get(str(loc[0]))
        if named is not None and len(loc) >= 2 and isinstance(loc[1], int):
            label, key = named
            items = raw.get(str(loc[0]))
            item = items[loc[1]] if isinstance(items, list) and loc[1] < len(items) else None
            item_id = item.get(key) if isinstance(item, dict) else None
            subject = f'{label} "{item_id}"' if isinstance(item_id, str) and item_id else f"{label} #{loc[1] + 1}"
            rest = loc[2:]
        path = ".".join(str(part) for part in rest)
        return [f"{subject}: {path}: {message}" if path else f"{subject}: {message}"]
