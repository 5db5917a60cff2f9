"""Spend and budgets on the running hub, as finance would check them: a month's budget, a CSV of 1,000 spend
lines in mixed currencies imported twice (stored once), budget figures equal to a recomputation by hand from
the CSV to the cent, the 80 % and 100 % alerts published once each while 20 writers push spend over the line
at once, a reversal re-arming the 100 % alert, and bad lines refused with messages naming them."""

from __future__ import annotations

import csv
import os
import random
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.conftest import ROOT, eventually, started_hub, token

RATES = {"EUR": Decimal("1.0850"), "GBP": Decimal("1.2712"), "JPY": Decimal("0.0067")}
DECIMALS = {"USD": 2, "EUR": 2, "GBP": 2, "JPY": 0}


class Finance:
    def __init__(self, url: str, state_file: Path) -> None:
        self.url = url
        self.state_file = state_file
        self.headers = {"Authorization": f"Bearer {token('finance')}"}
        today = datetime.now(UTC).date()
        self.period = today.strftime("%Y-%m")
        self.day = today.replace(day=1)

    def put(self, path: str, body: Any) -> requests.Response:
        return requests.put(f"{self.url}{path}", json=body, headers=self.headers, timeout=30)

    def post(self, path: str, body: Any) -> requests.Response:
        return requests.post(f"{self.url}{path}", json=body, headers=self.headers, timeout=60)

    def get(self, path: str, **params: Any) -> Any:
        response = requests.get(f"{self.url}{path}", params=params, headers=self.headers, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def events(self, detail_type: str) -> list[dict[str, Any]]:
        return list(requests.get(f"{self.url}/_local/events", params={"detail-type": detail_type}, timeout=10).json())

    def slack_messages(self, channel: str) -> list[dict[str, Any]]:
        """What the hub posted to `channel` of its Slack stand-in."""
        answer = requests.get(f"{self.url}/_local/slack/messages", params={"channel": channel}, timeout=10)
        return list(answer.json()["messages"])

    def import_csv(self, path: Path) -> subprocess.CompletedProcess[str]:
        env = os.environ | {"HUB_STATE_FILE": str(self.state_file)}
        return subprocess.run(
            [sys.executable, "-m", "ops.import_spend", str(path)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )


@pytest.fixture(scope="module")
def finance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Finance]:
    state = tmp_path_factory.mktemp("finance") / "hub.json"
    with started_hub(state) as (url, _):
        hub = Finance(url, state)
        fx = hub.put(
            f"/api/v1/integrations/finance/fx/{hub.period}",
            {"base": "USD", "rates": {k: str(v) for k, v in RATES.items()}},
        )
        assert fx.status_code == 200, fx.text
        budget = {
            "currency": "USD",
            "lines": [
                {"department": "marketing", "channel": "paid_social", "amount": "500000.00"},
                {"department": "marketing", "channel": "paid_search", "amount": "500000.00"},
                {"department": "sales", "channel": "events", "amount": "10000.00"},
            ],
            "thresholds": [50, 80, 100, 110],
        }
        answered = hub.put(f"/api/v1/integrations/finance/budget/{hub.period}", budget)
        assert answered.status_code == 200, answered.text
        yield hub


def _csv(path: Path, finance: Finance, lines: int) -> Decimal:
    """A CSV of `lines` spend lines in mixed currencies; returns what they come to in USD, by hand."""
    rng = random.Random(20261130)  # noqa: S311 (test data, reproducible on purpose)
    run = uuid.uuid4().hex[:6]
    expected = Decimal(0)
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(
            ["spend_id", "campaign_id", "channel", "department", "vendor", "amount", "currency", "incurred_on"]
        )
        for n in range(lines):
            currency = rng.choice(["USD", "EUR", "GBP", "JPY"])
            places = DECIMALS[currency]
            amount = Decimal(rng.randint(100, 50_000_00 if places else 500_000)) / (10**places)
            amount = amount.quantize(Decimal(1).scaleb(-places))
            channel = rng.choice(["paid_social", "paid_search"])
            writer.writerow(
                [
                    f"csv-{run}-{n}",
                    f"q-{n % 7}",
                    channel,
                    "marketing",
                    "Ads Inc",
                    str(amount),
                    currency,
                    finance.day.isoformat(),
                ]
            )
            usd = amount if currency == "USD" else amount * RATES[currency]
            expected += usd.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
    return expected


def test_a_csv_imported_twice_is_stored_once_and_the_budget_adds_up_to_the_cent(
    finance: Finance, tmp_path: Path
) -> None:
    # Given a CSV of 1,000 lines in four currencies
    path = tmp_path / "spend.csv"
    expected = _csv(path, finance, 1000)
    before = Decimal(finance.get(f"/api/v1/integrations/finance/budget/{finance.period}")["totals"]["actual"])
    # When it is imported twice
    first, second = finance.import_csv(path), finance.import_csv(path)
    # Then the first run stores every line and the second none
    assert first.returncode == 0, first.stderr
    assert "imported 1000 spend lines, 0 already recorded" in first.stdout
    assert second.returncode == 0, second.stderr
    assert "imported 0 spend lines, 1000 already recorded" in second.stdout
    # And the budget's actual grew by exactly what the CSV comes to, converted line by line and rounded half-even
    view = finance.get(f"/api/v1/integrations/finance/budget/{finance.period}")
    assert Decimal(view["totals"]["actual"]) - before == expected
    lines = {(line["department"], line["channel"]): line for line in view["lines"]}
    assert (
        Decimal(lines[("marketing", "paid_social")]["actual"]) + Decimal(lines[("marketing", "paid_search")]["actual"])
        >= expected
    )


def test_concurrent_writers_cross_each_threshold_once_and_a_reversal_rearms(finance: Finance) -> None:
    # Given a sales/events budget of 10,000 USD and 20 writers each recording 600 USD at once (120 %)
    run = uuid.uuid4().hex[:6]

    def write(n: int) -> int:
        line = {"spend_id": f"ev-{run}-{n}", "channel": "events", "department": "sales", "vendor": "Expo",
                "amount": "600.00", "currency": "USD", "incurred_on": finance.day.isoformat()}  # fmt: skip
        return finance.post("/api/v1/integrations/finance/spend", line).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(write, range(20)))
    assert statuses == [201] * 20

    def crossings() -> dict[int, int]:
        found: dict[int, int] = {}
        for event in finance.events("budget.threshold_crossed"):
            if event["detail"]["line"] == "sales/events/*":
                found[event["detail"]["threshold"]] = found.get(event["detail"]["threshold"], 0) + 1
        return found

    # Then 50, 80, 100 and 110 % were each published once (the bus's tap may still be catching up on the CSV's)
    assert eventually(lambda: crossings() == {50: 1, 80: 1, 100: 1, 110: 1})
    # And the budget notifier posted the 50 % crossing to sales' budget channel (config/finance.json), once
    fifty = "sales/events/* reached 50% of its"
    told = eventually(lambda: [m for m in finance.slack_messages("#sales-budget") if m["text"].startswith(fifty)])
    assert len(told) == 1, told
    assert "*Consumption*" in str(told[0]["blocks"])
    # When five lines are reversed (3,000 USD: back to 90 %), the 100 and 110 % alerts re-arm
    for n in range(5):
        reversal = {"spend_id": f"ev-{run}-rev{n}", "reverses": f"ev-{run}-{n}", "channel": "events",
                    "department": "sales", "vendor": "Expo", "amount": "-600.00", "currency": "USD",
                    "incurred_on": finance.day.isoformat()}  # fmt: skip
        assert finance.post("/api/v1/integrations/finance/spend", reversal).status_code == 201
    # And spend climbs again: 96 % crosses nothing, 102 % crosses 100 % a second time (and not 110 %)
    assert write(100) == 201
    assert write(101) == 201
    assert eventually(lambda: crossings() == {50: 1, 80: 1, 100: 2, 110: 1})


