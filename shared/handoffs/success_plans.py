"""The success plan template (`config/success-plan.json`, versioned, validated at load; an error names the
milestone) and the plan a new customer starts with: each milestone due a number of days after the contract
starts."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shared.errors import InvalidInput

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "config" / "success-plan.json"


class InvalidSuccessPlan(InvalidInput):
    pass


class Milestone(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    milestone_id: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str = Field(min_length=1, max_length=200)
    due_days: int = Field(ge=0, le=3650)
    owner: Literal["csm", "customer"]


class SuccessPlanTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str = Field(min_length=1, max_length=64)
    description: str = ""
    milestones: tuple[Milestone, ...] = Field(min_length=1, max_length=50)
    baseline_metrics: tuple[str, ...] = ()

    @field_validator("milestones")
    @classmethod
    def _unique(cls, milestones: tuple[Milestone, ...]) -> tuple[Milestone, ...]:
        ids = [m.milestone_id for m in milestones]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"milestone ids repeat: {', '.join(repeated)}")
        return milestones


def load_success_plan(path: Path = DEFAULT_PATH) -> SuccessPlanTemplate:
    try:
        return SuccessPlanTemplate.model_validate(json.loads(path.read_text()))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise InvalidSuccessPlan(f"{path.name} is invalid: {problems}") from None


def plan_for(template: SuccessPlanTemplate, starts_on: date) -> dict[str, Any]:
    """The plan as stored on the handoff: the template's version and each milestone with its due date."""
    return {
        "template_version": template.version,
        "starts_on": starts_on.isoformat(),
        "milestones": [
            {
                "milestone_id": m.milestone_id,
                "name": m.name,
                "owner": m.owner,
                "due_on": (starts_on + timedelta(days=m.due_days)).isoformat(),
                "status": "open",
            }
            for m in template.milestones
        ],
    }
