"""Product analytics and launches (seed 002), from the accounts' usage signals: feature use and adoption, the
active-user trend, usage against the plan's seats, and how a launched feature is taken up by the accounts it
targets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from shared.success.signals import Signal, SignalKind

ANALYTICS_WINDOW_DAYS = 90
RATIO_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class FeatureUse:
    feature: str
    events: int  # over the window
    last_used: datetime


@dataclass(frozen=True)
class Analytics:
    features: list[FeatureUse]  # most used first
    adoption: Decimal | None  # features used in the window / features ever used (None: never any)
    active_users: list[tuple[datetime, int]]  # the window's reports, oldest first
    licensed_seats: int | None
    seat_utilization: Decimal | None
    api_calls: int  # over the window


def analytics_of(signals: Sequence[Signal], now: datetime) -> Analytics:
    start = now - timedelta(days=ANALYTICS_WINDOW_DAYS)
    reports = sorted((s for s in signals if s.kind is SignalKind.USAGE and s.at <= now), key=lambda s: s.at)
    recent = [r for r in reports if r.at > start]
    totals: dict[str, int] = {}
    last: dict[str, datetime] = {}
    for report in recent:
        for name, events in (report.values.get("features") or {}).items():
            if events > 0:
                totals[name] = totals.get(name, 0) + events
                last[name] = report.at
    ever = {name for r in reports for name, events in (r.values.get("features") or {}).items() if events > 0}
    latest = next((r for r in reversed(recent) if r.values.get("licensed_seats")), None)
    seats = latest.values["licensed_seats"] if latest else None
    active = latest.values.get("active_users") if latest else None
    return Analytics(
        features=sorted((FeatureUse(n, totals[n], last[n]) for n in totals), key=lambda f: (-f.events, f.feature)),
        adoption=(Decimal(len(totals)) / len(ever)).quantize(RATIO_PLACES) if ever else None,
        active_users=[
            (r.at, int(r.values["active_users"])) for r in recent if r.values.get("active_users") is not None
        ],
        licensed_seats=seats,
        seat_utilization=(Decimal(active) / seats).quantize(RATIO_PLACES) if seats and active is not None else None,
        api_calls=sum(int(r.values.get("api_calls") or 0) for r in recent),
    )


@dataclass(frozen=True)
class Launch:
    launch_id: str
    feature: str
    launch_date: date
    target_bands: tuple[str, ...]  # the health bands it targets (all when empty)
    messaging: str
    created_at: datetime
    digest: str = ""  # of the body as sent: the same id with another body is a conflict
    target_tenants: tuple[str, ...] = field(default_factory=tuple)  # resolved when it was scheduled
    target_segments: tuple[str, ...] = ()  # the customer segments it targets (all when empty)

    def targets(self, band: str | None, segment: str | None) -> bool:
        """Whether an account of this band and segment is one it targets."""
        in_bands = not self.target_bands or band in self.target_bands
        return in_bands and (not self.target_segments or segment in self.target_segments)


@dataclass(frozen=True)
class LaunchAdoption:
    targeted: int
    adopted: list[str]  # the targeted accounts that used the feature since the launch date

    @property
    def rate(self) -> Decimal | None:
        return (Decimal(len(self.adopted)) / self.targeted).quantize(RATIO_PLACES) if self.targeted else None


def adoption_of(launch: Launch, logs: Mapping[str, Sequence[Signal]]) -> LaunchAdoption:
    """How many of the launch's target accounts used its feature on or after the launch date."""
    adopted = [
        tenant
        for tenant in launch.target_tenants
        if any(
            s.kind is SignalKind.USAGE
            and s.at.date() >= launch.launch_date
            and (s.values.get("features") or {}).get(launch.feature, 0) > 0
            for s in logs.get(tenant, ())
        )
    ]
    return LaunchAdoption(len(launch.target_tenants), sorted(adopted))
