"""SOQL, the subset the hub uses (see the package's docstring): the query's tokens, its parse against the
org's fields, the records it selects in its order, and the size of a query's pages."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from local_runtime.crm_salesforce.field_values import parse_time
from local_runtime.crm_salesforce.refusals import refusal, shown_name
from local_runtime.crm_salesforce.schema import FIELD_TYPES

QUERY_BATCH = 2000  # records per query page (Sforce-Query-Options batchSize: 200 to 2000)
MAX_QUERY_LENGTH = 100_000
MAX_LIMIT = 50_000

_SOQL_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>'(?:[^'\\]|\\.)*')
    | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:?\d{2}))
    | (?P<date>\d{4}-\d{2}-\d{2})
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    | (?P<op>!=|<>|<=|>=|=|<|>)
    | (?P<punct>[(),])
    )""",
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "'": "'", '"': '"', "\\": "\\"}


@dataclass(frozen=True)
class _Condition:
    name: str
    op: str  # = != < <= > >= IN, NOT IN
    values: tuple[Any, ...]

    def holds(self, record: Mapping[str, Any]) -> bool:
        value = record.get(self.name)
        if self.op in ("IN", "NOT IN"):
            inside = any(_equal(value, v) for v in self.values)
            return inside if self.op == "IN" else not inside
        [literal] = self.values
        if self.op == "=":
            return _equal(value, literal)
        if self.op == "!=":
            return not _equal(value, literal)
        if value is None or literal is None:
            return False
        left, right = _comparable(value), _comparable(literal)
        return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[self.op]


