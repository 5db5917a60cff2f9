"""The scoring model in force, the same in every function: the one `make rescore` applied last, else the one
shipped with the code.

A running function would otherwise keep the model it loaded at its cold start, and a rescore would leave
the list of leads (stored scores, new model) disagreeing with a lead's profile (recomputed, old model). So
every use case asks which version is in force (one small read), versions are immutable once applied (a
version is read once per function, then cached), and a lead is explained with the model it was scored with.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from shared.leads.ports import AppliedModel, ScoringModelStore
from shared.scoring.model import ScoringModel, parse_model


def document_of(model: ScoringModel) -> str:
    """The model as stored: canonical JSON, so the same rules always hash the same."""
    return json.dumps(model.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))


def applied_model(model: ScoringModel, at: datetime) -> AppliedModel:
    document = document_of(model)
    return AppliedModel(model.version, document, hashlib.sha256(document.encode()).hexdigest(), at)


class ScoringModels:
    def __init__(self, shipped: ScoringModel, store: ScoringModelStore | None = None) -> None:
        self._shipped = shipped
        self._store = store
        self._by_version: dict[str, ScoringModel] = {shipped.version: shipped}

    @property
    def shipped(self) -> ScoringModel:
        return self._shipped

    def current(self) -> ScoringModel:
        """The model in force now."""
        active = self._store.active_version() if self._store is not None else None
        if active is None:
            return self._shipped
        return self.version(active) or self._shipped

    def version(self, version: str) -> ScoringModel | None:
        """A model that was in force at some point (what a stored score was computed with)."""
        if version not in self._by_version:
            applied = self._store.applied(version) if self._store is not None else None
            if applied is None:
                return None
            self._by_version[version] = parse_model(applied.document)
        return self._by_version[version]

    def apply(self, model: ScoringModel, at: datetime) -> None:
        """Make `model` the one in force everywhere (the leads still need rescoring with it)."""
        if self._store is None:
            raise RuntimeError("no model store: this service scores with its shipped model only")
        self._store.apply(applied_model(model, at))
        self._by_version[model.version] = model
