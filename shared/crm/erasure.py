"""A person erased from the hub is deleted from the CRMs too (issue 15 §2): the privacy API queues an erasure
notice per CRM record of the person on the sync queue, and the sync's writer deletes each record in its CRM
(HubSpot: the GDPR delete, which also keeps the email from coming back; Salesforce: the Lead's or Contact's
delete). A record the CRM no longer has is done; a rate-limited CRM's notices wait out its Retry-After; one
that is down gets them again after the queue's visibility timeout; one that refuses them for good sends them to
the dead-letter queue with its reason.

A record the writer was creating when the person was erased (its create's claim there, its CRM id unknown: in
flight, or its answer lost) is found by the values the create was matched on (`match_field`, `match_values`: the
person's email) and deleted: its notice is queued to be read once the create can no longer be in flight
(`CREATE_IN_FLIGHT_SECONDS`), and a create answered after the erasure is reported by the writer itself
(`WriteReport.erased_meanwhile`). Those values never go on the queue (nor so in its dead-letter queue): the
erasure keeps them in the sync's table under a reference (`lookup`: the crm and the synced record's key, no
personal data), the notice carries the reference, and the writer reads them there (`ErasureLookups`) and deletes
them once the CRM's record is deleted."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from shared.crm.ports import CrmName, CrmRefused, CrmUnavailable, ObjectKind, RateLimited

CRM_NAMES: tuple[CrmName, ...] = ("hubspot", "salesforce")
OBJECT_KINDS: tuple[ObjectKind, ...] = ("contact", "account", "deal")
# How long a create may be in flight: a writer's claim on one holds this long (longer than the writer's function
# runs), and an erasure notice that finds a record by its values waits this long before it is read
CREATE_IN_FLIGHT_SECONDS = 60


@dataclass(frozen=True)
class ErasureNotice:
    """Delete `crm_id` (a record of the hub's `kind`) in `crm`. Carries the CRM id itself: the hub's synced
    record is erased by the time the writer reads the notice. Or, `crm_id` empty, the records whose
    `match_field` holds one of `match_values` (a create whose answer never came: the CRM id is not known): on the
    queue only `lookup`, the reference under which the erasure kept them (`ErasureLookups`); the values are read
    when the notice is handled. (A notice queued before lookups were kept carries the values themselves.)"""

    crm: CrmName
    kind: ObjectKind
    crm_id: str
    throttled: int = 0
    match_field: str | None = None
    match_values: tuple[str, ...] = ()
    lookup: str | None = None


class ErasureLookups(Protocol):
    """Where an erasure keeps the values a CRM's record is found by (`ErasureNotice.lookup`) until it is deleted."""

    def values(self, crm: CrmName, lookup: str) -> tuple[str, tuple[str, ...]] | None:
        """The field and values kept under the reference; None: none (deleted once their records were)."""
        ...

    def forget(self, crm: CrmName, lookup: str) -> None:
        """Delete the values kept under the reference (their records are deleted in the CRM)."""
        ...


@dataclass
class ErasureReport:
    erased: list[ErasureNotice] = field(default_factory=list)
    retry: list[ErasureNotice] = field(default_factory=list)
    throttled: list[ErasureNotice] = field(default_factory=list)
    refused: list[tuple[ErasureNotice, str]] = field(default_factory=list)
    retry_after: float | None = None


def erase_in_crms(
    notices: Sequence[ErasureNotice], clients: Mapping[CrmName, Any], lookups: ErasureLookups | None = None
) -> ErasureReport:
    """One `erase` call per CRM and kind. A CRM the hub is not configured for holds nothing of the hub's: done.
    A notice by reference (`lookup`) has its values read from `lookups` first: none kept means an earlier notice
    deleted its records (done); they are deleted once the CRM's records are. The report lists the notices as they
    were given."""
    report = ErasureReport()
    groups: dict[tuple[CrmName, ObjectKind], list[ErasureNotice]] = {}
    given: dict[ErasureNotice, ErasureNotice] = {}  # a notice with its kept values -> the notice as given
    for notice in notices:
        if notice.lookup and not notice.match_field:
            if lookups is None:
                report.refused.append((notice, "an erasure by reference needs the store that keeps its values"))
                continue
            try:
                kept = lookups.values(notice.crm, notice.lookup)
            except Exception:  # the store failing: retried
                report.retry.append(notice)
                continue
            if kept is None:
                report.erased.append(notice)  # its values were deleted with the records they found
                continue
            resolved = replace(notice, match_field=kept[0], match_values=kept[1])
            given[resolved] = notice
            notice = resolved
        groups.setdefault((notice.crm, notice.kind), []).append(notice)
    for (crm, kind), group in groups.items():
        client = clients.get(crm)
        if client is None:
            report.erased += group
            continue
        erase = getattr(client, "erase", None)
        if erase is None:
            report.refused += [(n, f"the {crm} client cannot delete records") for n in group]
            continue
        try:
            crm_ids = list(dict.fromkeys([*(n.crm_id for n in group if n.crm_id), *_found(client, kind, group)]))
            if crm_ids:
                erase(kind, crm_ids)
        except RateLimited as exc:
            report.throttled += group
            report.retry_after = max(report.retry_after or 0.0, exc.retry_after)
        except CrmUnavailable:
            report.retry += group
        except CrmRefused as exc:
            report.refused += [(n, str(exc)) for n in group]
        else:
            report.erased += group
    return _as_given(report, given, lookups)


def _as_given(
    report: ErasureReport, given: Mapping[ErasureNotice, ErasureNotice], lookups: ErasureLookups | None
) -> ErasureReport:
    """The report with the notices as given (no values), the values of those erased forgotten: one whose values
    cannot be deleted is retried (its next run finds nothing more, and deletes them)."""
    if not given:
        return report
    erased, retry = [], [given.get(n, n) for n in report.retry]
    for notice in report.erased:
        original = given.get(notice, notice)
        if original is not notice and lookups is not None and original.lookup:
            try:
                lookups.forget(original.crm, original.lookup)
            except Exception:  # the store failing: the notice is retried
                retry.append(original)
                continue
        erased.append(original)
    report.erased, report.retry = erased, retry
    report.throttled = [given.get(n, n) for n in report.throttled]
    report.refused = [(given.get(n, n), reason) for n, reason in report.refused]
    return report


def _found(client: Any, kind: ObjectKind, notices: Sequence[ErasureNotice]) -> list[str]:
    """The ids of the records the notices find by their values (`client.find`), per field; none to find: []."""
    wanted: dict[str, list[str]] = {}
    for notice in notices:
        if notice.match_field and notice.match_values:
            wanted.setdefault(notice.match_field, []).extend(notice.match_values)
    if not wanted:
        return []
    find = getattr(client, "find", None)
    if find is None:
        raise CrmRefused("the client cannot look records up by a value")
    return [crm_id for name, values in wanted.items() for crm_id in find(kind, name, list(dict.fromkeys(values)))]