@dataclass(frozen=True)
class Query:
    sobject: str
    fields: tuple[str, ...]
    conditions: tuple[_Condition, ...]
    order: tuple[str, bool] | None  # the field, descending
    limit: int | None

    def selected(self, records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """The records the query selects, in its order, up to its limit."""
        found = [r for r in records if all(c.holds(r) for c in self.conditions)]
        if self.order is not None:
            name, descending = self.order
            found.sort(key=lambda r: _sort_key(r.get(name)), reverse=descending)
        if self.limit is not None:
            found = found[: self.limit]
        return found


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _SOQL_TOKEN.match(text, position)
        if match is None or match.lastgroup is None:
            raise refusal("MALFORMED_QUERY", f"unexpected token: '{text[position:].strip()[:20]}'")
        tokens.append((match.lastgroup, match.group(match.lastgroup)))
        position = match.end()
    return tokens


class _SoqlParser:
    def __init__(self, text: str, fields: Mapping[str, tuple[str, ...]], by_lower: Mapping[str, dict[str, str]]):
        self._tokens = _tokens(text)
        self._position = 0
        self._fields = fields
        self._by_lower = by_lower

    def parse(self) -> Query:
        self._keyword("SELECT")
        selected = [self._name()]
        while self._take_punct(","):
            selected.append(self._name())
        self._keyword("FROM")
        sobject = self._name()
        if sobject not in self._fields:
            raise refusal("INVALID_TYPE", f"sObject type '{shown_name(sobject)}' is not supported.")
        names = tuple(dict.fromkeys(self._field(sobject, n) for n in selected))
        conditions: list[_Condition] = []
        if self._take_keyword("WHERE"):
            conditions.append(self._condition(sobject))
            while self._take_keyword("AND"):
                conditions.append(self._condition(sobject))
        order = None
        if self._take_keyword("ORDER"):
            self._keyword("BY")
            name = self._field(sobject, self._name())
            descending = False
            if self._take_keyword("DESC"):
                descending = True
            else:
                self._take_keyword("ASC")
            order = (name, descending)
        limit = None
        if self._take_keyword("LIMIT"):
            kind, value = self._next()
            if kind != "number" or not value.isdigit() or int(value) > MAX_LIMIT:
                raise refusal("MALFORMED_QUERY", f"LIMIT must be an integer from 0 to {MAX_LIMIT}")
            limit = int(value)
        if self._position < len(self._tokens):
            raise refusal("MALFORMED_QUERY", f"unexpected token: '{self._tokens[self._position][1][:40]}'")
        return Query(sobject, names, tuple(conditions), order, limit)

    def _condition(self, sobject: str) -> _Condition:
        name = self._field(sobject, self._name())
        kind = FIELD_TYPES.get(name, "string")
        if self._take_keyword("NOT"):
            self._keyword("IN")
            return _Condition(name, "NOT IN", self._list(name, kind))
        if self._take_keyword("IN"):
            return _Condition(name, "IN", self._list(name, kind))
        lexeme, op = self._next()
        if lexeme != "op":
            raise refusal("MALFORMED_QUERY", f"unexpected token: '{op[:40]}'")
        return _Condition(name, "!=" if op == "<>" else op, (self._literal(name, kind),))

    def _list(self, name: str, kind: str) -> tuple[Any, ...]:
        if not self._take_punct("("):
            raise refusal("MALFORMED_QUERY", "IN needs a parenthesized list")
        values = [self._literal(name, kind)]
        while self._take_punct(","):
            values.append(self._literal(name, kind))
        if not self._take_punct(")"):
            raise refusal("MALFORMED_QUERY", "unclosed IN list")
        return tuple(values)

    def _literal(self, name: str, kind: str) -> Any:
        lexeme, text = self._next()
        if lexeme == "name" and text.upper() == "NULL":
            return None
        expected = {
            "datetime": ("datetime", "dateTime"),
            "date": ("date", "date"),
            "boolean": ("name", "boolean"),
            "int": ("number", "number"),
            "double": ("number", "number"),
        }.get(kind, ("string", "string"))
        if lexeme != expected[0] or (kind == "boolean" and text.upper() not in ("TRUE", "FALSE")):
            quoted = "" if expected[0] == "string" else " and should not be enclosed in quotes"
            raise refusal(
                "INVALID_FIELD", f"value of filter criterion for field '{name}' must be of type {expected[1]}{quoted}"
            )
        if kind == "datetime":
            return parse_time(text)
        if kind == "boolean":
            return text.upper() == "TRUE"
        if kind in ("int", "double"):
            return float(text)
        if kind == "date":
            return text
        return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), text[1:-1])

    def _field(self, sobject: str, raw: str) -> str:
        name = self._by_lower[sobject].get(raw.lower())
        if name is None:
            raise refusal(
                "INVALID_FIELD",
                f"No such column '{shown_name(raw)}' on entity '{sobject}'. If you are attempting to use a custom "
                "field, be sure to append the '__c' after the custom field name.",
            )
        return name

    def _next(self) -> tuple[str, str]:
        if self._position >= len(self._tokens):
            raise refusal("MALFORMED_QUERY", "unexpected end of query")
        token = self._tokens[self._position]
        self._position += 1
        return token

    def _name(self) -> str:
        kind, text = self._next()
        if kind != "name":
            raise refusal("MALFORMED_QUERY", f"unexpected token: '{text[:40]}'")
        return text

    def _keyword(self, word: str) -> None:
        if not self._take_keyword(word):
            found = self._tokens[self._position][1] if self._position < len(self._tokens) else "end of query"
            raise refusal("MALFORMED_QUERY", f"expected {word}, found '{found[:40]}'")

    def _take_keyword(self, word: str) -> bool:
        if self._position < len(self._tokens):
            kind, text = self._tokens[self._position]
            if kind == "name" and text.upper() == word:
                self._position += 1
                return True
        return False

    def _take_punct(self, punct: str) -> bool:
        if self._position < len(self._tokens) and self._tokens[self._position] == ("punct", punct):
            self._position += 1
            return True
        return False


def parse_soql(text: str, fields: Mapping[str, tuple[str, ...]], by_lower: Mapping[str, dict[str, str]]) -> Query:
    return _SoqlParser(text, fields, by_lower).parse()


def _equal(value: Any, literal: Any) -> bool:
    if value is None or literal is None:
        return value is None and literal is None
    if isinstance(value, str) and isinstance(literal, str):
        return value.casefold() == literal.casefold()
    if isinstance(value, bool) or isinstance(literal, bool):
        return value is literal
    return bool(_comparable(value) == _comparable(literal))


def _comparable(value: Any) -> Any:
    if isinstance(value, str):
        return value.casefold()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return value


def _sort_key(value: Any) -> tuple[bool, Any]:
    # Salesforce sorts nulls first when ascending (and so last when descending)
    return (value is not None, _comparable(value) if value is not None else 0)


def batch_size(options: str | None) -> int:
    match = re.search(r"batchSize\s*=\s*(\d+)", options or "")
    return min(max(int(match.group(1)), 200), QUERY_BATCH) if match else QUERY_BATCH
