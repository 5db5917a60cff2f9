"""The heuristic models' weights: each touch's exact share of a conversion (Fractions summing to exactly 1) and
the rule, in words, that gave it. Pure: the same journey always gives the same weights.

    heuristic_weights(journey, Model.W_SHAPED)              # [(Fraction(3, 10), "w_shaped: first touch 30 %"), ...]
    heuristic_weights(journey, Model.TIME_DECAY, timedelta(days=3))

Roles (first, lead creation, opportunity creation, closing) are those of `shared.attribution.roles`.

- first touch: 100 % to the first touch, 0 to the others.
- last touch: 100 % to the closing (last) touch, 0 to the others.
- linear: 1/n to each of the n touches.
- time decay: a touch Δt before the conversion weighs 2^(-Δt/h), h the half-life (7 days unless said
  otherwise, > 0); the weights are normalized to sum to 1. Normalizing makes a common factor irrelevant, so the
  weights are computed relative to the closing touch: 2^(-(t_close - t)/h), the closing touch weighing exactly
  1. Each is computed in decimal at 40 significant digits (a local context: the same digits on every machine)
  and rounded to 40 decimal places; those exact decimals are then normalized as fractions. So the weights are
  deterministic and always defined: a touch more than ~133 half-lives older than the closing touch (2^-133 is
  below 10^-40) rounds to 0, rather than every weight underflowing when the conversion comes long after the
  closing touch. Touches at the same moment weigh the same; an older touch never weighs more.
- position-based: each model gives fixed percentages to roles and shares the rest equally among the *other*
  touches, those holding none of the model's roles:
      U-shaped:  first touch 40 %, lead creation 40 %; 20 % to the other touches.
      W-shaped:  first touch 30 %, lead creation 30 %, opportunity creation 30 %; 10 % to the others.
      full path: first touch, lead creation, opportunity creation and closing touch 22.5 % each; 10 % to the
                 others.
  A touch holding several of the model's roles gets the sum of their percentages (the first touch is also the
  lead-creation touch when the lead was created before the window: 80 % under U-shaped). When no touch is left
  to take the rest (every touch holds a role), the rest goes to the role holders in proportion to their role
  percentages, i.e. each holder's percentage is scaled by 100 / (100 - rest), so the weights still sum to 1.
  A touch holding only roles of other models (the closing touch under U-shaped) is an other touch. The first
  and last touch models are this rule with a single role and a rest of 0.
- one touch: 100 % under every model (it holds every role and there are no other touches).
- no touches: a ValueError; callers handle a conversion without touches before attributing it.

Worked two-touch cases (no opportunity time, so the closing touch holds opportunity creation):
  lead created at the first touch:   U-shaped 80 % / 20 % (the closing touch is U-shaped's one other touch);
                                     W-shaped 60 % / 30 %, scaled by 100/90: 66.67 % / 33.33 %;
                                     full path 45 % / 45 %, scaled by 100/90: 50 % / 50 %.
  lead created at the closing touch: U-shaped 40 % / 40 %, scaled by 100/80: 50 % / 50 %;
                                     W-shaped 30 % / 60 %, scaled by 100/90: 33.33 % / 66.67 %;
                                     full path 22.5 % / 67.5 %, scaled by 100/90: 25 % / 75 %.

The rule texts say which of these gave a weight: "u_shaped: first touch 40 % + lead creation 40 %",
"w_shaped: 10 % shared by 3 other touches", "full_path: closing touch 22.5 %, raised to 25 %: no other touch
takes the 10 %", "linear: 1 of 5 touches", "time_decay: 2^(-3.50 d / 7 d) = 0.7071 of 2.4142 in all" (the
decimals there are for reading; the weight is the exact fraction), "first_touch: not the first touch",
"u_shaped: the only touch, 100 %".
"""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_HALF_EVEN, Context, Decimal
from fractions import Fraction
from functools import lru_cache
from math import lcm
from typing import NamedTuple

from shared.attribution.journeys import HEURISTIC_MODELS, Journey, Model, Role
from shared.attribution.roles import RoleHolders, role_holders

