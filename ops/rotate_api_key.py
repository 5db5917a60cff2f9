"""Issue a partner a new API key, keeping the one it uses now enabled for an overlap window, so the partner can
switch without a failed call:

    python -m ops.rotate_api_key <partner> [--stage dev|prod] [--overlap-hours 24]    (make rotate-api-key)
    python -m ops.rotate_api_key <partner> [--stage dev|prod] --expire-only

The partner's usage plan (`revops-<stage>-partner-<name>`, created by the stack from config/api-clients.json) holds
its keys. A run first retires every key whose overlap is over (removed from the plan and deleted: API Gateway refuses
it at once), then creates a new key in the plan, tagged with the key it replaces and when the overlap ends, and
prints the new key's value on stdout, once: it is not shown again (API Gateway keeps it; an operator with access to
the account can read it back, the partner should store it in their secrets). `--overlap-hours 0` retires the old
key in the same run; `--expire-only` retires what is due and issues nothing (run it once the overlap is over, or
leave it to the next rotation). Without `--stage`, the local hub's embedded API Gateway (`make run`), where the first
run also creates the plan, as the stack would. Recorded in the stage's audit trail (`ops.audit_run`); key values never.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ops.audit_run import audited_run
from ops.stages import LOCAL, CannotRun, stage_clients
from shared.api_clients import InvalidApiClients, Partner, load_api_clients, usage_plan_name

MAX_OVERLAP_HOURS = 30 * 24
DEFAULT_OVERLAP_HOURS = 24
# Tags on each key: whose it is, and which key it replaces until when.
PARTNER_TAG = "revops:partner"
REPLACES_TAG = "revops:replaces"
OVERLAP_UNTIL_TAG = "revops:overlap-until"


@dataclass(frozen=True)
class Key:
    key_id: str
    created: datetime
    tags: dict[str, str]

    def replaces_until(self) -> tuple[str, datetime] | None:
        """The key this one replaces and when that key's overlap ends, if it replaced one."""
        replaced, until = self.tags.get(REPLACES_TAG), self.tags.get(OVERLAP_UNTIL_TAG)
        if not replaced or not until:
            return None
        return replaced, datetime.fromisoformat(until)


@dataclass
class Rotation:
    partner: str
    plan_id: str
    issued: str | None = None  # the new key's id
    value: str | None = None  # the new key's value: printed once, never logged or recorded
    kept_until: dict[str, datetime] = field(default_factory=dict)  # old key id -> end of its overlap
    retired: list[str] = field(default_factory=list)


def rotate(
    apigateway: Any,
    stage: str,
    partner: Partner,
    overlap: timedelta,
    now: datetime,
    *,
    issue: bool = True,
    create_missing_plan: bool = False,
) -> Rotation:
    """Retire the partner's keys whose overlap is over, then (with `issue`) add a new key replacing the newest."""
    plan_id = _plan_id(apigateway, stage, partner, create_missing_plan)
    rotation = Rotation(partner.name, plan_id)
    keys = _keys(apigateway, plan_id)
    in_plan = {key.key_id for key in keys}
    for key in keys:
        replaced = key.replaces_until()
        if replaced is None:
            continue
        old_key, overlap_until = replaced
        if overlap_until <= now and old_key in in_plan and old_key not in rotation.retired:
            _retire(apigateway, plan_id, old_key, rotation)
    current = [key for key in keys if key.key_id not in rotation.retired]
    if not issue:
        return rotation
    newest = _newest(current)
    until = now + overlap
    tags = {PARTNER_TAG: partner.name, "stage": stage}
    if newest is not None:
        tags |= {REPLACES_TAG: newest.key_id, OVERLAP_UNTIL_TAG: until.isoformat()}
    created = apigateway.create_api_key(
        name=f"{usage_plan_name(stage, partner.name)}-{now.strftime('%Y%m%dT%H%M%SZ')}",
        description=f"API key of partner {partner.name} on {stage}, issued {now.isoformat()}",
        enabled=True,
        tags=tags,
    )
    apigateway.create_usage_plan_key(usagePlanId=plan_id, keyId=created["id"], keyType="API_KEY")
    rotation.issued, rotation.value = created["id"], created["value"]
    if newest is not None:
        if overlap <= timedelta(0):
            _retire(apigateway, plan_id, newest.key_id, rotation)
        else:
            rotation.kept_until[newest.key_id] = until
    return rotation


