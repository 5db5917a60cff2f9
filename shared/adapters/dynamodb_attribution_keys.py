"""How attribution is laid out in the DynamoDB table `attribution` (access patterns in
`shared/catalog/attribution.py`): its items, their keys and the months that key them. The store
(`dynamodb_attribution.py`) reads and writes through this and the modules beside it: the checks a write passes
before any call (`dynamodb_attribution_checks.py`), the items of deals and their pipeline
(`dynamodb_attribution_deals.py`), of conversions (`dynamodb_attribution_conversions.py`), of the month's totals
(`dynamodb_attribution_totals.py`), of the funnel (`dynamodb_attribution_funnel.py`) and of fits
(`dynamodb_attribution_fits.py`), and the listing cursor (`dynamodb_attribution_cursor.py`).

Items, all under `pk` + `sk`:

- `DEAL#<deal_id>` / `DEAL`: a deal: `deal_id`, `first_seen_at`, `status`, `status_at` (absent: no event has
  said a status yet, a deal first seen by an update), `amount_minor`, `amount_currency` and `amount_at` (absent:
  no amount yet; `amount_at` alone absent: an item written before it was kept), `contact_ids` and `emails`
  (lists), `account_ref` and `won_at` (absent when None), `events` and `version`.
- `CONVERSION#<conversion_id>` / `CONVERSION`: a conversion: `conversion_id`, `kind`, `converted_at`,
  `amount_minor` + `amount_currency` (as reported), `company_minor` + `company_currency`, `rate` (a plain
  decimal string), `contact_ids` (a list), `account_id`, `deal_id`, `lead_created_at`,
  `opportunity_created_at` (each absent when None), `settings_version`, `recorded_at`, and:
  - `touches`: one map per touch, in journey order: `touch_id`, `occurred_at`, `channel`, `campaign_id` and
    `content` (absent when None), `roles` (a list, in `Role` order) and `credits`, the touch's figures under
    each of the seven heuristic models: `{model: {"minor": N, "weight": "num/den", "rule": S,
    "deal_units": N}}`;
  - `data_driven`: the data-driven model's figures, one map of the same shape per touch in the same order,
    with `fit_id`, the fit they were computed with (absent: none, linear). They are kept apart from `touches`
    so that the data-driven batch rewrites exactly these two attributes and the digest (one SET, whatever the
    number of touches: an expression naming each touch's path would pass DynamoDB's 4 KB expression limit at
    ~100 touches) and nothing else of the conversion can change.
  - the by-period index keys: `conversion_period=<yyyy-mm of converted_at in UTC>` and
    `conversion_sort=<converted_at>#<conversion_id>` (a month's conversions by time, then id);
  - `digest`: the SHA-256 of every other attribute (canonical JSON), rewritten with every write of the item.
    A replacement (the data-driven batch's, a reattribution's) is conditioned on it: what is stored is still,
    attribute for attribute, the conversion the replacement was computed from.
- `TOTALS#<yyyy-mm>` / `CAMPAIGN#<campaign_id>` and `TOTALS#<yyyy-mm>` / `CHANNEL#<channel>`: what the month's
  conversions credited to a campaign (`(none)`, `NO_CAMPAIGN`, for touches without one) or a channel, as flat
  numbers: `revenue_<model>` (company minor units) and `deals_<model>` (DEAL_UNITS) for each of the eight
  models, `touches` and `conversions`. The id is everything after the prefix (it may hold `#`). An item is
  never deleted: a campaign no conversion credits any more (a reattribution moved its credits away) keeps its
  item, every figure 0.
- `TOTALS#<yyyy-mm>` / `ALL`: the month's conversions in all: `revenue` (company minor units), `conversions`,
  and the part whose journey holds a touch of a campaign, `influenced_revenue` and `influenced_conversions`
  (a conversion without touches counts in all, not as influenced). Kept by `record` and moved by a
  reattribution (`replace_conversion`: the influenced part may change); the data-driven batch does not move it
  (it changes no conversion's amount or campaigns).
- `PIPELINE#<deal_id>` / `PIPELINE`: an open deal's contribution to pipeline: `deal_id`, `credits`
  (`{campaign_id: {model: minor}}`, every model, `(none)` for touches without campaign), `version` (1 when
  first set, + 1 each write) and `written` (a random id each write, so a condition on it tells a contribution
  from one removed and set again up to the same version). Removing the contribution deletes it.
- `PIPELINE` / `CAMPAIGN#<campaign_id>`: a campaign's pipeline now, `pipeline_<model>` for each of the eight
  models (the sum of its credits over the deals' contributions); `PIPELINE` / `TOTAL`: the same summed over
  every campaign but `(none)` (marketing-influenced pipeline), so either is one GetItem.
- `FUNNEL_EVENT#<event_id>` / `FUNNEL_EVENT`: the marker of a counted stage entry (`event_id`, `lead_id`,
  `stage`, `at`, `campaign_id`, `period`, `seconds_in_previous` when known): an entry is counted once; its
  `campaign_id` is the campaign it counts for, moved (with the counts) by a reattribution.
- `FUNNEL#<yyyy-mm>` / `STAGE#<stage>`: the month's entries into a stage (`entered`) and the time they had
  spent in the stage left (`seconds_in_previous`, summed over the `timed` entries that knew it);
  `FUNNEL#<yyyy-mm>` / `CAMPAIGN#<campaign_id>#<stage>`: the entries the campaign brought (`entered`; a
  campaign a reattribution moved every entry away from keeps its item at 0). Stages
  hold no `#`, so the stage is what follows the last one. The month is the entry's in UTC.
- `FIT` / `<period>#<fitted_at>`: a Markov fit: `fit_id`, `period`, `fitted_at` and `MarkovFit.to_record()`
  (`journeys`, `conversions`, `conversion_probability`, `removal_effects` as "num/den" strings, `transitions`
  as [from, to, count] rows). `FIT` / `LATEST`: a copy of the latest-fitted one, whole (so `latest_fit` is one
  GetItem; a fit is checked against the item limit, so its copy fits too).

Fractions are stored as "numerator/denominator" text (exact, whatever their size: DynamoDB numbers hold 38
digits). Datetimes are fixed-width UTC ISO strings with microseconds (they sort as they compare) and come back
aware in UTC; a naive datetime is a ValueError before anything is written. Every number comes back an int.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from shared.adapters.dynamodb_items import iso
from shared.attribution.journeys import Touch
from shared.attribution.ports import NO_CAMPAIGN, StoredFit
from shared.errors import InvalidInput
from shared.finance.periods import Period, parse_period

DEAL, CONVERSION, LATEST, FIT = "DEAL", "CONVERSION", "LATEST", "FIT"
CAMPAIGN, CHANNEL = "CAMPAIGN#", "CHANNEL#"
ALL, PIPELINE, TOTAL, FUNNEL_EVENT, STAGE = "ALL", "PIPELINE", "TOTAL", "FUNNEL_EVENT", "STAGE#"


# -------------------------------------------------------------------------------------------------- periods


def month_text(period: str | Period) -> str:
    """The stored spelling of a month: attribution is kept by month (InvalidInput for a quarter or no period)."""
    parsed = period if isinstance(period, Period) else parse_period(period)
    if not parsed.is_month:
        raise InvalidInput(f"period: {parsed} is a quarter; attribution is kept by month (ask for each of its months)")
    return str(parsed)


def month_texts(periods: Sequence[str]) -> list[str]:
    """The months asked for, once each, in the order asked (InvalidInput for a quarter)."""
    return list(dict.fromkeys(month_text(period) for period in periods))


def month_of(moment: datetime) -> str:
    """The month of an instant, in UTC (the month its conversion counts in)."""
    return moment.astimezone(UTC).strftime("%Y-%m")


# ----------------------------------------------------------------------------------------------------- keys


def deal_pk(deal_id: str) -> str:
    return f"DEAL#{deal_id}"


def conversion_pk(conversion_id: str) -> str:
    return f"CONVERSION#{conversion_id}"


def totals_pk(month: str) -> str:
    return f"TOTALS#{month}"


def campaign_key(touch: Touch) -> str:
    return touch.campaign_id if touch.campaign_id is not None else NO_CAMPAIGN


def campaign_sk(campaign_id: str) -> str:
    return f"{CAMPAIGN}{campaign_id}"


def channel_sk(channel: str) -> str:
    return f"{CHANNEL}{channel}"


def conversion_sort(converted_at: datetime, conversion_id: str) -> str:
    return f"{iso(converted_at)}#{conversion_id}"


def fit_sk(fit: StoredFit) -> str:
    return f"{fit.period}#{iso(fit.fitted_at)}"


def pipeline_pk(deal_id: str) -> str:
    return f"PIPELINE#{deal_id}"


def funnel_pk(month: str) -> str:
    return f"FUNNEL#{month}"


def funnel_event_pk(event_id: str) -> str:
    return f"FUNNEL_EVENT#{event_id}"


def stage_sk(stage: str) -> str:
    return f"{STAGE}{stage}"


def campaign_stage_sk(campaign_id: str, stage: str) -> str:
    return f"{CAMPAIGN}{campaign_id}#{stage}"
