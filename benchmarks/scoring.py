"""Lead-scoring engine throughput on one core, beside a bare baseline measured in the same run.

A deterministic synthetic log (seeded random): 1,000,000 engagement events across 100,000 contacts, with
realistic kinds, paths, content names and topics, ~1% duplicated event ids and ~1% events after `as_of`,
scored against the shipped default model (`config/scoring-model.json`).

- baseline: a bare loop over the same events summing points per event by kind (a dict lookup and an add);
- summarize: the fast path, every contact scored without breakdown;
- score: every contact scored with its full breakdown;
- full rescore: from the flat, unordered log: group by contact, then summarize every contact.

Figures are CPU time (`time.process_time`) on one core; ratios are engine time over baseline time.
Run standalone: `python -m benchmarks.scoring`.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from shared.scoring import Engagement, Profile, compiled, hundredths, load_model, score, summarize, to_us  # noqa: E402

SEED = 20260301
CONTACTS = 100_000
EVENTS = 1_000_000
GOAL_EVENTS_PER_SECOND = 200_000
AS_OF = datetime(2026, 3, 1, tzinfo=UTC)
HISTORY_DAYS = 180

KIND_WEIGHTS = {
    "page_view": 38,
    "email_open": 24,
    "email_click": 8,
    "content_download": 6,
    "track": 8,
    "form_submit": 3,
    "pricing_page_visit": 3,
    "webinar_attended": 2,
    "meeting_booked": 1,
    "meeting_canceled": 1,
    "demo_request": 1,
    "trial_signup": 1,
    "email_bounce_unknown": 4,  # a kind no rule knows: must cost next to nothing
}
PATHS = ["/", "/product", "/integrations/hubspot", "/integrations/stripe", "/blog/revops-101", "/pricing", "/careers"]
CONTENT = [f"Guide {n}: RevOps playbook" for n in range(40)]
TOPICS = [{"topic": "revops"}, {"topic": "sales"}, {"topic": "marketing"}, {}]
TRACK_NAMES = ["Integration Connected", "Workflow Created", "Dashboard Viewed", "Settings Changed"]
TITLES = [
    "Director of Marketing Operations",
    "VP Sales",
    "RevOps Manager",
    "Software Engineer",
    "Chief Revenue Officer",
    "Marketing Intern",
    "Head of Growth",
    "Student",
    "Account Executive",
]
INDUSTRIES = ["Software", "Financial Services", "Retail", "Internet", "Healthcare", None]
COUNTRIES = ["US", "GB", "DE", "BR", "IN", "FR", None]
DOMAINS = ["acme.com", "globex.io", "initech.com", "gmail.com", "yahoo.com", "competitor-one.example"]
DOMAIN_WEIGHTS = [40, 25, 20, 10, 4, 1]


def synthetic_log(
    contacts: int = CONTACTS, events: int = EVENTS, seed: int = SEED
) -> tuple[list[Profile], list[list[Engagement]]]:
    """Profiles and per-contact engagement lists, the same for the same arguments."""
    rng = random.Random(seed)  # noqa: S311 -- reproducible synthetic data, not secrets
    as_of_us = to_us(AS_OF)
    span_us = HISTORY_DAYS * 86_400_000_000
    profiles = [
        Profile(
            email=f"c{n}@{rng.choices(DOMAINS, DOMAIN_WEIGHTS)[0]}",
            job_title=rng.choice(TITLES),
            industry=rng.choice(INDUSTRIES),
            country=rng.choice(COUNTRIES),
            employee_count=rng.choice([5, 60, 350, 2000, 12000, None]),
            annual_revenue=rng.choice([1e6, 2e7, 1e8, 1e9, None]),
        )
        for n in range(contacts)
    ]
    logs: list[list[Engagement]] = [[] for _ in range(contacts)]
    kinds = rng.choices(list(KIND_WEIGHTS), list(KIND_WEIGHTS.values()), k=events)
    owners = [int(contacts * rng.random() ** 2) for _ in range(events)]  # a few contacts are very engaged
    for n in range(events):
        log = logs[owners[n]]
        if log and rng.random() < 0.01:  # a re-delivered event: same id, same content
            log.append(rng.choice(log))
            continue
        kind = kinds[n]
        at = as_of_us - int(rng.random() ** 2 * span_us)  # activity thins out with age
        if rng.random() < 0.01:
            at = as_of_us + rng.randrange(1, 86_400_000_000)  # after as_of: must be ignored
        name = url = path = None
        props: dict[str, Any] = {}
        if kind in ("page_view", "pricing_page_visit"):
            path = "/pricing" if kind == "pricing_page_visit" else rng.choice(PATHS)
            url = "https://revops.example" + path
        elif kind in ("content_download", "webinar_attended"):
            name = rng.choice(CONTENT)
            props = rng.choice(TOPICS)
        elif kind == "track":
            name = rng.choice(TRACK_NAMES)
        log.append(Engagement(f"evt-{n:07d}", at, kind, name, url, path, props))
    return profiles, logs


def _cpu(work: Callable[[], object]) -> float:
    start = time.process_time()
    work()
    return time.process_time() - start


def scoring_rows() -> list[tuple[str, str, str, str]]:
    model = load_model()
    compiled_model = compiled(model)
    profiles, logs = synthetic_log()
    count = sum(len(log) for log in logs)
    flat = [(contact, e) for contact, log in enumerate(logs) for e in log]
    random.Random(SEED + 1).shuffle(flat)  # noqa: S311 -- reproducible order
    points_by_kind: dict[str, int] = {}
    for rule in model.engagement.rules:  # the first rule of each kind, points as hundredths
        points_by_kind.setdefault(rule.kind.value, hundredths(rule.points))

    def baseline() -> int:
        total = 0
        get = points_by_kind.get
        for log in logs:
            for e in log:
                total += get(e[2], 0)
        return total

    def fast() -> list[Any]:
        return [summarize(compiled_model, p, log, AS_OF) for p, log in zip(profiles, logs, strict=True)]

    def explained() -> int:
        # like a rescore job that writes each score out and drops it: breakdowns are not kept in memory
        lines = 0
        for p, log in zip(profiles, logs, strict=True):
            lines += len(score(compiled_model, p, log, AS_OF).engagement_lines)
        return lines

    def rescore() -> list[Any]:
        by_contact: dict[int, list[Engagement]] = {}
        for contact, e in flat:
            by_contact.setdefault(contact, []).append(e)
        return [summarize(compiled_model, profiles[c], by_contact.get(c, ()), AS_OF) for c in range(len(profiles))]

    fast()  # warm-up: caches, lazily built structures
    base_s = min(_cpu(baseline) for _ in range(3))
    fast_s = _cpu(fast)
    explained_s = _cpu(explained)
    rescore_s = _cpu(rescore)
    summaries = fast()
    sample = range(0, len(profiles), 97)
    assert all(summaries[i] == score(compiled_model, profiles[i], logs[i], AS_OF).summary() for i in sample)

    def rate(seconds: float) -> float:
        return count / seconds

    def mark(seconds: float) -> str:
        return " ✓" if rate(seconds) >= GOAL_EVENTS_PER_SECOND else " ✗"

    mql = sum(s.mql for s in summaries)
    handoffs = sum(s.handoff is not None for s in summaries)
    where = f"{count:,} events, {len(logs):,} contacts"
    return [
        (
            "scoring",
            f"bare sum of points per event (baseline), {where}",
            f"{rate(base_s) / 1e6:.2f} M events/s",
            "1.00",
        ),
        (
            "scoring",
            f"summarize (fast path, goal >= {GOAL_EVENTS_PER_SECOND // 1000}k events/s)",
            f"{rate(fast_s) / 1e3:.0f} k events/s",
            f"{fast_s / base_s:.1f}{mark(fast_s)}",
        ),
        (
            "scoring",
            "score (with breakdown)",
            f"{rate(explained_s) / 1e3:.0f} k events/s",
            f"{explained_s / base_s:.1f}{mark(explained_s)}",
        ),
        (
            "scoring",
            "full rescore: group flat log by contact + summarize",
            f"{rescore_s:.2f} s",
            f"{rescore_s / base_s:.1f}; {mql:,} MQLs, {handoffs:,} handoffs",
        ),
    ]


def main() -> int:
    started = time.perf_counter()
    rows = scoring_rows()
    header = ("what", "measure", "figure", "ratio / detail")
    widths = [max(len(row[i]) for row in [*rows, header]) for i in range(4)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
    print(f"\nCPU time on one core; ratio = time / baseline time. Wall time {time.perf_counter() - started:.0f} s.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
