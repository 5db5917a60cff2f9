"""Lead scoring: a contact's score is a pure function of (model, profile, engagement log, as_of).

    model = load_model()                                   # config/scoring-model.json, validated
    result = score(model, profile, engagements, as_of)     # Score, with its breakdown
    figures = summarize(model, profile, engagements, as_of)  # ScoreSummary: same figures, no breakdown (fast)
    runnable = compiled(model)  # the CompiledModel that score/summarize run: built on first use, cached on the
                                # model; pass it in their place to skip the cache look-up in a loop

Modules, each depending only on those listed before it: `text` and `sessions` (normalization, MQL metrics),
`results` (what scoring returns), `inputs` (`Profile`, `Engagement`, `to_us`, `hundredths`), `model` (the
schema; it knows nothing of compiling), `rule_selection` and `fit_matching` (rules as closures),
`compiler` (`compile_model`, `compiled`: the model as the engine runs it), `engine` (`score`, `summarize`).

Purity. No clock, no I/O, no randomness: the same model, profile, log and `as_of` give the same score. The
log is first reduced to what counts: engagements after `as_of` are dropped; of several engagements with one
`event_id` only one counts (the earliest, ties broken by content, so input order does not matter); the rest
is processed in (time, event id) order. Times are integer microseconds since the epoch (`to_us`).

Fit. Every fit rule that matches the profile adds its points, except that among rules sharing a `group`
only the first matching one (in file order) scores: seniority is one group, so "VP" scores as VP and not
also as manager. Rule kinds: `in` (text field equals one of values), `band` (number in [min, max)),
`keywords` (whole words in a text field, by default the job title), `domain` (email or company domain is, or
is under, a listed domain: personal email providers, competitors). A rule marked `disqualifies` rules out
ICP fit. *ICP fit* = fit score >= `fit.icp_min` and no disqualifying rule matched.

Engagement. Each engagement scores under the first rule (in file order) whose kind matches and whose
conditions all hold; an engagement no rule matches is not in the breakdown. What the engagement *earns*
(`awarded`) is the rule's points reduced by the rule's caps, applied in log order as the events happened:
`once` (only the contact's first match earns), `max_per_day` (UTC calendar days) and `max_lifetime`. Caps
count magnitudes, so they also bound negative rules. What it is *worth* as of `as_of` (`points`) is
`awarded` after its group's decay: `half_life` (x 2^(-age/half-life): exactly half at one half-life),
`window` (in full while age < window, nothing from age == window on) or `none`. A group's points are the
sum of its lines' points, capped at the group's `cap`.

Withheld engagements. An engagement the caller marks `withheld` (the lead domain does, for tracking a person
withdrew consent to) earns nothing: it is shown as a line of its matching rule at 0 points with the reason in
`excluded`, and counts toward no cap, MQL metric or handoff trigger, exactly as if it were not in the log. A
profile's `nurture_withheld` stops the standard (nurture) handoff trigger.

Total = fit score + engagement score (sum of capped groups), then capped at `total.cap`, then raised to 0
when negative unless `total.allow_negative`.

Arithmetic and the breakdown. All points are integer hundredths (`*_hundredths` fields; float views with two
decimals beside them), so sums are exact. The only rounding is half-life decay, rounded per line to the
nearest hundredth (half away from zero). Caps never rewrite lines: each cap that bites is an explicit
`Adjustment` line (group cap, total cap, floor) carrying the negative (or, for the floor, positive)
difference, so `fit lines + engagement lines + adjustments == total` holds exactly.

MQL, per `mql` in the model: *email engagement* = the points of the `email_group` group (decayed, capped);
*content pieces* = distinct pieces (by name, else URL) among `content_kinds` engagements younger than
`lookback_days`; *website sessions* = sessions among `session_kinds` engagements younger than
`lookback_days`, split at >= `session_gap_minutes` (30) of inactivity (see `sessions.py`). The criteria are
met when each metric reaches its minimum and, if `require_icp_fit`, the contact is an ICP fit.

Handoff triggers, per `handoff` (none at all for a disqualified contact when `suppress_when_disqualified`):
`immediate` when the total >= `immediate_total_min`; `priority` for each of `priority_kinds` seen within
`priority_lookback_days`, for ICP fits only unless `priority_below_icp_fit`; `standard` when the MQL
criteria are met and the contact has been nurtured for >= `standard_after_nurture_days` (since
`Profile.nurture_started_at`, or else since its first engagement). `Score.handoff` lists those that fire,
the most urgent first.
"""

from shared.scoring.compiler import CompiledModel, compile_model, compiled
from shared.scoring.engine import score, summarize
from shared.scoring.inputs import Engagement, Profile, hundredths, to_us
from shared.scoring.model import DEFAULT_MODEL_PATH, ModelError, ScoringModel, load_model, parse_model
from shared.scoring.results import (
    Adjustment,
    EngagementLine,
    FitLine,
    GroupScore,
    HandoffTrigger,
    Score,
    ScoreSummary,
    from_us,
)

__all__ = [
    "DEFAULT_MODEL_PATH",
    "Adjustment",
    "CompiledModel",
    "Engagement",
    "EngagementLine",
    "FitLine",
    "GroupScore",
    "HandoffTrigger",
    "ModelError",
    "Profile",
    "Score",
    "ScoreSummary",
    "ScoringModel",
    "compile_model",
    "compiled",
    "from_us",
    "hundredths",
    "load_model",
    "parse_model",
    "score",
    "summarize",
    "to_us",
]
