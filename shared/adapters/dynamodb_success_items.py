"""How the success store is laid out in the DynamoDB table `success` (`shared.catalog.success`): keys, items, the
encodings of their values and the checks a write passes before any call. The store (`dynamodb_success.py`) reads
and writes through this.

Items (every account's in its own partition, `pk` = `TENANT#<tenant_id>`):

- a signal: `sk` = `SIGNAL#<at>#<signal_id>`, `at` in UTC with microseconds (`dynamodb_items.iso`: fixed
  width, so the sort key orders the log by time, then signal id); attributes `signal_id`, `kind` (the
  `SignalKind` value), `at` (the same ISO text) and `values`: the values mapping as compact JSON text. Values
  are integers, text, None and one nested `features` map of text -> integer; JSON keeps them exact (no
  Decimal coming back, no refusal of an empty map) and an item's size is the text's. A value JSON cannot
  hold (a float NaN, a datetime) is a ValueError before any call.
- a parked log's index entry, every one in the partition `pk` = `PARKED`: `sk` = the parked log's name
  (`unlinked:<reference>`, whose signals are in the partition `TENANT#unlinked:<reference>`); attributes `names`
  (JSON text: the references the latest event parked in it named), `parked_at` (that signal's time, ISO) and
  `mark` (that signal's sort key). Written with each parked signal (`park_signal`), removed by the nightly once
  adopted or given up (`unindex_parked`, on condition of the mark).
- a filed signal's claim, in the signal's own partition (outside every account's): `pk` = `FILED#<signal_id>`,
  `sk` = its time as its signal's sort key writes it; attribute `log` (the account whose log it was filed in).
  Written with the signal (`file_signal`) so that the same signal, replayed after its person moved to another
  account, is found filed (one GetItem) rather than filed again; never removed.
- a reported message's marker: `sk` = `MESSAGE#<message_id>`; attributes `digest` (the caller's digest of the
  report's body) and `signal_sk` (the sort key of the signal it was written with).
- the health snapshot: `sk` = `HEALTH`; attributes `tenant_id`, `as_of` (ISO, UTC), `model_version`,
  `score_hundredths` (a number; absent for None), `band` (absent for None), `at_risk` and `expansion_ready`
  (booleans; `expansion_ready` read as false when absent), `renewal_at_risk_told` (the renewal date, ISO, whose
  risk was published last; absent when none was), `pending` (its outbox, absent when empty: compact JSON
  `{"events": [<each event's JSON as published>], "interventions": [<each churn intervention to open: its
  item's plain values but keys and `status_sort`>]}`), `version` (a number, from 1), and for the sparse
  `by-shard` index, which only snapshots carry: `tenant_shard` = `SHARD#<n>`, n = CRC-32 of the tenant id's
  UTF-8 bytes mod `TENANT_SHARDS` (stable across processes, unlike `hash()`), with `tenant_id` its sort key.
- an intervention: `sk` = `INTERVENTION#<intervention_id>`; attributes `intervention_id`, `tenant_id`,
  `playbook`, `trigger` (the `PlaybookTrigger` value), `reason`, `opened_at`, `task_title`, `task_due_at`,
  `evaluate_at` (ISO, UTC), and, each absent for None, `score_before` (a number), `band_before`,
  `requested_by`, `closed_at` (ISO, UTC), `score_after` (a number), `band_after`, `outcome` (the `Outcome`
  value). Its status is `intervention_status` (`open` or `closed`), the partition key of the sparse
  `by-status` index, which only interventions carry (every attribute projected); its sort key `status_sort`
  is `<evaluate_at>#<intervention_id>` while open (so the due come first) and `<closed_at>#<intervention_id>`
  once closed.
- an open intervention's marker, one per account and playbook while one of the playbook is open: `sk` =
  `OPEN#<playbook>`; attribute `intervention_id` (the open one's).

Product items (each absent attribute below is a None field; datetimes ISO in UTC, as above):

- feedback, every one in the partition `pk` = `FEEDBACK`: `sk` = `<feature>#<feedback_key>`, the feature
  with `%` and `#` percent-escaped (`%25`, `%23`: `feature_key`) so that the first `#` ends it, and a
  feature's feedback is exactly `begins_with(sk, "<feature>#")` (`sso` takes neither `sso-admin`'s nor
  `sso#admin`'s); attributes `feedback_key`, `tenant_id`, `feature` (as given), `kind` (the `FeedbackKind`
  value), `text`, `source`, `received_at`, `digest`, and `contact_email`, `campaign_id`.
- a launch: `pk` = `LAUNCH#<launch_id>`, `sk` = `LAUNCH`; attributes `launch_id`, `feature`, `launch_date`
  (ISO date text, `2026-12-01`), `target_bands` and `target_tenants` (lists of strings, empty ones kept
  empty), `messaging`, `created_at`, `digest`.
- a CS campaign: `pk` = `CAMPAIGN#<campaign_id>`, `sk` = `CAMPAIGN`; attributes `campaign_id`, `kind` (the
  `CampaignKind` value), `name`, its audience's `bands` (a list of strings), `min_nps` and `max_nps`
  (numbers), `advocates_only` (a boolean), `tenants` (a list of strings), `requested_by`, `created_at`,
  `digest`.

Every item is measured before it is written (DynamoDB refuses items over 400 KB): a signal, intervention,
feedback, launch or campaign too large is `TooLargeToStore` naming it, before any call; so is a key over
DynamoDB's key limits (a sort key of 1024 bytes, a partition key of 2048: a signal id, message id,
intervention id, playbook, feature, feedback key, launch id or campaign id thousands of characters long). An
empty id, key, account or feature, a naive datetime, an unknown kind or a list holding other than text is a
ValueError, before any call.

Datetimes come back timezone-aware, in UTC. The functions building and reading items are shared with the
in-memory fake of the tests (`tests/success_fakes.py`), so both refuse and return exactly the same.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from shared.adapters.dynamodb_items import iso, iso_or_none, when, when_or_none
from shared.adapters.dynamodb_lead_items import check_size
from shared.catalog.success import TENANT_SHARDS
from shared.events.success_events import SuccessEvent
from shared.leads.ports import TooLargeToStore
from shared.success.campaigns import Audience, CampaignKind, CsCampaign
from shared.success.feedback import Feedback, FeedbackKind
from shared.success.interventions import Intervention, InterventionStatus, Outcome
from shared.success.model import PlaybookTrigger
from shared.success.ports import ParkedLog, StoredHealth
from shared.success.product import Launch
from shared.success.signals import Signal, SignalKind

TENANT, SIGNAL, MESSAGE, HEALTH, SHARD = "TENANT#", "SIGNAL#", "MESSAGE#", "HEALTH", "SHARD#"
FILED = "FILED#"  # the partition of a filed signal's claim, per signal id
PARKED_LOGS = "PARKED"  # the partition of the parked logs' index entries
INTERVENTION, OPEN = "INTERVENTION#", "OPEN#"
FEEDBACK, LAUNCH, CAMPAIGN = "FEEDBACK", "LAUNCH", "CAMPAIGN"  # the feedback partition; launches' and campaigns' sk
SIGNALS_END = SIGNAL + "~"  # past every `SIGNAL#<iso time>...` (an ISO time starts with a digit)
MAX_PARTITION_KEY_BYTES, MAX_SORT_KEY_BYTES = 2048, 1024  # DynamoDB's key limits (an index's keys too)


# -------------------------------------------------------------------------------------------------- items


def tenant_pk(tenant_id: str) -> str:
    return TENANT + tenant_id


def signal_sk(signal: Signal) -> str:
    return f"{SIGNAL}{iso(signal.at)}#{signal.signal_id}"


def signals_range(since: datetime) -> tuple[str, str]:
    """The sort keys a query for the signals after `since` reads between (those at `since` itself included:
    dropped after)."""
    return SIGNAL + iso(since), SIGNALS_END


def signal_item(tenant_id: str, signal: Signal) -> dict[str, Any]:
    """A signal's item (plain values), checked: a naive time, an unknown kind or values JSON cannot hold are a
    ValueError; an item or key DynamoDB would refuse for its size is TooLargeToStore."""
    try:
        values = json.dumps(dict(signal.values), separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"signal {signal.signal_id}: values are integers, text, None and maps of them ({exc})"
        ) from None
    item: dict[str, Any] = {
        "pk": tenant_pk(tenant_id),
        "sk": signal_sk(signal),
        "signal_id": signal.signal_id,
        "kind": SignalKind(signal.kind).value,
        "at": iso(signal.at),
        "values": values,
    }
    what = f"signal {signal.signal_id} of {tenant_id}"
    return checked(item, what)


def parked_entry_item(log: str, signal: Signal, names: Sequence[str]) -> dict[str, Any]:
    """A parked log's index entry as the latest signal parked in it leaves it (checked as every item is)."""
    if not log:
        raise ValueError("a parked log's name is empty")
    item: dict[str, Any] = {
        "pk": PARKED_LOGS,
        "sk": log,
        "names": json.dumps(list(dict.fromkeys(names)), separators=(",", ":")),
        "parked_at": iso(signal.at),
        "mark": signal_sk(signal),
    }
    return checked(item, f"parked log {log}")


