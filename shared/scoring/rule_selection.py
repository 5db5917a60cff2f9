"""Which engagement rule an engagement scores under: the first rule of its kind, in model order, whose
conditions all hold (see `Condition` in `model.py` for how a condition compares).

Each condition compiles to one closure over the `Engagement` (`predicate`), and a kind's rules to one
`Selector`. Where a kind's rules form a ladder of single conditions on one of name/url/path (`path prefix
/careers`, `/pricing`, ..., then a catch-all), `fused_selector` runs the ladder inline after normalizing the
field once; a property test holds it to `generic_selector`, which tries the rules' predicates in order.
Selection does not look inside the rules: it returns whichever of the given rules comes first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar

from shared.scoring.inputs import Engagement
from shared.scoring.text import as_text

if TYPE_CHECKING:
    from shared.scoring.model import Condition

R = TypeVar("R")
# Conditions read the engagement's fields by position (`_TEXT_FIELDS`, `_PROPERTIES`): in CPython 3.11 indexing
# is cheaper than a named tuple's attribute, and predicates run per engagement. Hence the plain tuple.
Predicate = Callable[[tuple[Any, ...]], bool]
Selector = Callable[[Engagement], R | None]

_TEXT_FIELDS = {name: Engagement._fields.index(name) for name in ("name", "url", "path")}
_PROPERTIES = Engagement._fields.index("properties")


class Op(Enum):
    """What one rung of a fused ladder tests on the field's normalized text: a `Condition.op`, or ALWAYS."""

    ALWAYS = "always"  # a rule without conditions: it takes every engagement that reaches it
    EXISTS = "exists"
    EQUALS = "equals"
    PREFIX = "prefix"
    IN = "in"
    CONTAINS = "contains"


# The ladder compares members by identity through module globals: in CPython 3.11 `Op.PREFIX` (an attribute
# of the enum class) costs a slow class lookup on every rung, a global does not.
_ALWAYS, _EQUALS, _PREFIX, _IN, _CONTAINS = Op.ALWAYS, Op.EQUALS, Op.PREFIX, Op.IN, Op.CONTAINS


def _property_getter(path: str) -> Callable[[Mapping[str, Any]], object]:
    keys = tuple(path.split(".")[1:])
    if len(keys) == 1:
        key = keys[0]
        return lambda props: props.get(key)

    def nested(props: Mapping[str, Any]) -> object:
        value: object = props
        for k in keys:
            if not isinstance(value, Mapping):
                return None
            value = value.get(k)
        return value

    return nested


def condition(spec: Condition) -> Predicate:
    """One condition as one closure over the engagement."""
    op = spec.op
    options = frozenset(t for t in (as_text(v) for v in spec.values or ()) if t is not None)
    operand = as_text(spec.value) or ""
    if spec.field in _TEXT_FIELDS:  # name, url, path: text or None
        i = _TEXT_FIELDS[spec.field]
        if op == "exists":
            return lambda ev: (v := ev[i]) is not None and bool(v.strip())
        if op == "in":
            return lambda ev: (v := ev[i]) is not None and v.strip().casefold() in options
        if op == "equals":
            return lambda ev: (v := ev[i]) is not None and v.strip().casefold() == operand
        if op == "prefix":
            return lambda ev: (v := ev[i]) is not None and v.strip().casefold().startswith(operand)
        return lambda ev: (v := ev[i]) is not None and operand in v.strip().casefold()
    get, p = _property_getter(spec.field), _PROPERTIES
    if op == "exists":
        return lambda ev: (v := get(ev[p])) is not None and (not isinstance(v, str) or bool(v.strip()))
    if op == "in":
        return lambda ev: as_text(get(ev[p])) in options
    if op == "equals":
        return lambda ev: as_text(get(ev[p])) == operand
    if op == "prefix":
        return lambda ev: (t := as_text(get(ev[p]))) is not None and t.startswith(operand)
    return lambda ev: (t := as_text(get(ev[p]))) is not None and operand in t


def predicate(conditions: Sequence[Condition]) -> Predicate | None:
    """All of `conditions` as one closure; None when there are none (the rule takes every engagement)."""
    tests = tuple(condition(c) for c in conditions)
    if not tests:
        return None
    if len(tests) == 1:
        return tests[0]
    return lambda ev: all(test(ev) for test in tests)


def generic_selector(rules: Sequence[R], conditions: Sequence[Sequence[Condition]]) -> Selector[R]:
    """The first of `rules` whose `conditions` (one list per rule) all hold, tried rule by rule."""
    ladder = tuple((predicate(conds), rule) for rule, conds in zip(rules, conditions, strict=True))

    def select(ev: Engagement) -> R | None:
        for test, rule in ladder:
            if test is None or test(ev):
                return rule
        return None

    return select


def fused_selector(rules: Sequence[R], conditions: Sequence[Sequence[Condition]]) -> Selector[R] | None:
    """What `generic_selector` selects, as one closure that normalizes the field once and runs the ladder
    inline, when every conditioned rule tests the same one of name/url/path with a single condition; None
    when the rules do not have that shape."""
    fields = {c[0].field for c in conditions if c}
    if len(fields) != 1 or any(len(c) > 1 for c in conditions) or (name := fields.pop()) not in _TEXT_FIELDS:
        return None
    i = _TEXT_FIELDS[name]
    rungs: list[tuple[Op, Any, R]] = []
    for rule, conds in zip(rules, conditions, strict=True):
        if not conds:
            rungs.append((_ALWAYS, None, rule))
            continue
        spec = conds[0]
        if spec.op == "in":
            operand: Any = frozenset(t for t in (as_text(v) for v in spec.values or ()) if t is not None)
        else:
            operand = as_text(spec.value) or ""
        rungs.append((Op(spec.op), operand, rule))
    ladder = tuple(rungs)

    def select(ev: tuple[Any, ...]) -> R | None:
        v = ev[i]
        text = v.strip().casefold() if v is not None else None
        for op, operand, rule in ladder:
            if op is _ALWAYS:
                return rule
            if text is None:
                continue
            if op is _PREFIX:
                if text.startswith(operand):
                    return rule
            elif op is _EQUALS:
                if text == operand:
                    return rule
            elif op is _IN:
                if text in operand:
                    return rule
            elif op is _CONTAINS:
                if operand in text:
                    return rule
            elif text:  # Op.EXISTS, the one left
                return rule
        return None

    return select


def selector(rules: Sequence[R], conditions: Sequence[Sequence[Condition]]) -> Selector[R]:
    """The selector of a kind's rules: fused when the rules allow it, else generic."""
    return fused_selector(rules, conditions) or generic_selector(rules, conditions)
