"""The audit file: a versioned JSON document (`config/audit.json`) and the pydantic schema it must meet.

    retention_days  how long a record is kept: DynamoDB's TTL removes it this many days after it was made
                    (1 to 3,650; an audit trail is usually kept a year or more)
    max_targets     the most targets (ids a request was about) one record keeps and indexes; a spend batch
                    names one per line. Past it the record counts the rest (`targets_omitted`). 1 to 1,000:
                    each target is an index entry written with the record

Unknown fields are refused (a typo must not pass silently).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from shared.config_files import ConfigFile, InvalidConfigFile

DEFAULT_AUDIT_PATH = Path(__file__).resolve().parent.parent.parent / "config" / "audit.json"


class InvalidAuditConfig(InvalidConfigFile):
    noun = "audit file"


class AuditConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str = Field(min_length=1, max_length=80)
    description: str = ""
    retention_days: Annotated[StrictInt, Field(ge=1, le=3650)]
    max_targets: Annotated[StrictInt, Field(ge=1, le=1000)] = 500


_FILE: ConfigFile[AuditConfig] = ConfigFile("audit file", AuditConfig, InvalidAuditConfig, {})


def parse_audit_config(data: Mapping[str, Any] | str | bytes) -> AuditConfig:
    return _FILE.parse(data)


def load_audit_config(path: str | Path | None = None) -> AuditConfig:
    """Read and validate the audit file (default: `config/audit.json` of this repository)."""
    return _FILE.load(Path(path) if path is not None else DEFAULT_AUDIT_PATH)


@cache
def shipped_audit_config() -> AuditConfig:
    """The deployed file, read once per process (the request chokepoint reads it at the first audited request)."""
    return load_audit_config()
