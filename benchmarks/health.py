"""Customer health recomputation in process, on one core: how many accounts a second are evaluated from their
signal logs, beside a baseline measured in the same run.

- A deterministic synthetic signal log (seeded per account) for N accounts (default 100,000,
  BENCH_HEALTH_ACCOUNTS), over the ~13 months the service reads back: 3 to 6 usage reports (active users,
  licensed seats, API calls, 3 to 9 of 12 features), 0 to 4 support tickets (most solved hours to days later;
  some high or urgent), an NPS answer (most accounts), 4 to 12 monthly payments (about 1 in 10 failed), 1 to 2
  subscription changes (mostly active; some trialing, past due, canceled or downgraded) and 0 to 3 CSM touches:
  about 20 signals an account.
- baseline: a bare weighted sum, per account a plain Python weighted mean (in hundredths, rounded half up, plain
  ints) of 11 precomputed integer scores under the model's 11 weights.
- evaluate: `shared.success.engine.evaluate(model, signals, as_of)` of every account under the shipped model
  (`config/health-model.json`): 14 measures read from the window, thresholds, caps, the exact breakdown.
- evaluate + trend: the same, then `trend_of` (two more evaluations, 7 and 30 days before): what the service
  does on every recompute, the churn-risk look-back aside.

CPU time (`time.process_time`), accounts generated outside the timed part, in chunks of 5,000. When the engine
rows take more than ~60 s of CPU together, the run stops after the chunk that passes it: the rates are over
those K accounts, and the rows say so.

    python -m benchmarks.health [--accounts 100000]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from shared.success.engine import Health, evaluate, trend_of  # noqa: E402
from shared.success.model import HealthModel, load_health_model  # noqa: E402
from shared.success.signals import Signal, SignalKind  # noqa: E402

SEED = 20261120
AS_OF = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
DAY = 86_400
FEATURES = (
    "reports",
    "exports",
    "alerts",
    "api",
    "sso",
    "dashboards",
    "workflows",
    "forecasts",
    "sequences",
    "mobile",
    "audit_log",
    "custom_fields",
)
PRIORITIES = ("low", "normal", "normal", "high", "urgent", None)
STATUSES = ("active",) * 14 + ("trialing", "past_due", "canceled", "unpaid")
CHUNK = 5_000  # accounts generated at a time
BUDGET_SECONDS = 60.0  # the engine rows together; measured on fewer accounts when all N would take longer


def _at(days_ago: float) -> datetime:
    return AS_OF - timedelta(seconds=int(days_ago * DAY))


def account_log(number: int) -> list[Signal]:
    """Account `number`'s signals, seeded by its number (any slice of accounts is the same accounts), in no order."""
    rng = random.Random(SEED * 1_000_003 + number)  # noqa: S311 -- reproducible synthetic data
    prefix = f"a{number}"
    out: list[Signal] = []

    def add(signal_kind: SignalKind, days_ago: float, **values: object) -> None:
        out.append(Signal(f"{prefix}-{len(out):02d}", signal_kind, _at(days_ago), values))

    seats = rng.choice((5, 10, 20, 50, 100, 250))
    used = rng.sample(FEATURES, rng.randint(3, 9))
    active = max(1, int(seats * rng.uniform(0.2, 1.0)))
    last_report = rng.uniform(0, 10)
    for k in range(rng.randint(3, 6)):  # roughly monthly, the latest first
        features = {name: rng.randrange(0, 400) for name in used if rng.random() < 0.8}
        add(
            SignalKind.USAGE,
            last_report + 28 * k + rng.uniform(0, 4),
            active_users=active,
            licensed_seats=seats,
            api_calls=rng.randrange(0, 50_000),
            features=features,
        )
        active = max(0, min(seats, active + rng.randint(-seats // 5, seats // 5)))
    for k in range(rng.choice((0, 0, 1, 1, 2, 3, 4))):
        ticket = f"zendesk:{number}-{k}"
        opened = rng.uniform(0, 120)
        add(SignalKind.TICKET_OPENED, opened, ticket_id=ticket, priority=rng.choice(PRIORITIES))
        if rng.random() < 0.75:  # solved hours to days later, not after as_of
            add(SignalKind.TICKET_SOLVED, max(0.0, opened - rng.uniform(0.05, 6)), ticket_id=ticket)
    if rng.random() < 0.7:
        add(SignalKind.NPS, rng.uniform(0, 170), nps=rng.choices(range(11), (2, 1, 1, 2, 2, 3, 4, 8, 10, 9, 8))[0])
    for k in range(rng.randint(4, 12)):  # monthly invoices, the latest first
        kind = SignalKind.PAYMENT_FAILED if rng.random() < 0.1 else SignalKind.PAYMENT_SUCCEEDED
        add(kind, 1 + 30 * k + rng.uniform(0, 2), invoice_id=f"in_{number}_{k}")
    subscription = f"sub_{number}"
    changes = rng.randint(1, 2)
    quantity = seats
    changed = rng.uniform(60, 360)
    for k in range(changes):  # the older first
        if k:
            changed = rng.uniform(0, changed)
            if rng.random() < 0.3:
                quantity = max(1, quantity - rng.randint(1, max(1, seats // 4)))
        status = rng.choice(STATUSES) if k == changes - 1 else "active"
        add(
            SignalKind.SUBSCRIPTION,
            changed,
            subscription_id=subscription,
            status=status,
            change="updated" if k else "created",
            quantity=quantity,
        )
    for _ in range(rng.choice((0, 1, 1, 2, 3))):
        add(SignalKind.TOUCH, rng.uniform(0, 150), kind="meeting_booked")
    rng.shuffle(out)  # the engine takes a log in any order
    return out


def account_scores(number: int, measures: int) -> list[int]:
    """The baseline's precomputed per-measure scores of account `number` (0-100)."""
    rng = random.Random(SEED * 7 + number)  # noqa: S311 -- reproducible synthetic data
    return [rng.randrange(101) for _ in range(measures)]


def weighted_mean(weights: list[int], scores: list[int]) -> int:
    """The baseline: the weighted mean of plain ints, in hundredths, rounded half up."""
    total = 0
    weight_sum = 0
    for weight, score in zip(weights, scores, strict=True):
        total += weight * score
        weight_sum += weight
    return (total * 200 + weight_sum) // (2 * weight_sum)


def measure(model: HealthModel, count: int) -> tuple[int, int, float, float, float, Counter[str | None]]:
    """(accounts done, signals, baseline seconds, evaluate seconds, evaluate + trend seconds, bands)."""
    weights = [m.weight for m in model.measures]
    base_seconds = evaluate_seconds = trend_seconds = 0.0
    done = signals = 0
    bands: Counter[str | None] = Counter()
    while done < count:
        numbers = range(done, min(done + CHUNK, count))
        logs = [account_log(n) for n in numbers]
        scores = [account_scores(n, len(weights)) for n in numbers]
        started = time.process_time()
        means = [weighted_mean(weights, s) for s in scores]
        base_seconds += time.process_time() - started
        started = time.process_time()
        healths = [evaluate(model, log, AS_OF) for log in logs]
        evaluate_seconds += time.process_time() - started
        started = time.process_time()
        for log in logs:
            trend_of(model, log, evaluate(model, log, AS_OF))
        trend_seconds += time.process_time() - started
        if len(means) != len(healths):
            raise AssertionError("the baseline and the engine saw different accounts")
        bands.update(h.band for h in healths)
        _check(healths)
        signals += sum(len(log) for log in logs)
        done += len(logs)
        if done < count and evaluate_seconds + trend_seconds >= BUDGET_SECONDS:
            break  # the budget is spent before all N: the rates over the accounts evaluated so far
    return done, signals, base_seconds, evaluate_seconds, trend_seconds, bands


def _check(healths: list[Health]) -> None:
    """The breakdown sums to the score exactly: the engine did the whole work, not a shortcut."""
    for health in healths:
        if health.score_hundredths is None:
            continue
        shares = sum(line.contribution_hundredths for line in health.lines)
        if shares + sum(a.hundredths for a in health.adjustments) != health.score_hundredths:
            raise AssertionError(f"a breakdown does not sum to its score: {health}")


def health_rows(count: int | None = None) -> list[tuple[str, str, str, str]]:
    if count is None:
        count = int(os.environ.get("BENCH_HEALTH_ACCOUNTS", "100000"))
    model = load_health_model()
    done, signals, base_seconds, evaluate_seconds, trend_seconds, bands = measure(model, count)
    baseline = done / base_seconds
    measured = "" if done == count else f" (measured on {done:,} accounts)"
    shares = ", ".join(f"{bands[band] / done:.0%} {band or 'n/a'}" for band in ("green", "yellow", "red", None))
    rows = [
        (
            "health",
            f"bare weighted mean of {len(model.measures)} precomputed int scores, {count:,} accounts (baseline)"
            + measured,
            f"{baseline:,.0f} accounts/s",
            "1.00",
        )
    ]
    for what, seconds in (
        (
            f"evaluate: {len(model.measures)} measures from ~{signals / done:.0f} signals/account, caps, breakdown "
            f"({shares}), one core",
            evaluate_seconds,
        ),
        ("evaluate + trend_of (3 evaluations: now, 7 and 30 days before), one core", trend_seconds),
    ):
        ours = done / seconds
        rows.append(
            (
                "health",
                what + measured,
                f"{ours:,.0f} accounts/s",
                f"{ours / baseline:.4f} ({baseline / ours:,.0f}x the baseline's time)",
            )
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=int(os.environ.get("BENCH_HEALTH_ACCOUNTS", "100000")))
    arguments = parser.parse_args()
    for row in health_rows(arguments.accounts):
        print("  ".join(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
