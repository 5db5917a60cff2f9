"""Fit rules as closures over a profile's fields, extracted once per contact.

Every profile field a fit rule reads is extracted once per contact, in the form rules compare it in (number,
text, words or domain), into a list of values; each (field, form) pair has a slot in that list, handed out
by the compiler's `Slot`. A fit group (or a lone ungrouped rule) is one `FitUnit`: the first of its rules
that matches scores. Groups whose rules are all of one kind on one field (industry values, size bands,
title keywords) are fused into a single lookup or scan (`fit_unit`); a property test holds them to
`generic_fit_unit`, which tries the rules one by one.

Band rules compare exactly: a profile's number is read as a Decimal (`Number`) and a band's bounds are Decimals,
so `9999999.99999999999` is below `min: 10000000` and `9007199254740992` below `min: 9007199254740993`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from math import isfinite
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Literal

from shared.scoring.inputs import Profile
from shared.scoring.text import as_text, collapse, domain_of, words

if TYPE_CHECKING:
    from shared.scoring.model import BandRule, FitRule

Form = Literal["number", "text", "words", "domain"]
Slot = Callable[[str, Form], int]  # (profile field, form) -> its index in the extracted values
Extractor = Callable[[Profile], Any]
Values = list[Any]  # a profile's fields as extracted, indexed by slot
Matcher = Callable[[Values], Any]  # what the rule matched on (text or number), or None
# A unit's hit: (index of the matching rule among the model's fit rules, what it matched on). A plain pair,
# unpacked by name where read: built for most contacts, where a named tuple's constructor would show.
FitHit = tuple[int, Any]
FitUnit = Callable[[Values], FitHit | None]
IndexedRule = tuple[int, "FitRule"]  # (index among the model's fit rules, the rule)


class Number(Decimal):
    """A profile's number as band rules compare it: exactly, a Decimal. It prints as a fit line shows what a band
    matched on, with thousands separators and no trailing zeros (`20,000,000`, `1,234.5`)."""

    __slots__ = ()

    def __str__(self) -> str:
        if not -20 <= self.adjusted() < 28:  # very large or very small: in exponent form
            return Decimal.__str__(self)
        if self == self.to_integral_value():
            return f"{self:,.0f}"
        return f"{self:,f}".rstrip("0")


def _number(value: object) -> Number | None:
    """A profile value as a finite `Number`, or None: an int exactly, a float as the decimal it prints as (the
    shortest text that reads back as it, `0.1` for 0.1), text with or without thousands separators (`1,200`),
    a Decimal as itself. Booleans, NaN, infinities and anything else are no number and match no band."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return Number(value)
    if isinstance(value, float):
        return Number(repr(value)) if isfinite(value) else None
    source: str | Decimal
    if isinstance(value, str):
        source = value.replace(",", "")
    elif isinstance(value, Decimal):
        source = value
    else:
        return None
    try:
        number = Number(source)  # exact: constructing a Decimal never rounds
    except ArithmeticError:  # decimal.InvalidOperation: not a number
        return None
    return number if number.is_finite() else None


def _raw_getter(name: str) -> Extractor:
    if name.startswith("attributes."):
        key = name[len("attributes.") :]
        return lambda p: p.attributes.get(key)
    if name == "email_domain":
        return lambda p: e if (e := p.email) and "@" in e else None
    return attrgetter(name)


def extractor(name: str, form: Form) -> Extractor:
    """Reads one profile field in the form rules compare it in: number, text, words or domain."""
    get = _raw_getter(name)
    if form == "number":
        return lambda p: _number(get(p))

    def text(p: Profile) -> Any:
        raw = get(p)
        value = raw if isinstance(raw, str) else as_text(raw)
        if not value or not value.strip():
            return None
        if form == "words":
            return f" {words(value)} "
        if form == "domain":
            return domain_of(value) or None
        return collapse(value)

    return text


_BELOW_ALL = Decimal("-Infinity")
_ABOVE_ALL = Decimal("Infinity")


def _bounds(rule: BandRule) -> tuple[Decimal, Decimal]:
    """A band as (low, high) for `low <= value < high`, exact Decimals, an open end as an infinity."""
    return (_BELOW_ALL if rule.min is None else rule.min, _ABOVE_ALL if rule.max is None else rule.max)


def fit_matcher(rule: FitRule, slot: Slot) -> Matcher:
    """One fit rule as a closure over the profile's extracted values: what it matched on, or None."""
    if rule.kind == "in":
        i = slot(rule.field, "text")
        options = frozenset(collapse(v) for v in rule.values)
        return lambda vals: v if (v := vals[i]) in options else None
    if rule.kind == "band":
        i = slot(rule.field, "number")
        low, high = _bounds(rule)
        return lambda vals: v if (v := vals[i]) is not None and low <= v < high else None
    if rule.kind == "keywords":
        i = slot(rule.field, "words")
        needles = tuple((f" {words(kw)} ", kw) for kw in rule.keywords)

        def keywords(vals: Values) -> str | None:
            padded = vals[i]
            if padded is not None:
                for needle, keyword in needles:
                    if needle in padded:
                        return str(keyword)
            return None

        return keywords
    slots = tuple(slot(f, "domain") for f in rule.fields)
    listed = frozenset(rule.domains)

    def domain(vals: Values) -> str | None:
        for i in slots:
            d = vals[i]
            while d:
                if d in listed:
                    return str(d)
                d = d.partition(".")[2]
        return None

    return domain


def fit_unit(unit: Sequence[IndexedRule], slot: Slot) -> FitUnit:
    """A fit group (or a lone rule) as one closure: the hit of its first matching rule, or None; fused into
    one lookup or scan when its rules are all of one kind on one field."""
    kinds = {rule.kind for _, rule in unit}
    fields = {str(getattr(rule, "field", "")) for _, rule in unit}
    if len(unit) > 1 and len(kinds) == 1 and len(fields) == 1 and "" not in fields:
        kind, name = kinds.pop(), fields.pop()
        if kind == "in":
            i = slot(name, "text")
            table: dict[str, int] = {}
            for index, rule in unit:
                assert rule.kind == "in"
                for value in rule.values:
                    table.setdefault(collapse(value), index)

            def in_unit(vals: Values) -> FitHit | None:
                v = vals[i]
                index = table.get(v) if v is not None else None
                return None if index is None else (index, v)

            return in_unit
        if kind == "band":
            i = slot(name, "number")
            bands = tuple((*_bounds(rule), index) for index, rule in unit if rule.kind == "band")

            def band_unit(vals: Values) -> FitHit | None:
                v = vals[i]
                if v is not None:
                    for low, high, index in bands:
                        if low <= v < high:
                            return index, v
                return None

            return band_unit
        if kind == "keywords":
            i = slot(name, "words")
            needles = tuple(
                (f" {words(kw)} ", kw, index) for index, rule in unit if rule.kind == "keywords" for kw in rule.keywords
            )

            def keywords_unit(vals: Values) -> FitHit | None:
                padded = vals[i]
                if padded is not None:
                    for needle, keyword, index in needles:
                        if needle in padded:
                            return index, keyword
                return None

            return keywords_unit
    return generic_fit_unit(unit, slot)


def generic_fit_unit(unit: Sequence[IndexedRule], slot: Slot) -> FitUnit:
    """A fit group tried rule by rule, in order: what the fused forms of `fit_unit` must agree with."""
    matchers = tuple((index, fit_matcher(rule, slot)) for index, rule in unit)

    def any_unit(vals: Values) -> FitHit | None:
        for index, matcher in matchers:
            matched = matcher(vals)
            if matched is not None:
                return index, matched
        return None

    return any_unit
