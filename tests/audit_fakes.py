"""The audit trail in memory: the same contract as `shared.adapters.dynamodb_audit.DynamoDbAuditStore`
(`tests/integration/test_audit_store_contract.py`), for unit tests of what records requests and runs."""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.audit.ports import AuditUnavailable
from shared.audit.query import AuditPage, AuditQuery, Key, found_under, position_of
from shared.audit.record import AuditRecord, Phase


@dataclass
class InMemoryAuditStore:
    records: list[AuditRecord] = field(default_factory=list)
    unavailable: bool = False  # every append fails, as when DynamoDB refuses or does not answer
    appends: int = 0

    def append(self, record: AuditRecord) -> None:
        self.appends += 1
        if self.unavailable:
            raise AuditUnavailable("the audit table does not answer (fake)")
        if any((r.request_id, r.phase, r.at) == (record.request_id, record.phase, record.at) for r in self.records):
            return  # stored before: append-only, a retry changes nothing
        self.records.append(record)

    def search(self, query: AuditQuery) -> AuditPage:
        found: list[tuple[str, AuditRecord, str | None]] = []
        completed = {r.request_id for r in self.records if r.phase is Phase.COMPLETED}
        for record in self.records:
            # a write's receipt: listed by its actor, route and targets (never by time), while its outcome is missing
            listed = record.listed or query.key is Key.REQUEST
            if not listed and (query.key is Key.TIME or record.request_id in completed):
                continue
            position = position_of(record)
            found += [(position, record, t) for t in found_under(query, record) if query.matches(record, position, t)]
        found.sort(key=lambda entry: entry[0], reverse=True)
        page = found[: query.limit]
        more = query.key is not Key.REQUEST and len(page) == query.limit
        return AuditPage([(record, target) for _, record, target in page], page[-1][0] if more else None)