__all__ = ["DEFAULT_HALF_LIFE", "ROLE_SHARES", "ExactWeights", "RoleShares", "exact_weights", "heuristic_weights"]

DEFAULT_HALF_LIFE = timedelta(days=7)


class RoleShares(NamedTuple):
    """A position-based model: the percentage each of its roles takes, and the rest the other touches share."""

    roles: dict[Role, Fraction]
    rest: Fraction


ROLE_SHARES: dict[Model, RoleShares] = {
    Model.FIRST_TOUCH: RoleShares({Role.FIRST: Fraction(1)}, Fraction(0)),
    Model.LAST_TOUCH: RoleShares({Role.LAST: Fraction(1)}, Fraction(0)),
    Model.U_SHAPED: RoleShares({Role.FIRST: Fraction(2, 5), Role.LEAD_CREATION: Fraction(2, 5)}, Fraction(1, 5)),
    Model.W_SHAPED: RoleShares(
        {Role.FIRST: Fraction(3, 10), Role.LEAD_CREATION: Fraction(3, 10), Role.OPPORTUNITY_CREATION: Fraction(3, 10)},
        Fraction(1, 10),
    ),
    Model.FULL_PATH: RoleShares(dict.fromkeys(Role, Fraction(9, 40)), Fraction(1, 10)),
}

_ROLE_NAMES = {
    Role.FIRST: "first touch",
    Role.LEAD_CREATION: "lead creation",
    Role.OPPORTUNITY_CREATION: "opportunity creation",
    Role.LAST: "closing touch",
}

_DIGITS = 40
_DECIMAL = Context(prec=_DIGITS, rounding=ROUND_HALF_EVEN)  # used explicitly: the thread's context plays no part
_LN2 = _DECIMAL.ln(Decimal(2))
_US_PER_DAY = 86_400_000_000


class ExactWeights(NamedTuple):
    """A model's weights for one journey, touch by touch: `fractions` (exactly, summing to 1), the same shares
    as integers over a common denominator (`numerators`: proportional, so allocating by them gives the same
    largest-remainder shares as the fractions, in integer arithmetic), and the rule that gave each."""

    fractions: tuple[Fraction, ...]
    numerators: tuple[int, ...]
    rules: tuple[str, ...]

    def pairs(self) -> list[tuple[Fraction, str]]:
        return list(zip(self.fractions, self.rules, strict=True))


def heuristic_weights(
    journey: Journey, model: Model, half_life: timedelta = DEFAULT_HALF_LIFE
) -> list[tuple[Fraction, str]]:
    """(weight, rule) for each touch of `journey` under the heuristic `model`; the weights sum to exactly 1.
    `half_life` is time decay's (ignored by the others). ValueError for an empty journey, a model that is not
    heuristic, or a half-life that is not positive."""
    return exact_weights(journey, role_holders(journey), model, half_life).pairs()


def exact_weights(
    journey: Journey, holders: RoleHolders, model: Model, half_life: timedelta = DEFAULT_HALF_LIFE
) -> ExactWeights:
    """`heuristic_weights` with the journey's role holders already found (so several models share them)."""
    count = len(journey.touches)
    if model is Model.TIME_DECAY:
        return _time_decay(journey, half_life)
    if model is Model.LINEAR:
        return _linear(count)
    if model in ROLE_SHARES:
        return _positional(model, count, holders.lead_creation, holders.opportunity_creation)
    raise ValueError(f"{model} is not a heuristic model (those are {', '.join(HEURISTIC_MODELS)})")


def _only_touch(model: Model) -> ExactWeights:
    return ExactWeights((Fraction(1),), (1,), (f"{model}: the only touch, 100 %",))


@lru_cache(maxsize=256)
def _linear(count: int) -> ExactWeights:
    if count == 1:
        return _only_touch(Model.LINEAR)
    return ExactWeights((Fraction(1, count),) * count, (1,) * count, (f"{Model.LINEAR}: 1 of {count} touches",) * count)


