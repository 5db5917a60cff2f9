"""The sync's writer deletes an erased person's records in each CRM: one call per CRM and kind; a CRM not
configured holds nothing; rate limits wait, outages retry, refusals are dead-lettered; the notices read back."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from shared.adapters.sqs_change_queue import erasure_body, erasure_of, is_erasure, notice_body
from shared.crm.erasure import ErasureNotice, erase_in_crms
from shared.crm.ports import ChangeNotice, CrmRefused, CrmUnavailable, RateLimited


class Crm:
    def __init__(self, fails: Exception | None = None) -> None:
        self.fails = fails
        self.calls: list[tuple[str, list[str]]] = []

    def erase(self, kind: str, crm_ids: Sequence[str]) -> None:
        self.calls.append((kind, list(crm_ids)))
        if self.fails:
            raise self.fails


def test_each_crm_deletes_its_records_in_one_call() -> None:
    hubspot = Crm()
    notices = [ErasureNotice("hubspot", "contact", "501"), ErasureNotice("hubspot", "contact", "502")]
    notices.append(ErasureNotice("salesforce", "contact", "00Q1"))  # Salesforce is not configured here
    report = erase_in_crms(notices, {"hubspot": hubspot})
    assert hubspot.calls == [("contact", ["501", "502"])]
    assert report.erased == notices


@pytest.mark.parametrize(
    ("failure", "outcome"),
    [(RateLimited("429", 12.0), "throttled"), (CrmUnavailable("down"), "retry"), (CrmRefused("401"), "refused")],
)
def test_a_failing_crm_keeps_its_notices_for_later_or_for_the_dead_letters(failure: Exception, outcome: str) -> None:
    notice = ErasureNotice("hubspot", "contact", "501")
    report = erase_in_crms([notice], {"hubspot": Crm(failure)})
    assert report.erased == []
    kept = {"throttled": report.throttled, "retry": report.retry, "refused": [n for n, _ in report.refused]}
    assert kept[outcome] == [notice]
    assert report.retry_after == (12.0 if outcome == "throttled" else None)


def test_an_erasure_notice_reads_back_and_is_told_from_a_change_notice() -> None:
    notice = ErasureNotice("salesforce", "contact", "00Q1", throttled=2)
    assert erasure_of(erasure_body(notice)) == notice
    assert is_erasure(erasure_body(notice))
    assert not is_erasure(notice_body(ChangeNotice("hubspot", "contact:c-1", 3)))
    with pytest.raises(ValueError, match=r"erase\.crm"):
        erasure_of('{"erase": {"crm": "pipedrive", "kind": "contact", "crm_id": "1"}}')