def test_bad_lines_are_refused_naming_them_and_nothing_is_stored(finance: Finance) -> None:
    run = uuid.uuid4().hex[:6]
    good = {"spend_id": f"ok-{run}", "channel": "events", "department": "sales", "vendor": "Expo",
            "amount": "10.00", "currency": "USD", "incurred_on": finance.day.isoformat()}  # fmt: skip
    bad_channel = {**good, "spend_id": f"bad1-{run}", "channel": "billboards"}
    bad_decimals = {**good, "spend_id": f"bad2-{run}", "amount": "10.001"}
    answered = finance.post("/api/v1/integrations/finance/spend", {"lines": [good, bad_channel, bad_decimals]})
    assert answered.status_code == 422, answered.text
    errors = {(e["line"], e["field"]) for e in answered.json()["errors"]}
    assert errors == {(2, "channel"), (3, "amount")}
    listed = finance.get("/api/v1/integrations/finance/spend", period=finance.period, limit=500)
    assert all(item["spend_id"] != good["spend_id"] for item in listed["items"])


def test_the_fx_table_reads_back_and_a_listing_walks_the_months_of_its_range(finance: Finance) -> None:
    # Given the FX table put by the fixture, and lines on the last day of last month and on this month's first
    assert finance.get(f"/api/v1/integrations/finance/fx/{finance.period}")["rates"] == {
        code: str(rate) for code, rate in RATES.items()
    }
    missing = requests.get(f"{finance.url}/api/v1/integrations/finance/fx/1999-01", headers=finance.headers, timeout=30)
    assert missing.status_code == 404
    assert "PUT /api/v1/integrations/finance/fx/1999-01" in missing.json()["message"]
    run = uuid.uuid4().hex[:6]
    last_month = finance.day.replace(day=1).toordinal() - 1
    days = [datetime.fromordinal(last_month).date(), finance.day]
    lines = [
        {
            "spend_id": f"walk-{run}-{n}",
            "campaign_id": f"walk-{run}",
            "channel": "events",
            "department": "sales",
            "vendor": "Expo",
            "amount": "1.00",
            "currency": "USD",
            "incurred_on": day.isoformat(),
        }
        for n, day in enumerate(days * 2)
    ]
    assert finance.post("/api/v1/integrations/finance/spend", {"lines": lines}).status_code == 201
    # When the two days are listed one line per page
    seen, cursor = [], None
    for _ in range(20):
        page = finance.get(
            "/api/v1/integrations/finance/spend",
            **{"from": days[0].isoformat(), "to": days[1].isoformat(), "campaign_id": f"walk-{run}", "limit": 1},
            **({"cursor": cursor} if cursor else {}),
        )
        seen += [item["spend_id"] for item in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    # Then the four lines come once each, last month's first
    assert seen == [f"walk-{run}-0", f"walk-{run}-2", f"walk-{run}-1", f"walk-{run}-3"]


def _spend_csv(path: Path, lines: list[dict[str, str]]) -> None:
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=["spend_id", "campaign_id", "channel", "department", "vendor",
                                                 "amount", "currency", "incurred_on", "reverses"])  # fmt: skip
        writer.writeheader()
        writer.writerows(lines)


