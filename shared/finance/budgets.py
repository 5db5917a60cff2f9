"""The budget of a period: its currency, lines (department, optional channel, optional campaign, amount in
minor units) and alert thresholds, validated at construction. What a line covers, and the spend no line covers,
is told in `budget_engine`'s doc (Lines); the PUT body is read in `budget_parsing.py`, the stored form is in
`budget_records.py`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from shared.errors import InvalidInput
from shared.finance.config import sorted_thresholds
from shared.finance.currencies import currency
from shared.finance.periods import Period
from shared.finance.spend import FieldProblem, SpendKey

MAX_THRESHOLD = 1000
LineKey = tuple[str, str | None, str | None]  # (department, channel or None: all, campaign_id or None: all)


class InvalidBudget(InvalidInput):
    """A budget that cannot be stored; `problems` names each bad line (1-based) and field."""

    def __init__(self, problems: Sequence[FieldProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("invalid budget: " + "; ".join(map(str, problems)))


@dataclass(frozen=True, slots=True)
class BudgetLine:
    """`amount` minor units of the budget's currency for `department`, `channel` (None: all channels) and
    `campaign_id` (None: all campaigns and spend without one)."""

    department: str
    channel: str | None
    campaign_id: str | None
    amount: int

    @property
    def key(self) -> LineKey:
        return (self.department, self.channel, self.campaign_id)

    def covers(self, key: SpendKey) -> bool:
        """Whether spend at `key` (department, channel, campaign_id) counts in this line."""
        department, channel, campaign_id = key
        return (
            department == self.department
            and (self.channel is None or self.channel == channel)
            and (self.campaign_id is None or self.campaign_id == campaign_id)
        )

    def label(self) -> str:
        channel = self.channel or "all channels"
        campaign = f"campaign {self.campaign_id}" if self.campaign_id else "all campaigns"
        return f"{self.department} / {channel} / {campaign}"


@dataclass(frozen=True, slots=True)
class Budget:
    """A budget of a period, validated at construction (`InvalidBudget` naming the lines): amounts are
    non-negative ints, no two lines cover the same spend, thresholds are distinct, 1 to 1000, kept sorted."""

    period: Period
    currency: str
    lines: tuple[BudgetLine, ...]
    thresholds: tuple[int, ...] = (50, 80, 100, 110)

    def __post_init__(self) -> None:
        object.__setattr__(self, "currency", currency(self.currency, field="currency").code)
        object.__setattr__(self, "lines", tuple(self.lines))
        problems: list[FieldProblem] = []
        for number, line in enumerate(self.lines, start=1):
            if type(line.amount) is not int or line.amount < 0:
                problems.append(FieldProblem(number, "amount", f"must be a non-negative int, not {line.amount!r}"))
        problems += _overlaps(self.lines)
        thresholds = list(self.thresholds)
        bad = [t for t in thresholds if type(t) is not int or not 1 <= t <= MAX_THRESHOLD]
        if bad:
            problems.append(FieldProblem(None, "thresholds", f"{bad} are not whole percentages 1 to {MAX_THRESHOLD}"))
        else:
            try:
                thresholds = sorted_thresholds(thresholds)
            except ValueError as exc:
                problems.append(FieldProblem(None, "thresholds", str(exc)))
        if problems:
            raise InvalidBudget(problems)
        object.__setattr__(self, "thresholds", tuple(thresholds))

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines)


@dataclass
class _Seen:
    """The earlier lines of one department, indexed for `_overlaps` (each by its first line's index)."""

    first: int | None = None  # any line
    exact: dict[tuple[str | None, str | None], int] = field(default_factory=dict)
    by_channel: dict[str, int] = field(default_factory=dict)  # lines naming that channel
    by_campaign: dict[str, int] = field(default_factory=dict)  # lines naming that campaign
    channel_only: int | None = None  # a line naming a channel, all campaigns
    campaign_only: int | None = None  # a line naming a campaign, all channels


def _overlaps(lines: Sequence[BudgetLine]) -> list[FieldProblem]:
    """A problem for each line that covers spend an earlier line of its department covers too. Linear: per
    department, the earlier lines are indexed by channel, campaign and shape."""

    seen: dict[str, _Seen] = {}
    problems: list[FieldProblem] = []
    for index, line in enumerate(lines):
        mine = seen.setdefault(line.department, _Seen())
        channel, campaign = line.channel, line.campaign_id
        candidates: list[int | None] = [mine.exact.get((None, None))]
        if channel is None and campaign is None:
            candidates.append(mine.first)
        elif campaign is None:
            assert channel is not None
            candidates += [mine.by_channel.get(channel), mine.campaign_only]
        elif channel is None:
            candidates += [mine.by_campaign.get(campaign), mine.channel_only]
        else:
            candidates += [mine.exact.get(key) for key in ((channel, campaign), (channel, None), (None, campaign))]
        clash = min((c for c in candidates if c is not None), default=None)
        if clash is not None:
            other = lines[clash]
            what = "repeats" if other.key == line.key else "overlaps"
            problems.append(
                FieldProblem(
                    index + 1,
                    "coverage",
                    f"({line.label()}) {what} line {clash + 1} ({other.label()}): spend would count in both; "
                    "merge them or name channels and campaigns that do not overlap",
                )
            )
            continue
        mine.first = index if mine.first is None else mine.first
        mine.exact.setdefault((channel, campaign), index)
        if channel is not None:
            mine.by_channel.setdefault(channel, index)
        if campaign is not None:
            mine.by_campaign.setdefault(campaign, index)
        if channel is not None and campaign is None and mine.channel_only is None:
            mine.channel_only = index
        if channel is None and campaign is not None and mine.campaign_only is None:
            mine.campaign_only = index
    return problems
