"""One payment counted once (pure): Stripe tells one payment on several objects, each its own event and so its
own signal (`invoice.paid` and `invoice.payment_succeeded` on the invoice, `payment_intent.succeeded` on its
payment intent, `charge.succeeded` on its charge; failures likewise). Every reader of payments (the failed
payments, the days past due, the annual revenue) reads them through this module.

The rule: a payment is known by its payment key, the invoice it names (`invoice_id`: the invoice's own id, or
the invoice a charge or payment intent names), else the id of the object it came on (what a signal keeps as
`invoice_id` already, `shared.success.signals`), else, naming neither, the signal itself (a payment of its own).
Signals of one kind under one key are one payment: the first of them (by time, then signal id) stands for it,
its time and amount counted, the others not. A recomputation over the same log counts the same.

A failure is outstanding until a success of the same payment key follows it (a success of another invoice pays
nothing of it). A failure or a success that names no payment (no key of its own) is the old, blunt case: a
success without a key settles every failure before it, and a failure without a key is settled by any success
after it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from shared.success.signals import Signal, SignalKind

PAYMENT_KINDS = (SignalKind.PAYMENT_SUCCEEDED, SignalKind.PAYMENT_FAILED)


def payment_key(signal: Signal) -> str | None:
    """The payment a payment signal is about (its invoice, else its object), or None when it names none."""
    key = signal.values.get("invoice_id")
    return str(key) if isinstance(key, str | int) and not isinstance(key, bool) and str(key) else None


def _key(signal: Signal) -> str:
    key = payment_key(signal)
    return f"payment:{key}" if key is not None else f"signal:{signal.signal_id}"


def _ordered(signals: Iterable[Signal]) -> list[Signal]:
    return sorted(signals, key=lambda s: (s.at, s.signal_id))


def once(signals: Iterable[Signal], kind: SignalKind) -> list[Signal]:
    """The signals of `kind`, one per payment: the first of each payment key (time, then signal id), oldest
    first."""
    seen: set[str] = set()
    kept: list[Signal] = []
    for signal in _ordered(s for s in signals if s.kind is kind):
        key = _key(signal)
        if key not in seen:
            seen.add(key)
            kept.append(signal)
    return kept


def failed_since(signals: Iterable[Signal], start: datetime) -> int:
    """How many payments failed after `start`: distinct payment keys of the failures after it (one payment
    failing on two objects is one)."""
    return len({_key(s) for s in signals if s.kind is SignalKind.PAYMENT_FAILED and s.at > start})


def outstanding(signals: Iterable[Signal]) -> dict[str, Signal]:
    """Per payment key, the first failure not settled since (by a later success of the same key, or any later
    success when either names no payment): what the days past due count from."""
    open_failures: dict[str, Signal] = {}
    for signal in _ordered(s for s in signals if s.kind in PAYMENT_KINDS):
        key, named = _key(signal), payment_key(signal) is not None
        if signal.kind is SignalKind.PAYMENT_SUCCEEDED:
            if not named:
                open_failures.clear()
            else:
                open_failures.pop(key, None)
                for unnamed in [k for k in open_failures if k.startswith("signal:")]:
                    del open_failures[unnamed]
        else:
            open_failures.setdefault(key, signal)
    return open_failures
