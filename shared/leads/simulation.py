"""What-if scoring: a candidate model applied to the stored engagement logs, compared with the current one,
without changing anything. Both are scored as of the same moment, so the difference is the model's alone."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from shared.leads.lifecycle import next_stages
from shared.leads.model import Contact, Stage
from shared.leads.ports import LeadRepository
from shared.leads.service import LeadService
from shared.scoring.compiler import compiled
from shared.scoring.engine import summarize
from shared.scoring.model import ScoringModel

TOP = 20


@dataclass(frozen=True)
class LeadComparison:
    contact: Contact
    current: float
    candidate: float
    mql_now: bool
    mql_candidate: bool
    predicted_stage: Stage

    @property
    def delta(self) -> float:
        return round(self.candidate - self.current, 2)


@dataclass
class Simulation:
    current_model: str
    candidate_model: str
    as_of: datetime
    compared: list[LeadComparison] = field(default_factory=list)
    truncated: bool = False

    @property
    def would_reach_mql(self) -> list[LeadComparison]:
        return [c for c in self.compared if c.mql_candidate and not c.mql_now]

    @property
    def would_drop_below_mql(self) -> list[LeadComparison]:
        return [c for c in self.compared if c.mql_now and not c.mql_candidate]

    @property
    def stage_changes(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for c in self.compared:
            if c.predicted_stage is not c.contact.stage:
                key = f"{c.contact.stage.value} -> {c.predicted_stage.value}"
                counts[key] = counts.get(key, 0) + 1
        return dict(sorted(counts.items()))

    @property
    def mean_delta(self) -> float:
        return round(sum(c.delta for c in self.compared) / len(self.compared), 2) if self.compared else 0.0

    def largest(self, increases: bool) -> list[LeadComparison]:
        moved = [c for c in self.compared if (c.delta > 0 if increases else c.delta < 0)]
        return sorted(moved, key=lambda c: -abs(c.delta))[:TOP]


def simulate(
    service: LeadService, repository: LeadRepository, candidate: ScoringModel, as_of: datetime, limit: int
) -> Simulation:
    current_compiled, candidate_compiled = compiled(service.model), compiled(candidate)
    result = Simulation(service.model.version, candidate.version, as_of)
    for position, contact_id in enumerate(repository.contact_ids()):
        if position >= limit:
            result.truncated = True
            break
        contact = repository.contact(contact_id)
        if contact is None or contact.merged_into:
            continue
        profile, engagements = service.inputs(contact, as_of=as_of)
        now = summarize(current_compiled, profile, engagements, as_of)
        then = summarize(candidate_compiled, profile, engagements, as_of)
        moves = next_stages(contact.stage, identified=contact.is_identified, mql=then.mql)
        result.compared.append(
            LeadComparison(
                contact=contact,
                current=now.total_hundredths / 100,
                candidate=then.total_hundredths / 100,
                mql_now=now.mql,
                mql_candidate=then.mql,
                predicted_stage=moves[-1].to if moves else contact.stage,
            )
        )
    return result