# The weights of a position-based model depend only on the journey's length and where the lead and
# opportunity were created (the first and closing touches are always 0 and count - 1): cached per shape, so a
# batch of journeys computes each shape once.
@lru_cache(maxsize=4096)
def _positional(model: Model, count: int, lead: int, opportunity: int) -> ExactWeights:
    if count == 1:
        return _only_touch(model)
    shares = ROLE_SHARES[model]
    holders = RoleHolders(0, lead, opportunity, count - 1)
    held = [[role for role in shares.roles if holders.index_of(role) == index] for index in range(count)]
    others = sum(1 for roles in held if not roles)
    scale = 1 / (1 - shares.rest) if others == 0 else Fraction(1)  # the rest back to the holders, pro rata
    fractions: list[Fraction] = []
    rules: list[str] = []
    for roles in held:
        if roles:
            base = sum((shares.roles[role] for role in roles), Fraction(0))
            rule = " + ".join(f"{_ROLE_NAMES[role]} {_percent(shares.roles[role])} %" for role in roles)
            if scale != 1:
                rule += f", raised to {_percent(base * scale)} %: no other touch takes the {_percent(shares.rest)} %"
            fractions.append(base * scale)
            rules.append(f"{model}: {rule}")
        elif shares.rest:
            fractions.append(shares.rest / others)
            rules.append(f"{model}: {_percent(shares.rest)} % shared by {_touches(others)}")
        else:  # first and last touch: a single role and no rest
            fractions.append(Fraction(0))
            rules.append(f"{model}: not the {_ROLE_NAMES[next(iter(shares.roles))]}")
    denominator = lcm(*(fraction.denominator for fraction in fractions))
    numerators = tuple(fraction.numerator * (denominator // fraction.denominator) for fraction in fractions)
    return ExactWeights(tuple(fractions), numerators, tuple(rules))


def _time_decay(journey: Journey, half_life: timedelta) -> ExactWeights:
    half_life_us = _microseconds(half_life)
    if half_life_us <= 0:
        raise ValueError(f"time decay needs a positive half-life, not {half_life}")
    touches = journey.touches
    if len(touches) == 1:
        return _only_touch(Model.TIME_DECAY)
    closing = touches[-1].occurred_at
    if closing > journey.converted_at:
        raise ValueError(
            f"conversion {journey.conversion_id} has a touch after it: a journey's touches come at or before it"
        )
    # 2^(-x/h) = exp(-x ln2 / h), x the time before the closing touch; exp is correctly rounded, so the 40
    # digits are the same on every machine. Scaled by 10^40 and rounded: an exact integer numerator.
    per_us = _DECIMAL.divide(_LN2, Decimal(-half_life_us))
    numerators = tuple(
        int(
            _DECIMAL.exp(_DECIMAL.multiply(Decimal(_microseconds(closing - touch.occurred_at)), per_us))
            .scaleb(_DIGITS)
            .to_integral_value(ROUND_HALF_EVEN)
        )
        for touch in touches
    )
    total = sum(numerators)  # >= 10^40: the closing touch weighs exactly 1
    # The rule shows each touch's own 2^(-Δt/h), Δt the time before the conversion, in floats: for reading.
    half_life_days = half_life_us / _US_PER_DAY
    ages = [_microseconds(journey.converted_at - touch.occurred_at) / _US_PER_DAY for touch in touches]
    raw = [2.0 ** (-age / half_life_days) for age in ages]
    in_all = sum(raw)
    rules = tuple(
        f"{Model.TIME_DECAY}: 2^(-{age:.2f} d / {half_life_days:g} d) = {weight:.4f} of {in_all:.4f} in all"
        for age, weight in zip(ages, raw, strict=True)
    )
    return ExactWeights(tuple(Fraction(numerator, total) for numerator in numerators), numerators, rules)


def _microseconds(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _percent(share: Fraction) -> str:
    """A share as a percentage to read: exact when it has at most two decimals (40, 22.5), else to two."""
    value = share * 100
    if (value * 100).denominator == 1:
        return f"{float(value):.2f}".rstrip("0").rstrip(".")
    return f"{float(value):.2f}"


def _touches(count: int) -> str:
    return "1 other touch" if count == 1 else f"{count} other touches"