def _newest(keys: list[Key]) -> Key | None:
    """The key the partner was given last: the one no other key replaces (the newest by creation among several,
    for keys issued some other way)."""
    replaced = {key.tags.get(REPLACES_TAG) for key in keys}
    heads = [key for key in keys if key.key_id not in replaced]
    return max(heads, key=lambda key: key.created, default=None)


def _plan_id(apigateway: Any, stage: str, partner: Partner, create_missing: bool) -> str:
    name = usage_plan_name(stage, partner.name)
    for plan in _pages(apigateway, "get_usage_plans"):
        if plan["name"] == name:
            return str(plan["id"])
    if not create_missing:
        raise CannotRun(f"stage {stage} has no usage plan {name}: deploy the stage with partner {partner.name} first")
    created = apigateway.create_usage_plan(
        name=name,
        description=partner.description,
        throttle={"rateLimit": partner.rate_per_second, "burstLimit": partner.burst},
        quota={"limit": partner.quota.limit, "period": partner.quota.period},
    )
    return str(created["id"])


def _keys(apigateway: Any, plan_id: str) -> list[Key]:
    keys = []
    for entry in _pages(apigateway, "get_usage_plan_keys", usagePlanId=plan_id):
        key = apigateway.get_api_key(apiKey=entry["id"], includeValue=False)
        keys.append(Key(str(key["id"]), key["createdDate"], dict(key.get("tags") or {})))
    return keys


def _retire(apigateway: Any, plan_id: str, key_id: str, rotation: Rotation) -> None:
    """Out of the plan, then deleted: API Gateway refuses the key from then on."""
    apigateway.delete_usage_plan_key(usagePlanId=plan_id, keyId=key_id)
    apigateway.delete_api_key(apiKey=key_id)
    rotation.retired.append(key_id)


def _pages(apigateway: Any, operation: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    position: str | None = None
    while True:
        page = getattr(apigateway, operation)(limit=500, **kwargs, **({"position": position} if position else {}))
        yield from page.get("items", [])
        position = page.get("position")
        if not position:
            return


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("partner", help="a partner of config/api-clients.json")
    parser.add_argument("--stage", help="dev or prod; without it, the local hub started by make run")
    parser.add_argument("--overlap-hours", type=float, default=DEFAULT_OVERLAP_HOURS)
    parser.add_argument("--expire-only", action="store_true", help="retire the keys whose overlap is over; no new key")
    args = parser.parse_args(argv)
    if not 0 <= args.overlap_hours <= MAX_OVERLAP_HOURS:
        parser.error(f"--overlap-hours is 0 to {MAX_OVERLAP_HOURS} (30 days), not {args.overlap_hours}")
    stage = args.stage or LOCAL
    try:
        partner = load_api_clients().partner(args.partner)
        arguments = {"partner": partner.name, "overlap_hours": args.overlap_hours, "expire_only": args.expire_only}
        with audited_run("rotate-api-key", arguments, args.stage) as run:
            rotation = rotate(
                stage_clients(stage, None)("apigateway"),
                stage,
                partner,
                timedelta(hours=args.overlap_hours),
                datetime.now(UTC),
                issue=not args.expire_only,
                create_missing_plan=stage == LOCAL,
            )
            for key_id in [rotation.issued, *rotation.retired]:
                if key_id:
                    run.target("api_key", key_id)
            run.finish(0, _summary(rotation))
    except (KeyError, InvalidApiClients) as exc:
        print(f"error: {exc.args[0] if isinstance(exc, KeyError) else exc}", file=sys.stderr)
        return 2
    except CannotRun as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError) as exc:
        print(f"error: rotating {args.partner}'s key on {stage} failed: {exc}", file=sys.stderr)
        return 1
    print(_summary(rotation), file=sys.stderr)
    if rotation.value:
        print(rotation.value)
    return 0


def _summary(rotation: Rotation) -> str:
    parts = [f"partner {rotation.partner}:"]
    if rotation.issued:
        parts.append(f"new key {rotation.issued} issued (its value is printed once, below);")
    for key_id, until in rotation.kept_until.items():
        parts.append(f"key {key_id} stays enabled until {until.isoformat(timespec='minutes')}, then a run retires it;")
    parts.append(f"retired {', '.join(rotation.retired)}." if rotation.retired else "nothing retired.")
    return " ".join(parts)


if __name__ == "__main__":
    raise SystemExit(main())