def parked_entry_from(item: Mapping[str, Any]) -> ParkedLog:
    names = json.loads(str(item["names"]))
    return ParkedLog(str(item["sk"]), tuple(str(n) for n in names), when(str(item["parked_at"])), str(item["mark"]))


def signal_from(item: Mapping[str, Any]) -> Signal:
    return Signal(str(item["signal_id"]), SignalKind(item["kind"]), when(str(item["at"])), json.loads(item["values"]))


def claim_key(signal: Signal) -> tuple[str, str]:
    """The key of the claim a signal (its id and time) is filed with: wherever it was filed, one GetItem."""
    if not signal.signal_id:
        raise ValueError("a signal's id is empty")
    return FILED + signal.signal_id, iso(signal.at)


def claim_item(tenant_id: str, signal: Signal) -> dict[str, Any]:
    """The claim a signal is filed with under `tenant_id` (checked as every item is)."""
    if not tenant_id:
        raise ValueError(f"signal {signal.signal_id}: the account it is filed under is empty")
    pk, sk = claim_key(signal)
    return checked({"pk": pk, "sk": sk, "log": tenant_id}, f"the claim of signal {signal.signal_id}")


def marker_item(tenant_id: str, message_id: str, digest: str, signal_sort_key: str) -> dict[str, Any]:
    item = {"pk": tenant_pk(tenant_id), "sk": MESSAGE + message_id, "digest": digest, "signal_sk": signal_sort_key}
    check_keys(item, f"message {message_id} of {tenant_id}")
    return item


