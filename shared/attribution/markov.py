"""The data-driven attribution model: a first-order Markov chain over all journeys, converted or not, and each
channel's removal effect (Anderl, Becker, von Wangenheim & Schumann 2016). Pure: no clock, no I/O; the same
journeys always give the same fit, whatever their order, and every figure is an exact fraction.

    fit = fit_markov(path_counts(journeys))            # every journey of the window, converted or not
    store(fit.to_record())                             # JSON-safe; MarkovFit.from_record gives it back exactly
    data_driven_credits(journey, fit)                  # one conversion's credits, per touch

The chain. Each journey is a path (start) > c1 > c2 > ... > ck > (conversion) or (null): (start) and the
channels are transient states, (conversion) and (null) absorbing. Transition probabilities are the counts of
each transition over all journeys divided by the counts out of its state (a `PathCount` of n journeys counts
each of its transitions n times). P(conversion) is the probability of reaching (conversion) from (start): with
h(c) that probability from channel c, h(c) = p(c, conversion) + sum over channels d of p(c, d) h(d), a linear
system over the channels, solved exactly (fraction-free Gaussian elimination over the integer counts, then
exact fractions), not by simulation. On the journeys it was estimated from, P(conversion) is the observed
conversion rate (conversions / journeys).

Removal effect. Removing channel c sends every transition into c, (start) > c included, to (null) instead; the
counts out of the other states are unchanged. The removal effect of c is 1 - P(conversion | c removed) /
P(conversion): the share of conversions that would be lost without c. It lies in [0, 1] (removing a state can
only lose paths to conversion). Channel shares are the removal effects normalized to sum 1; they are how
ChannelAttribution's `markov_model` divides the total conversions among channels.

Repeats, empty paths, unknown channels:
- Consecutive repeats of a channel (paid_search > paid_search) are self-loops. They are not counted (nor shown
  in `transitions`): a self-loop does not change where the chain is absorbed from that state (h(c) =
  sum over d != c of n(c, d) h(d) / sum over d != c of n(c, d), whatever n(c, c) is), so the conversion
  probability and removal effects are exactly those with the repeats counted. ChannelAttribution collapses
  repeats too (its transition matrix has no self-loops); non-consecutive returns (a > b > a) are transitions
  and count.
- A path with no channels (a conversion with no touch in the window, a visit without a tracked source) says
  nothing about any channel: it is ignored, and `journeys` / `conversions` count only the journeys the chain
  was estimated from.
- No conversion at all: P(conversion) is 0 and every removal effect is 0.
- Crediting a journey, a touch whose channel the fit does not know (a channel new since the fit) gets 0, as
  does one whose channel has a removal effect of 0; the journey's other channels share the credit. When no
  touch of a journey has a removal effect (or there is no fit yet) the journey is credited linearly, and the
  rule says why.

Crediting one journey: each channel present gets a share of the conversion proportional to its removal
effect, split equally among its touches in the journey; so across a journey, channel-level credit is
proportional to removal effect, as ChannelAttribution allocates. Weights are exact fractions summing to 1; the
amount is shared by largest remainder (`shared.allocation.allocate`), so credits sum to it exactly.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import pairwise
from typing import Any

from shared.allocation import allocate
from shared.attribution.journeys import Credit, Journey

__all__ = [
    "CONVERSION",
    "NULL",
    "START",
    "MarkovFit",
    "PathCount",
    "data_driven_credits",
    "data_driven_weights",
    "fit_markov",
    "path_counts",
]

START = "(start)"
CONVERSION = "(conversion)"
NULL = "(null)"
_RESERVED = frozenset({START, CONVERSION, NULL})

Transition = tuple[str, str]


@dataclass(frozen=True)
class PathCount:
    """A journey's channel path (its touches' channels in order) and how many journeys with that path
    converted (`conversions`) and did not (`nulls`)."""

    channels: tuple[str, ...]
    conversions: int
    nulls: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", tuple(self.channels))
        for name in ("conversions", "nulls"):
            value = getattr(self, name)
            if type(value) is not int or value < 0:
                raise ValueError(f"PathCount.{name} must be a non-negative int, not {value!r}")
        reserved = _RESERVED.intersection(self.channels)
        if reserved:
            raise ValueError(f"{sorted(reserved)} are the chain's own states, not channels")


@dataclass(frozen=True)
class MarkovFit:
    """A fitted chain: `journeys` / `conversions` it was estimated from (paths with channels only),
    P(conversion) from (start), each channel's removal effect, and the transition counts behind them
    ((from, to) -> journeys; states are the channels and START, CONVERSION, NULL; no self-loops)."""

    journeys: int
    conversions: int
    conversion_probability: Fraction
    removal_effects: dict[str, Fraction]
    transitions: dict[Transition, int]

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(self.removal_effects)

    def channel_shares(self) -> dict[str, Fraction]:
        """Removal effects normalized to sum 1 (all 0 when every removal effect is)."""
        total = sum(self.removal_effects.values(), Fraction(0))
        if total == 0:
            return dict.fromkeys(self.removal_effects, Fraction(0))
        return {channel: effect / total for channel, effect in self.removal_effects.items()}

    def channel_conversions(self) -> dict[str, Fraction]:
        """The conversions divided among channels by share (ChannelAttribution's `total_conversions`)."""
        return {channel: share * self.conversions for channel, share in self.channel_shares().items()}

    def transition_probability(self, source: str, target: str) -> Fraction:
        """The chain's p(source, target): for explaining a fit (0 for a state never left)."""
        out = sum(count for (state, _), count in self.transitions.items() if state == source)
        return Fraction(self.transitions.get((source, target), 0), out) if out else Fraction(0)

    def to_record(self) -> dict[str, Any]:
        """JSON-safe: fractions as "numerator/denominator" strings, transitions as [from, to, count] rows."""
        return {
            "journeys": self.journeys,
            "conversions": self.conversions,
            "conversion_probability": _fraction_text(self.conversion_probability),
            "removal_effects": {channel: _fraction_text(effect) for channel, effect in self.removal_effects.items()},
            "transitions": [[source, target, count] for (source, target), count in self.transitions.items()],
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> MarkovFit:
        """The fit `to_record` stored, exactly; ValueError on anything else."""
        try:
            journeys, conversions = record["journeys"], record["conversions"]
            effects = record["removal_effects"]
            rows = record["transitions"]
            if not all(type(n) is int and n >= 0 for n in (journeys, conversions)):
                raise ValueError("journeys and conversions must be non-negative ints")
            transitions: dict[Transition, int] = {}
            for source, target, count in rows:
                if not (isinstance(source, str) and isinstance(target, str) and type(count) is int and count > 0):
                    raise ValueError(f"bad transition {[source, target, count]!r}")
                transitions[(source, target)] = count
            return cls(
                journeys=journeys,
                conversions=conversions,
                conversion_probability=_parse_fraction(record["conversion_probability"]),
                removal_effects={str(channel): _parse_fraction(text) for channel, text in effects.items()},
                transitions=transitions,
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a Markov fit record: {exc!r}") from exc


def _fraction_text(value: Fraction) -> str:
    return f"{value.numerator}/{value.denominator}"


def _parse_fraction(text: object) -> Fraction:
    if not isinstance(text, str):
        raise ValueError(f"a fraction is stored as 'numerator/denominator', not {text!r}")
    value = Fraction(text)  # ValueError on a malformed string
    if not 0 <= value <= 1:
        raise ValueError(f"{text!r} is not a probability")
    return value


# ------------------------------------------------------------------------------------------------ fitting


def path_counts(journeys: Iterable[tuple[Sequence[str], bool]]) -> list[PathCount]:
    """One `PathCount` per distinct path of `journeys` ((channels, converted) each), in first-seen order."""
    counts: dict[tuple[str, ...], list[int]] = {}
    for channels, converted in journeys:
        tally = counts.setdefault(tuple(channels), [0, 0])
        tally[0 if converted else 1] += 1
    return [PathCount(channels, conversions, nulls) for channels, (conversions, nulls) in counts.items()]


def fit_markov(paths: Iterable[PathCount]) -> MarkovFit:
    """The first-order chain over `paths` and each channel's removal effect, exactly (see the module doc)."""
    pairs: Counter[Transition] = Counter()  # channel -> channel, self-loops included until the end
    firsts: Counter[str] = Counter()
    converted: Counter[str] = Counter()  # last channel -> (conversion)
    lost: Counter[str] = Counter()  # last channel -> (null)
    for path in paths:
        channels, weight = path.channels, path.conversions + path.nulls
        if not channels or weight == 0:
            continue
        firsts[channels[0]] += weight
        converted[channels[-1]] += path.conversions
        lost[channels[-1]] += path.nulls
        if len(channels) > 1:
            steps = pairwise(channels)
            if weight == 1:
                pairs.update(steps)  # counted in C: the common case of one journey per path
            else:
                for step in steps:
                    pairs[step] += weight

    names = sorted({c for pair in pairs for c in pair} | set(firsts))
    moves = {pair: count for pair, count in pairs.items() if pair[0] != pair[1]}
    transitions = {(START, channel): firsts[channel] for channel in names if firsts[channel]}
    transitions.update(sorted(moves.items()))
    for channel in names:
        for target, counts in ((CONVERSION, converted), (NULL, lost)):
            if counts[channel]:
                transitions[(channel, target)] = counts[channel]

    journeys, conversions = sum(firsts.values()), sum(converted.values())
    chain = _Chain(names, firsts, moves, converted, lost)
    probability = chain.conversion_probability(None)
    effects: dict[str, Fraction] = {}
    for channel in names:
        effects[channel] = 1 - chain.conversion_probability(channel) / probability if probability else Fraction(0)
    return MarkovFit(journeys, conversions, probability, effects, transitions)


class _Chain:
    """The absorbing chain as integer counts: row c of the system is out(c) h(c) - sum n(c, d) h(d) =
    n(c, conversion), with out(c) every count out of c except its self-loop."""

    def __init__(
        self,
        channels: Sequence[str],
        firsts: Mapping[str, int],
        moves: Mapping[Transition, int],
        converted: Mapping[str, int],
        lost: Mapping[str, int],
    ) -> None:
        self.channels = list(channels)
        self.firsts = [firsts.get(c, 0) for c in channels]
        index = {channel: i for i, channel in enumerate(channels)}
        out = [converted.get(c, 0) + lost.get(c, 0) for c in channels]
        self.successors: list[dict[int, int]] = [{} for _ in channels]
        for (source, target), count in moves.items():
            self.successors[index[source]][index[target]] = count
            out[index[source]] += count
        self.out = out
        self.converted = [converted.get(c, 0) for c in channels]

    def conversion_probability(self, removed: str | None) -> Fraction:
        """P((conversion) from (start)) with `removed`'s incoming transitions sent to (null) (None: none)."""
        keep = [i for i, c in enumerate(self.channels) if c != removed]
        starts = sum(self.firsts[i] for i in keep)
        if starts == 0 or not keep:
            return Fraction(0)
        position = {state: row for row, state in enumerate(keep)}
        # A transition into the removed channel is one into (null), where h = 0: its column is simply dropped,
        # while out(c) still counts it.
        matrix = []
        for i in keep:
            row = [0] * (len(keep) + 1)
            row[position[i]] = self.out[i]
            for j, count in self.successors[i].items():
                if j in position:
                    row[position[j]] -= count
            row[-1] = self.converted[i]
            matrix.append(row)
        h = _solve(matrix)
        return sum((self.firsts[i] * h[position[i]] for i in keep), Fraction(0)) / sum(self.firsts)


def _solve(augmented: list[list[int]]) -> list[Fraction]:
    """x with A x = b exactly, for the integer rows [A | b] (A nonsingular). Bareiss' fraction-free
    elimination keeps every entry an integer (a minor of A), so no gcd is taken until back substitution.
    A is a nonsingular M-matrix here (every channel reaches an absorbing state), whose leading minors are
    positive, so pivots are never 0; the row swap is only a guard."""
    rows = [list(row) for row in augmented]
    n = len(rows)
    previous = 1
    for k in range(n):
        if rows[k][k] == 0:
            swap = next(i for i in range(k + 1, n) if rows[i][k] != 0)  # StopIteration: singular
            rows[k], rows[swap] = rows[swap], rows[k]
        pivot_row = rows[k]
        pivot = pivot_row[k]
        tail = range(k + 1, n + 1)
        for i in range(k + 1, n):
            row = rows[i]
            factor = row[k]
            if factor:
                for j in tail:
                    row[j] = (row[j] * pivot - factor * pivot_row[j]) // previous
            else:
                for j in tail:
                    row[j] = row[j] * pivot // previous
            row[k] = 0
        previous = pivot
    solution = [Fraction(0)] * n
    for k in range(n - 1, -1, -1):
        row = rows[k]
        rest = row[n] - sum((row[j] * solution[j] for j in range(k + 1, n) if row[j]), Fraction(0))
        solution[k] = rest / row[k]
    return solution


# ------------------------------------------------------------------------------------------------ crediting


def data_driven_weights(channels: Sequence[str], fit: MarkovFit | None) -> list[tuple[Fraction, str]]:
    """Per touch of one journey (its channels in order): its exact share of the conversion and the rule that
    gave it. Channel-level credit is proportional to the channel's removal effect, split equally among its
    touches; channels without one get 0; linear when no touch has one (or there is no fit)."""
    n = len(channels)
    if n == 0:
        return []
    if fit is None:
        return [(Fraction(1, n), "data_driven: no fitted model yet, linear")] * n
    effects = fit.removal_effects
    touches = Counter(channels)
    total = sum((effects.get(channel, Fraction(0)) for channel in touches), Fraction(0))
    if total == 0:
        return [(Fraction(1, n), "data_driven: no channel of this journey has a removal effect yet, linear")] * n
    weights = []
    for channel in channels:
        effect = effects.get(channel)
        if effect is None:
            weights.append((Fraction(0), f"data_driven: {channel} is not in the fitted model, no credit"))
        elif effect == 0:
            weights.append((Fraction(0), f"data_driven: {channel} has no removal effect, no credit"))
        else:
            shared = "" if touches[channel] == 1 else f", shared by {touches[channel]} touches"
            rule = f"data_driven: {channel} removal effect {_decimal(effect)} of {_decimal(total)} in this journey"
            weights.append((effect / total / touches[channel], rule + shared))
    return weights


def data_driven_credits(journey: Journey, fit: MarkovFit | None) -> list[Credit]:
    """The journey's credits under the data-driven model: weights from `data_driven_weights`, the amount
    shared by largest remainder (credits sum to `amount_minor` exactly)."""
    weights = data_driven_weights([touch.channel for touch in journey.touches], fit)
    minors = allocate(journey.amount_minor, [weight for weight, _ in weights])
    return [
        Credit(touch.touch_id, minor, weight, rule)
        for touch, minor, (weight, rule) in zip(journey.touches, minors, weights, strict=True)
    ]


def _decimal(value: Fraction) -> str:
    """Four places for rule texts (the weights themselves stay exact)."""
    return f"{float(value):.4f}"
