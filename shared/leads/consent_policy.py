"""The consent policy (`config/consent.json`): the purposes a person consents to and their defaults, which
purposes each marketing-only processing needs, and which vendor fields state which purposes. Validated at load;
an error names the purpose, the processing or the vendor it is about."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.config_files import ConfigFile, FileProblems, InvalidConfigFile, SnakeCaseId, repeated_ids

DEFAULT_CONSENT_PATH = Path(__file__).resolve().parent.parent.parent / "config" / "consent.json"
# Where each vendor mapping is read from: both Segment routes carry Segment's consent object.
VENDOR_SOURCES: Mapping[str, tuple[str, ...]] = {
    "segment": ("segment", "segment_api"),
    "hubspot": ("hubspot",),
    "salesforce": ("salesforce",),
}

Description = Annotated[str, Field(max_length=2000)]
FieldName = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[A-Za-z][A-Za-z0-9_ .-]*$")]


class InvalidConsentPolicy(InvalidConfigFile):
    noun = "consent policy"


class ConsentDefault(StrEnum):
    GRANTED = "granted"
    WITHDRAWN = "withdrawn"


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Purpose(_Strict):
    id: SnakeCaseId
    default: ConsentDefault = Field(description="The state of a purpose the person has stated nothing about")
    description: Description = ""

    @property
    def granted_by_default(self) -> bool:
        return self.default is ConsentDefault.GRANTED


class TrackedEngagement(_Strict):
    """Which engagements are tracking's, and what scoring them needs."""

    requires: tuple[SnakeCaseId, ...] = Field(min_length=1)
    sources: tuple[Annotated[str, Field(min_length=1, max_length=64)], ...] = Field(min_length=1)
    exempt_kinds: tuple[Annotated[str, Field(min_length=1, max_length=64)], ...] = ()
    description: Description = ""


class Nurture(_Strict):
    requires: tuple[SnakeCaseId, ...] = Field(min_length=1)
    description: Description = ""


class Processing(_Strict):
    tracked_engagement: TrackedEngagement
    nurture: Nurture


class VendorMapping(_Strict):
    """One vendor's consent fields: Segment's categories (true grants, false withdraws) or a CRM's opt-out flags
    (true withdraws; false grants again only what that CRM withdrew)."""

    id: Literal["segment", "hubspot", "salesforce"]
    description: Description = ""
    categories: dict[FieldName, tuple[SnakeCaseId, ...]] = Field(default_factory=dict)
    opt_out_fields: dict[FieldName, tuple[SnakeCaseId, ...]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_kind(self) -> VendorMapping:
        if self.id == "segment" and (self.opt_out_fields or not self.categories):
            raise ValueError("Segment states consent by `categories` (context.consent.categoryPreferences) only")
        if self.id != "segment" and (self.categories or not self.opt_out_fields):
            raise ValueError(f"{self.id} states consent by `opt_out_fields` only")
        for name, purposes in (self.categories | self.opt_out_fields).items():
            if not purposes:
                raise ValueError(f"{name}: names no purpose")
        return self

    @property
    def fields(self) -> dict[str, tuple[str, ...]]:
        return self.categories or self.opt_out_fields

    @property
    def sources(self) -> tuple[str, ...]:
        return VENDOR_SOURCES[self.id]


class ConsentPolicy(_Strict):
    version: Annotated[str, Field(min_length=1, max_length=40)]
    description: Description = ""
    purposes: tuple[Purpose, ...] = Field(min_length=1)
    processing: Processing
    vendors: tuple[VendorMapping, ...] = ()

    @model_validator(mode="after")
    def _whole_file(self) -> ConsentPolicy:
        problems: list[str] = []
        for repeated in repeated_ids([p.id for p in self.purposes]):
            problems.append(f'purpose "{repeated}": listed twice')
        for repeated in repeated_ids([v.id for v in self.vendors]):
            problems.append(f'vendor "{repeated}": listed twice')
        known = {p.id for p in self.purposes}
        for name, requires in (
            ("tracked_engagement", self.processing.tracked_engagement.requires),
            ("nurture", self.processing.nurture.requires),
        ):
            for purpose in requires:
                if purpose not in known:
                    problems.append(f'processing "{name}": requires {purpose!r}, which is not among the purposes')
        for vendor in self.vendors:
            for name, purposes in vendor.fields.items():
                for purpose in purposes:
                    if purpose not in known:
                        problems.append(f'vendor "{vendor.id}": {name}: {purpose!r} is not among the purposes')
        if problems:
            raise FileProblems(problems)
        return self

    def purpose(self, purpose_id: str) -> Purpose | None:
        return next((p for p in self.purposes if p.id == purpose_id), None)

    @property
    def purpose_ids(self) -> tuple[str, ...]:
        return tuple(p.id for p in self.purposes)

    def vendor_for(self, source_vendor: str) -> VendorMapping | None:
        """The mapping that reads consent from events of `source_vendor` (`segment_api` is Segment's)."""
        return next((v for v in self.vendors if source_vendor in v.sources), None)


_FILE: ConfigFile[ConsentPolicy] = ConfigFile(
    "consent policy", ConsentPolicy, InvalidConsentPolicy, {"purposes": ("purpose", "id"), "vendors": ("vendor", "id")}
)


def parse_consent_policy(data: Mapping[str, Any] | str | bytes) -> ConsentPolicy:
    return _FILE.parse(data)


def load_consent_policy(path: str | Path | None = None) -> ConsentPolicy:
    return _FILE.load(Path(path) if path is not None else DEFAULT_CONSENT_PATH)


@functools.cache
def shipped_consent_policy() -> ConsentPolicy:
    """`config/consent.json`, read once per process."""
    return load_consent_policy()