def health_item(health: StoredHealth) -> dict[str, Any]:
    """The `HEALTH` item of a snapshot as stored (its version the stored one: 1 or more)."""
    if not health.tenant_id:
        raise ValueError("a health snapshot's tenant_id is empty")
    if health.version < 1:
        raise ValueError(f"health of {health.tenant_id}: a version read is 0 or more, not {health.version - 1}")
    item: dict[str, Any] = {
        "pk": tenant_pk(health.tenant_id),
        "sk": HEALTH,
        "tenant_id": health.tenant_id,
        "tenant_shard": shard_key(shard_of(health.tenant_id)),
        "as_of": iso(health.as_of),
        "model_version": health.model_version,
        "at_risk": bool(health.at_risk),
        "expansion_ready": bool(health.expansion_ready),
        "version": health.version,
    }
    if health.score_hundredths is not None:
        item["score_hundredths"] = int(health.score_hundredths)
    if health.band is not None:
        item["band"] = health.band
    if health.renewal_at_risk_told is not None:
        item["renewal_at_risk_told"] = health.renewal_at_risk_told
    if health.pending:
        item["pending"] = pending_text(health)
    what = f"health of {health.tenant_id}"
    check_keys(item, what)
    if len(health.tenant_id.encode("utf-8", "surrogatepass")) > MAX_SORT_KEY_BYTES:  # the index's sort key
        raise TooLargeToStore(f"{what}: a tenant id is at most {MAX_SORT_KEY_BYTES} bytes (the index's sort key)")
    check_size(item, what)
    return item


