"""Routing engine throughput on one core, beside the least a router can do, measured in the same run.

A generated routing file (seeded random): 50 reps in 5 teams of 10, across time zones, some out of office or
inactive, and 30 lead rules of which the first 27 match almost no lead (an industry no lead has, plus a
country), then a rule on the source, one on the priority and a catch-all: the match comes near the end, as
it does for most leads of a real file. 4,000 varied leads (countries, priorities, products, languages, sizes,
owners), routed with fixed loads (a few reps at capacity) at one instant: pure `route()` calls.

- baseline: a hand-written first-match loop over the same 30 rules as plain dicts, each condition one
  equality check on the lead's attribute, then the first member of the rule's team: no eligibility, no
  strategy, no explanation;
- route: `shared.handoffs.routing.route`, the whole decision with skips and explanation;
- compile: `compile_routing` of the generated file, once per cold start.

Figures are CPU time (`time.process_time`) on one core, the median of interleaved rounds; the ratio is the
engine's rate over the baseline's. Run standalone: `python -m benchmarks.routing`.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from shared.handoffs.model import LeadFacts, Priority, RepLoad  # noqa: E402
from shared.handoffs.routing import Router, compile_routing, route  # noqa: E402
from shared.handoffs.routing_config import RoutingConfig, parse_routing  # noqa: E402

SEED = 20260310
REPS = 50
TEAMS = 5
RULES = 30
LEADS = 4_000
ROUNDS = 5
AS_OF = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)  # a Tuesday: Europe and the Americas at work, Asia not

ZONES = ["America/New_York", "America/Chicago", "America/Los_Angeles", "Europe/Berlin", "Europe/London", "Asia/Tokyo"]
COUNTRIES = ["US", "US", "US", "CA", "GB", "DE", "DE", "FR", "NL", "JP", "AU", "BR", "IN", None]
REGIONS = {"US": "AMER", "CA": "AMER", "BR": "AMER", "GB": "EMEA", "DE": "EMEA", "FR": "EMEA", "NL": "EMEA"}
REGIONS |= {"JP": "APAC", "AU": "APAC", "IN": "APAC"}
PRODUCTS = ["payments", "analytics", "platform", "billing"]
LANGUAGES = ["en", "de", "fr", "ja", "es"]
INDUSTRIES = ["Software", "Retail", "Financial Services", "Healthcare", None]
SOURCES = ["web_form", "hubspot", "segment", "partner", None]


def generated_file(rng: random.Random) -> dict[str, Any]:
    reps: list[dict[str, Any]] = []
    teams: list[dict[str, Any]] = []
    for t in range(TEAMS):
        team = f"team-{t}"
        members = [f"rep-{t}-{n}" for n in range(REPS // TEAMS - 1)]
        for rep_id in members:
            away = [{"from": "2026-03-09", "to": "2026-03-13"}] if rng.random() < 0.1 else []
            reps.append(
                {
                    "rep_id": rep_id,
                    "name": rep_id.replace("-", " ").title(),
                    "email": f"{rep_id}@example.com",
                    "team": team,
                    "role": "SDR",
                    "skills": {"products": rng.sample(PRODUCTS, 2), "languages": rng.sample(LANGUAGES, 2)},
                    "capacity": rng.choice([10, 20, 30]),
                    "weight": rng.choice([1, 2, 3]),
                    "working_hours": {
                        "time_zone": rng.choice(ZONES),
                        "days": ["mon", "tue", "wed", "thu", "fri"],
                        "start": "09:00",
                        "end": "17:30",
                    },
                    "out_of_office": away,
                    "active": rng.random() > 0.05,
                }
            )
        manager = f"manager-{t}"
        reps.append({**reps[-1], "rep_id": manager, "email": f"{manager}@example.com", "role": "manager"})
        teams.append({"team": team, "members": members, "manager": manager, "fallback_queue": f"{team}-queue"})
    strategies = ["round_robin", "weighted_round_robin", "least_loaded", "skill", "account_owner"]
    rules: list[dict[str, Any]] = [
        {
            "rule_id": f"rule-{n}",
            "when": {"industries": [f"industry-{n}"], "countries": [rng.choice(COUNTRIES[:-1])]},
            "team": f"team-{n % TEAMS}",
            "strategy": strategies[n % len(strategies)],
        }
        for n in range(RULES - 3)
    ]
    rules += [
        {"rule_id": "partners", "when": {"sources": ["partner"]}, "team": "team-0", "strategy": "skill"},
        {"rule_id": "hot", "when": {"priorities": ["immediate"]}, "team": "team-1", "strategy": "least_loaded"},
        {"rule_id": "catch-all", "when": {}, "team": "team-2", "strategy": "weighted_round_robin"},
        {"rule_id": "customers", "applies_to": "customer", "when": {}, "team": "team-3", "strategy": "round_robin"},
        {"rule_id": "expansions", "applies_to": "expansion", "when": {}, "team": "team-3", "strategy": "account_owner"},
    ]
    return {
        "version": "bench",
        "description": "generated",
        "regions": REGIONS,
        "reps": reps,
        "teams": teams,
        "rules": rules,
    }


def generated_leads(rng: random.Random, config: RoutingConfig) -> list[LeadFacts]:
    rep_ids = [rep.rep_id for rep in config.reps]
    return [
        LeadFacts(
            lead_id=f"lead-{n}",
            email=f"lead-{n}@acme.example",
            country=rng.choice(COUNTRIES),
            industry=rng.choice(INDUSTRIES),
            employee_count=rng.choice([None, 8, 60, 400, 2500, 20000]),
            annual_revenue=rng.choice([None, Decimal(2_000_000), Decimal(80_000_000)]),
            product_interest=tuple(rng.sample(PRODUCTS, rng.randrange(3))),
            language=rng.choice([None, *LANGUAGES]),
            score=Decimal(rng.randrange(0, 300)),
            priority=rng.choice(list(Priority)),
            source=rng.choice(SOURCES),
            account_owner=rng.choice([None, None, None, rng.choice(rep_ids)]),
        )
        for n in range(LEADS)
    ]


def generated_loads(rng: random.Random, config: RoutingConfig) -> dict[str, RepLoad]:
    loads = {}
    for rep in config.reps:
        at_capacity = rng.random() < 0.1
        loads[rep.rep_id] = RepLoad(
            rep.rep_id,
            open_handoffs=rep.capacity if at_capacity else rng.randrange(rep.capacity),
            assignments=rng.randrange(200),
        )
    return loads


def plain_rules(config: RoutingConfig) -> list[tuple[dict[str, object], list[str]]]:
    """The same rules as a hand-written router would keep them: {lead attribute: value}, and the team's members."""
    members = {team.team: team.members for team in config.teams}
    plain: list[tuple[dict[str, object], list[str]]] = []
    for rule in config.rules:
        if rule.applies_to.value != "lead":
            continue
        when = rule.when
        checks: dict[str, object] = {}
        if when.industries:
            checks["industry"] = when.industries[0]
        if when.countries:
            checks["country"] = when.countries[0]
        if when.sources:
            checks["source"] = when.sources[0]
        if when.priorities:
            checks["priority"] = when.priorities[0]
        plain.append((checks, members[rule.team]))
    return plain