def _stored_ids(finance: Finance, campaign_id: str) -> list[str]:
    ids: list[str] = []
    cursor = None
    for _ in range(50):
        page = finance.get(
            "/api/v1/integrations/finance/spend",
            period=finance.period,
            campaign_id=campaign_id,
            limit=500,
            **({"cursor": cursor} if cursor else {}),
        )
        ids += [item["spend_id"] for item in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    return sorted(ids)


def _line(finance: Finance, spend_id: str, campaign_id: str, **changes: str) -> dict[str, str]:
    return {"spend_id": spend_id, "campaign_id": campaign_id, "channel": "paid_social", "department": "marketing",
            "vendor": "Ads Inc", "amount": "1.00", "currency": "USD", "incurred_on": finance.day.isoformat(),
            **changes}  # fmt: skip


def test_a_line_refused_in_a_batch_leaves_its_good_lines_imported_and_is_listed_by_its_csv_line(
    finance: Finance, tmp_path: Path
) -> None:
    # Given a CSV of four USD lines and, on CSV line 6, a line in CHF, which the period has no FX rate for
    run = uuid.uuid4().hex[:6]
    good = [_line(finance, f"imp-{run}-{n}", f"imp-{run}") for n in range(4)]
    path = tmp_path / "spend.csv"
    _spend_csv(path, [*good, _line(finance, f"imp-{run}-chf", f"imp-{run}", currency="CHF")])
    # When it is imported twice
    first, second = finance.import_csv(path), finance.import_csv(path)
    # Then the first run imports the four USD lines and lists the CHF line by its CSV line, field and reason
    assert first.returncode == 1, first.stderr
    assert "imported 4 spend lines, 0 already recorded, 1 refused" in first.stdout
    refused = [line for line in first.stderr.splitlines() if line.startswith("line ")]
    assert len(refused) == 1
    assert refused[0].startswith("line 6: currency: no FX rate for CHF"), refused
    # And the second imports nothing, counts the four as already recorded and lists the same CSV line again
    assert second.returncode == 1, second.stderr
    assert "imported 0 spend lines, 4 already recorded, 1 refused" in second.stdout
    assert [line for line in second.stderr.splitlines() if line.startswith("line ")] == refused
    # And the four USD lines are stored, once each, and the CHF line is not
    assert _stored_ids(finance, f"imp-{run}") == sorted(line["spend_id"] for line in good)


def test_a_batch_refused_again_without_its_named_lines_is_cut_until_each_bad_line_is_refused_alone(
    finance: Finance, tmp_path: Path
) -> None:
    # Given a CSV whose line 4 reverses a line never recorded and whose line 6 is in CHF (no FX rate): the
    # reversal is refused before any currency is converted, so the batch without it is refused again
    run = uuid.uuid4().hex[:6]
    campaign = f"imp2-{run}"
    good = [_line(finance, f"{campaign}-{n}", campaign) for n in range(4)]
    reversal = _line(finance, f"{campaign}-rev", campaign, amount="-1.00", reverses=f"{campaign}-nothing")
    chf = _line(finance, f"{campaign}-chf", campaign, currency="CHF")
    path = tmp_path / "spend.csv"
    _spend_csv(path, [good[0], good[1], reversal, good[2], chf, good[3]])
    # When it is imported
    result = finance.import_csv(path)
    # Then the four good lines are imported and both bad lines are listed by their CSV lines, fields and reasons
    assert result.returncode == 1, result.stderr
    assert "imported 4 spend lines, 0 already recorded, 2 refused" in result.stdout
    refused = sorted(line for line in result.stderr.splitlines() if line.startswith("line "))
    assert len(refused) == 2, refused
    assert refused[0] == f'line 4: reverses: no spend line "{campaign}-nothing" is recorded'
    assert refused[1].startswith("line 6: currency: no FX rate for CHF"), refused
    assert _stored_ids(finance, campaign) == sorted(line["spend_id"] for line in good)


def test_a_service_period_line_counts_its_share_in_each_month_and_is_listed_in_each(finance: Finance) -> None:
    # Given a 3,000.00 USD agency retainer over this month's last 10 days and next month's first 20 (100.00 a day)
    run = uuid.uuid4().hex[:6]
    first_of_next = finance.day.replace(day=28).toordinal() + 4
    first_of_next = finance.day.fromordinal(first_of_next).replace(day=1).toordinal()
    start, end = (finance.day.fromordinal(first_of_next + days) for days in (-10, 19))
    next_month = end.strftime("%Y-%m")
    budget_path = f"/api/v1/integrations/finance/budget/{finance.period}"
    before = Decimal(finance.get(budget_path)["totals"]["actual"])
    retainer = {"spend_id": f"retainer-{run}", "campaign_id": f"retainer-{run}", "channel": "tools_and_agencies",
                "department": "marketing", "vendor": "Agency", "amount": "3000.00", "currency": "USD",
                "service_period": {"from": start.isoformat(), "to": end.isoformat()}}  # fmt: skip
    # When it is recorded
    answered = finance.post("/api/v1/integrations/finance/spend", retainer)
    # Then it is stored once with what each month counts, and this month's budget view counts its 10 days
    assert answered.status_code == 201, answered.text
    stored = answered.json()["lines"][0]
    assert stored["company_amount_by_month"] == {finance.period: "1000.00", next_month: "2000.00"}
    assert (stored["incurred_on"], stored["service_period"]) == (None, retainer["service_period"])
    assert Decimal(finance.get(budget_path)["totals"]["actual"]) - before == Decimal("1000.00")
    # And both months list it
    for month in (finance.period, next_month):
        listed = finance.get("/api/v1/integrations/finance/spend", period=month, campaign_id=f"retainer-{run}")
        assert [item["spend_id"] for item in listed["items"]] == [f"retainer-{run}"]
    # And a service period that ends before it starts is refused naming the line and field
    backwards = {**retainer, "spend_id": f"backwards-{run}", "service_period": {"from": end.isoformat(),
                                                                                "to": start.isoformat()}}  # fmt: skip
    refused = finance.post("/api/v1/integrations/finance/spend", {"lines": [backwards]})
    assert refused.status_code == 422, refused.text
    assert [(e["line"], e["field"]) for e in refused.json()["errors"]] == [(1, "service_period")]