def health_from(item: Mapping[str, Any]) -> StoredHealth:
    score = item.get("score_hundredths")
    band = item.get("band")
    told = item.get("renewal_at_risk_told")
    return StoredHealth(
        tenant_id=str(item["tenant_id"]),
        as_of=when(str(item["as_of"])),
        model_version=str(item["model_version"]),
        score_hundredths=None if score is None else int(score),
        band=None if band is None else str(band),
        at_risk=bool(item["at_risk"]),
        version=int(item["version"]),
        expansion_ready=bool(item.get("expansion_ready", False)),  # absent on snapshots stored before it existed
        renewal_at_risk_told=None if told is None else str(told),
        **pending_from(item.get("pending")),
    )


_INTERVENTION_KEYS = ("pk", "sk", "status_sort")  # an outbox's intervention is no item: no keys, no index


def pending_text(health: StoredHealth) -> str:
    """The snapshot's outbox as compact JSON: its events as they are published (their JSON), its interventions
    as their items' plain values (their keys left out)."""
    interventions = [intervention_item(i) for i in health.pending_interventions]
    return json.dumps(
        {
            "events": [json.loads(event.model_dump_json()) for event in health.pending_events],
            "interventions": [
                {name: value for name, value in item.items() if name not in _INTERVENTION_KEYS}
                for item in interventions
            ],
        },
        separators=(",", ":"),
        sort_keys=True,
    )


def pending_from(text: object) -> dict[str, Any]:
    if not isinstance(text, str) or not text:
        return {}
    read = json.loads(text)
    return {
        "pending_events": tuple(SuccessEvent.model_validate(event) for event in read.get("events", [])),
        "pending_interventions": tuple(intervention_from(i) for i in read.get("interventions", [])),
    }