def _cpu(work: Callable[[], object]) -> float:
    start = time.process_time()
    work()
    return time.process_time() - start


def routing_rows() -> list[tuple[str, str, str, str]]:
    rng = random.Random(SEED)  # noqa: S311 -- reproducible synthetic data, not secrets
    config = parse_routing(generated_file(rng))
    compile_s = statistics.median(_cpu(lambda: compile_routing(config)) for _ in range(ROUNDS))
    router: Router = compile_routing(config)
    leads = generated_leads(rng, config)
    loads = generated_loads(rng, config)
    rules = plain_rules(config)

    def baseline() -> list[str | None]:
        chosen: list[str | None] = []
        for lead in leads:
            for checks, members in rules:
                if all(getattr(lead, field) == value for field, value in checks.items()):
                    chosen.append(members[0])
                    break
            else:
                chosen.append(None)
        return chosen

    def engine() -> list[str | None]:
        return [route(router, lead, loads, AS_OF).rep_id for lead in leads]

    engine()  # warm-up
    base_times, engine_times = [], []
    for _ in range(ROUNDS):  # interleaved, so drift in the machine's speed hits both alike
        base_times.append(_cpu(baseline))
        engine_times.append(_cpu(engine))
    base_rate = len(leads) / statistics.median(base_times)
    engine_rate = len(leads) / statistics.median(engine_times)
    decisions = [route(router, lead, loads, AS_OF) for lead in leads]
    late = sum(d.rule_id in {"partners", "hot", "catch-all"} for d in decisions) / len(decisions)
    queued = sum(d.rep_id is None for d in decisions) / len(decisions)
    skips = sum(len(d.skips) for d in decisions) / len(decisions)
    where = f"{REPS} reps x {RULES} rules"
    return [
        (
            "routing",
            f"first-match loop over plain dicts + first rep (baseline), {where}",
            f"{base_rate:,.0f} /s",
            "1.00",
        ),
        (
            "routing",
            f"decisions/s, {where}",
            f"{engine_rate:,.0f} /s",
            f"{engine_rate / base_rate:.2f}x of baseline loop; {late:.0%} matched in the last 3 rules, "
            f"{queued:.0%} queued, {skips:.1f} skips/decision",
        ),
        ("routing", f"compile_routing, {where}", f"{compile_s * 1000:.2f} ms", "once per cold start"),
    ]


def main() -> int:
    started = time.perf_counter()
    rows = routing_rows()
    header = ("what", "measure", "figure", "ratio / detail")
    widths = [max(len(row[i]) for row in [*rows, header]) for i in range(4)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
    wall = time.perf_counter() - started
    print(f"\nCPU time on one core, median of {ROUNDS} interleaved rounds. Wall time {wall:.1f} s.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