def checked(item: dict[str, Any], what: str, optional: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """`item` with the attributes of `optional` that are not None (a None field is no attribute), its keys
    (`check_keys`), then its size (`check_size`) checked: either too large is TooLargeToStore."""
    if optional is not None:
        item.update((name, value) for name, value in optional.items() if value is not None)
    check_keys(item, what)
    check_size(item, what)
    return item


def check_keys(item: Mapping[str, Any], what: str) -> None:
    for name, limit in (("pk", MAX_PARTITION_KEY_BYTES), ("sk", MAX_SORT_KEY_BYTES)):
        size = len(str(item[name]).encode("utf-8", "surrogatepass"))
        if size > limit:
            raise TooLargeToStore(f"{what}: its key `{name}` would be {size} bytes, over DynamoDB's {limit}")


def intervention_sk(intervention_id: str) -> str:
    return INTERVENTION + intervention_id


def status_sort(intervention: Intervention) -> str:
    """The `by-status` index's sort key: when it is due while open, when it closed once closed."""
    moment = intervention.evaluate_at if intervention.closed_at is None else intervention.closed_at
    return f"{iso(moment)}#{intervention.intervention_id}"


def opened_sort(intervention: Intervention) -> str:
    """An account's listing order (descending: the newest opened first)."""
    return f"{iso(intervention.opened_at)}#{intervention.intervention_id}"


def due_until(now: datetime) -> str:
    """The highest `status_sort` of an open intervention due at `now` (every id sorts before `~`)."""
    return f"{iso(now)}#~"


def check_status(intervention: Intervention, expected: InterventionStatus, done: str) -> None:
    if InterventionStatus(intervention.status) is not expected:
        article = {InterventionStatus.OPEN: "an open", InterventionStatus.CLOSED: "a closed"}
        raise ValueError(
            f"intervention {intervention.intervention_id} of {intervention.tenant_id}: only {article[expected]} "
            f"intervention is {done}, not {article.get(intervention.status, repr(intervention.status))} one"
        )


def intervention_item(intervention: Intervention) -> dict[str, Any]:
    """An intervention's item (plain values), checked: an empty id, tenant or playbook, a naive datetime, an
    unknown trigger, status or outcome, a closed one without `closed_at` or an open one with it are a
    ValueError; an item or key DynamoDB would refuse for its size is TooLargeToStore."""
    what = f"intervention {intervention.intervention_id} of {intervention.tenant_id}"
    for name in ("intervention_id", "tenant_id", "playbook"):
        if not getattr(intervention, name):
            raise ValueError(f"{what}: its {name} is empty")
    status = InterventionStatus(intervention.status)
    if (status is InterventionStatus.CLOSED) != (intervention.closed_at is not None):
        raise ValueError(f"{what}: a closed intervention has a closed_at and an open one none ({status.value})")
    item: dict[str, Any] = {
        "pk": tenant_pk(intervention.tenant_id),
        "sk": intervention_sk(intervention.intervention_id),
        "intervention_id": intervention.intervention_id,
        "tenant_id": intervention.tenant_id,
        "playbook": intervention.playbook,
        "trigger": PlaybookTrigger(intervention.trigger).value,
        "reason": intervention.reason,
        "opened_at": iso(intervention.opened_at),
        "task_title": intervention.task_title,
        "task_due_at": iso(intervention.task_due_at),
        "evaluate_at": iso(intervention.evaluate_at),
        "intervention_status": status.value,
        "status_sort": status_sort(intervention),
    }
    optional = {
        "score_before": None if intervention.score_before is None else int(intervention.score_before),
        "band_before": intervention.band_before,
        "requested_by": intervention.requested_by,
        "closed_at": iso_or_none(intervention.closed_at),
        "score_after": None if intervention.score_after is None else int(intervention.score_after),
        "band_after": intervention.band_after,
        "outcome": None if intervention.outcome is None else Outcome(intervention.outcome).value,
    }
    return checked(item, what, optional)  # the index's sort key, `<time>#<id>`, is shorter than `sk`


def intervention_from(item: Mapping[str, Any]) -> Intervention:
    def text(name: str) -> str | None:
        return None if item.get(name) is None else str(item[name])

    def number(name: str) -> int | None:
        return None if item.get(name) is None else int(item[name])

    outcome = text("outcome")
    return Intervention(
        intervention_id=str(item["intervention_id"]),
        tenant_id=str(item["tenant_id"]),
        playbook=str(item["playbook"]),
        trigger=PlaybookTrigger(item["trigger"]),
        reason=str(item["reason"]),
        opened_at=when(str(item["opened_at"])),
        task_title=str(item["task_title"]),
        task_due_at=when(str(item["task_due_at"])),
        evaluate_at=when(str(item["evaluate_at"])),
        score_before=number("score_before"),
        band_before=text("band_before"),
        requested_by=text("requested_by"),
        status=InterventionStatus(item["intervention_status"]),
        closed_at=when_or_none(text("closed_at")),
        score_after=number("score_after"),
        band_after=text("band_after"),
        outcome=None if outcome is None else Outcome(outcome),
    )


def open_marker_item(intervention: Intervention) -> dict[str, Any]:
    """The marker of an account's open intervention of a playbook (one at a time)."""
    item = {
        "pk": tenant_pk(intervention.tenant_id),
        "sk": OPEN + intervention.playbook,
        "intervention_id": intervention.intervention_id,
    }
    check_keys(item, f"the open marker of playbook {intervention.playbook} of {intervention.tenant_id}")
    return item


def unmarked(intervention: Intervention) -> str:
    return (
        f"intervention {intervention.intervention_id} of {intervention.tenant_id} is open but the open marker of "
        f"playbook {intervention.playbook} does not name it: the store is inconsistent, nothing written"
    )


# ------------------------------------------------------------------------------------------------ product


def feature_key(feature: str) -> str:
    """A feature as written in a feedback sort key: `%` and `#` percent-escaped, so the first `#` ends it."""
    return feature.replace("%", "%25").replace("#", "%23")


def feedback_prefix(feature: str) -> str:
    """The sort keys of a feature's feedback begin with this (and no other feature's do)."""
    return feature_key(feature) + "#"


def check_given(record: object, names: Sequence[str], what: str) -> None:
    for name in names:
        if not getattr(record, name):
            raise ValueError(f"{what}: its {name} is empty")


def texts(values: Iterable[str], what: str, name: str) -> list[str]:
    """A tuple of text as the list stored; anything else in it is a ValueError (it would not come back as
    it went)."""
    listed = list(values)
    if not all(isinstance(value, str) for value in listed):
        raise ValueError(f"{what}: its {name} holds text only, not {listed!r}")
    return listed


def text_or_none(item: Mapping[str, Any], name: str) -> str | None:
    return None if item.get(name) is None else str(item[name])


def number_or_none(item: Mapping[str, Any], name: str) -> int | None:
    return None if item.get(name) is None else int(item[name])


def feedback_item(feedback: Feedback) -> dict[str, Any]:
    """Feedback's item (plain values), checked: an empty key, account or feature, a naive time or an unknown
    kind are a ValueError; an item or key DynamoDB would refuse for its size is TooLargeToStore."""
    what = f"feedback {feedback.feedback_key} on {feedback.feature}"
    check_given(feedback, ("feedback_key", "tenant_id", "feature"), what)
    item: dict[str, Any] = {
        "pk": FEEDBACK,
        "sk": feedback_prefix(feedback.feature) + feedback.feedback_key,
        "feedback_key": feedback.feedback_key,
        "tenant_id": feedback.tenant_id,
        "feature": feedback.feature,
        "kind": FeedbackKind(feedback.kind).value,
        "text": feedback.text,
        "source": feedback.source,
        "received_at": iso(feedback.received_at),
        "digest": feedback.digest,
    }
    optional = {"contact_email": feedback.contact_email, "campaign_id": feedback.campaign_id}
    return checked(item, what, optional)


def feedback_from(item: Mapping[str, Any]) -> Feedback:
    return Feedback(
        feedback_key=str(item["feedback_key"]),
        tenant_id=str(item["tenant_id"]),
        feature=str(item["feature"]),
        kind=FeedbackKind(item["kind"]),
        text=str(item["text"]),
        source=str(item["source"]),
        received_at=when(str(item["received_at"])),
        contact_email=text_or_none(item, "contact_email"),
        campaign_id=text_or_none(item, "campaign_id"),
        digest=str(item["digest"]),
    )


def feedback_listed(items: Iterable[Mapping[str, Any]]) -> list[Feedback]:
    """Feedback by feature, then in the order received (ties by key)."""
    return sorted(
        (feedback_from(item) for item in items), key=lambda one: (one.feature, one.received_at, one.feedback_key)
    )


def launch_pk(launch_id: str) -> str:
    return f"{LAUNCH}#{launch_id}"


def launch_item(launch: Launch) -> dict[str, Any]:
    """A launch's item (plain values), checked: an empty id, a launch date that is a datetime, a naive
    `created_at` or a target list holding other than text are a ValueError; an item or key DynamoDB would
    refuse for its size is TooLargeToStore."""
    what = f"launch {launch.launch_id}"
    check_given(launch, ("launch_id",), what)
    if isinstance(launch.launch_date, datetime) or not isinstance(launch.launch_date, date):
        raise ValueError(f"{what}: its launch_date is a date, not {launch.launch_date!r}")
    item: dict[str, Any] = {
        "pk": launch_pk(launch.launch_id),
        "sk": LAUNCH,
        "launch_id": launch.launch_id,
        "feature": launch.feature,
        "launch_date": launch.launch_date.isoformat(),
        "target_bands": texts(launch.target_bands, what, "target_bands"),
        "target_tenants": texts(launch.target_tenants, what, "target_tenants"),
        # only when it names some: a launch item written before segments existed reads the same
        **({"target_segments": texts(launch.target_segments, what, "segments")} if launch.target_segments else {}),
        "messaging": launch.messaging,
        "created_at": iso(launch.created_at),
        "digest": launch.digest,
    }
    return checked(item, what)


def launch_from(item: Mapping[str, Any]) -> Launch:
    return Launch(
        launch_id=str(item["launch_id"]),
        feature=str(item["feature"]),
        launch_date=date.fromisoformat(str(item["launch_date"])),
        target_bands=tuple(str(band) for band in item["target_bands"]),
        messaging=str(item["messaging"]),
        created_at=when(str(item["created_at"])),
        digest=str(item["digest"]),
        target_tenants=tuple(str(tenant) for tenant in item["target_tenants"]),
        target_segments=tuple(str(segment) for segment in item.get("target_segments") or ()),
    )


def campaign_pk(campaign_id: str) -> str:
    return f"{CAMPAIGN}#{campaign_id}"


def campaign_item(campaign: CsCampaign) -> dict[str, Any]:
    """A CS campaign's item (plain values), checked: an empty id, an unknown kind, a naive `created_at` or a
    list holding other than text are a ValueError; an item or key DynamoDB would refuse for its size is
    TooLargeToStore."""
    what = f"campaign {campaign.campaign_id}"
    check_given(campaign, ("campaign_id",), what)
    audience = campaign.audience
    item: dict[str, Any] = {
        "pk": campaign_pk(campaign.campaign_id),
        "sk": CAMPAIGN,
        "campaign_id": campaign.campaign_id,
        "kind": CampaignKind(campaign.kind).value,
        "name": campaign.name,
        "bands": texts(audience.bands, what, "audience's bands"),
        **({"segments": texts(audience.segments, what, "audience's segments")} if audience.segments else {}),
        "advocates_only": bool(audience.advocates_only),
        "tenants": texts(campaign.tenants, what, "tenants"),
        "requested_by": campaign.requested_by,
        "created_at": iso(campaign.created_at),
        "digest": campaign.digest,
    }
    optional = {
        "min_nps": None if audience.min_nps is None else int(audience.min_nps),
        "max_nps": None if audience.max_nps is None else int(audience.max_nps),
    }
    return checked(item, what, optional)


def campaign_from(item: Mapping[str, Any]) -> CsCampaign:
    return CsCampaign(
        campaign_id=str(item["campaign_id"]),
        kind=CampaignKind(item["kind"]),
        name=str(item["name"]),
        audience=Audience(
            bands=tuple(str(band) for band in item["bands"]),
            segments=tuple(str(segment) for segment in item.get("segments") or ()),
            min_nps=number_or_none(item, "min_nps"),
            max_nps=number_or_none(item, "max_nps"),
            advocates_only=bool(item["advocates_only"]),
        ),
        requested_by=str(item["requested_by"]),
        created_at=when(str(item["created_at"])),
        tenants=tuple(str(tenant) for tenant in item["tenants"]),
        digest=str(item["digest"]),
    )


# ------------------------------------------------------------------------------------------------ tenants


def shard_of(tenant_id: str) -> int:
    """The account's index partition: stable across processes and releases (CRC-32, not `hash()`)."""
    return zlib.crc32(tenant_id.encode("utf-8", "surrogatepass")) % TENANT_SHARDS


def shard_key(shard: int) -> str:
    return f"{SHARD}{shard}"


def index_key(tenant_id: str) -> dict[str, str]:
    """The `by-shard` index's position at an account's snapshot (its keys and the table's)."""
    return {
        "tenant_shard": shard_key(shard_of(tenant_id)),
        "tenant_id": tenant_id,
        "pk": tenant_pk(tenant_id),
        "sk": HEALTH,
    }
