"""The dashboard's business view: each picture RevOps asked for is on the dashboard, graphing the metric (name,
namespace and dimensions) the functions emit, or the metric filter over the line a function logs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from infra.business_view import SYNC_BATCH_LINE, SYNC_ERROR_FIELDS
from shared import business_metrics, handoff_metrics
from shared.catalog import METRICS_NAMESPACE, physical_name
from shared.finance.config import load_finance_config
from shared.webhooks import delivery_metrics
from shared.webhooks.model import Outcome
from shared.webhooks.registry import ALL_VENDORS
from tests.infra.conftest import Synth

ROOT = Path(__file__).resolve().parents[2]


def _widgets(synth: Synth) -> dict[str, dict[str, Any]]:
    """The dashboard's widgets by title (the body is a Fn::Join around the region)."""
    [dashboard] = synth.monitoring.template.find_resources("AWS::CloudWatch::Dashboard").values()
    parts = dashboard["Properties"]["DashboardBody"]["Fn::Join"][1]
    body = json.loads("".join(part if isinstance(part, str) else "us-east-1" for part in parts))
    return {w["properties"].get("title", ""): w["properties"] for w in body["widgets"] if "properties" in w}


def _metrics(widget: dict[str, Any]) -> list[tuple[str, dict[str, str], dict[str, Any]]]:
    """Each metric line of a widget as (metric name, dimensions, options); expressions left out."""
    found = []
    for line in widget["metrics"]:
        if isinstance(line[0], dict):
            continue
        options = line[-1] if isinstance(line[-1], dict) else {}
        fields = [part for part in line if not isinstance(part, dict)]
        assert fields[0] == METRICS_NAMESPACE, line
        found.append((fields[1], dict(zip(fields[2::2], fields[3::2], strict=True)), options))
    return found


def _widget(synth: Synth, title_start: str) -> dict[str, Any]:
    matching = [widget for title, widget in _widgets(synth).items() if title.startswith(title_start)]
    assert len(matching) == 1, f"one widget titled {title_start!r}..., found {len(matching)}"
    return matching[0]


def test_webhooks_are_graphed_by_outcome_and_by_vendor(dev: Synth) -> None:
    # Given the metric the receivers count each delivery under
    name, service = delivery_metrics.METRIC, delivery_metrics.SERVICE
    # Then one graph has a line per outcome, one a line per vendor, one the rejections per vendor
    by_outcome = _metrics(_widget(dev, "Webhook deliveries by outcome"))
    assert {(n, d["outcome"]) for n, d, _ in by_outcome} == {(name, o.value) for o in Outcome}
    by_vendor = _metrics(_widget(dev, "Webhook deliveries by vendor"))
    assert [(n, d) for n, d, _ in by_vendor] == [(name, {"service": service, "vendor": v}) for v in ALL_VENDORS]
    rejected = _metrics(_widget(dev, "Webhook deliveries rejected, by vendor"))
    assert {d["vendor"] for _, d, _ in rejected} == set(ALL_VENDORS)
    assert {d["outcome"] for _, d, _ in rejected} == {"rejected"}
    # And each dimension combination graphed is one of the sets the receivers' EMF line declares
    declared = {tuple(sorted(dimensions)) for dimensions in delivery_metrics.DIMENSION_SETS}
    for _, dimensions, _ in by_outcome + by_vendor + rejected:
        assert tuple(sorted(dimensions)) in declared


def test_the_lead_funnel_and_the_mqls_are_graphed_per_day(dev: Synth) -> None:
    per_day = _widget(dev, "Lead funnel: leads entering each stage per day")
    # Then every lifecycle stage has its line of leads entering it, summed per day over the last 30 days
    lines = _metrics(per_day)
    assert [d for _, d, _ in lines] == [{"service": "leads", "stage": s} for s in business_metrics.STAGES]
    assert {(n, o["stat"], o["period"]) for n, _, o in lines} == {(business_metrics.STAGE_ENTERED, "Sum", 86400)}
    assert per_day["start"] == "-P30D"
    assert per_day["stacked"] is True
    # And the same stages as bars over the whole range: the funnel
    bars = _widget(dev, "Lead funnel: leads entering each stage, last 30 days")
    assert bars["view"] == "bar"
    assert bars["setPeriodToTimeRange"] is True
    assert [d["stage"] for _, d, _ in _metrics(bars)] == list(business_metrics.STAGES)
    # And the MQLs reached per day
    [(name, dimensions, options)] = _metrics(_widget(dev, "MQLs per day"))
    assert (name, dimensions, options["period"]) == (business_metrics.MQL_REACHED, {"service": "leads"}, 86400)


def test_sla_attainment_divides_the_acceptances_within_sla_by_those_and_the_breaches(dev: Synth) -> None:
    widget = _widget(dev, "Handoff SLA attainment per day (%)")
    [expression] = [line[0]["expression"] for line in widget["metrics"] if isinstance(line[0], dict)]
    by_id = {options["id"]: (name, dims["service"]) for name, dims, options in _metrics(widget)}
    # Then the acceptances within the SLA come from the API and the router (Slack clicks), the breaches from the
    # timers, and the expression is 100 x within / (within + breached)
    assert by_id == {
        "api": (handoff_metrics.ACCEPTED_WITHIN_SLA, "handoffs-api"),
        "slack": (handoff_metrics.ACCEPTED_WITHIN_SLA, "handoff-router"),
        "breached": (handoff_metrics.SLA_BREACHES, "handoff-timers"),
    }
    within = "FILL(api, 0) + FILL(slack, 0)"
    assert expression == f"100 * ({within}) / ({within} + FILL(breached, 0))"
    # And the speed-to-lead percentiles are still there
    assert _widget(dev, "Speed to lead (s)")


def test_budget_consumption_is_graphed_per_department_of_the_finance_config(dev: Synth) -> None:
    widget = _widget(dev, "Budget consumption by department")
    lines = _metrics(widget)
    assert [d for _, d, _ in lines] == [
        {"service": "finance", "department": department} for department in load_finance_config().department_ids
    ]
    assert {(n, o["stat"]) for n, _, o in lines} == {(business_metrics.BUDGET_CONSUMPTION, "Maximum")}
    assert [a["value"] for a in widget["annotations"]["horizontal"]] == [80, 100]


def test_health_bands_are_graphed_as_accounts_per_band_and_band_changes(dev: Synth) -> None:
    lines = _metrics(_widget(dev, "Accounts per health band"))
    gauges = [(n, d["band"], o["stat"]) for n, d, o in lines if n == business_metrics.ACCOUNTS_IN_BAND]
    assert gauges == [(business_metrics.ACCOUNTS_IN_BAND, band, "Maximum") for band in ("green", "yellow", "red")]
    changes = [(d["band"], o.get("yAxis")) for n, d, o in lines if n == business_metrics.HEALTH_BAND_ENTERED]
    assert changes == [(band, "right") for band in ("green", "yellow", "red")]
    assert {d["service"] for _, d, _ in lines} == {"success"}


def test_sync_errors_are_counted_from_the_line_the_sync_writer_logs_for_every_batch(dev: Synth) -> None:
    writer_logs = f"/aws/lambda/{physical_name(dev.stage, 'crm-sync-writer')}"
    # Then a metric filter per figure reads the writer's batch line and takes the figure as the value
    for name, field in SYNC_ERROR_FIELDS:
        dev.monitoring.template.has_resource_properties(
            "AWS::Logs::MetricFilter",
            {
                "LogGroupName": writer_logs,
                "FilterPattern": f'{{ $.message = "{SYNC_BATCH_LINE}" }}',
                "MetricTransformations": [
                    {"MetricName": name, "MetricNamespace": METRICS_NAMESPACE, "MetricValue": f"$.{field}"}
                ],
            },
        )
    # And the writer does log that line with those fields (Powertools puts `extra` at the top level)
    writer = (ROOT / "functions/crm_sync_writer/handler.py").read_text()
    assert f'"{SYNC_BATCH_LINE}"' in writer
    assert all(f'"{field}":' in writer for _, field in SYNC_ERROR_FIELDS)
    # And the graph shows them beside the conflicts flagged per CRM
    widget = _widget(dev, "CRM sync:")
    left = {line[1] for line in widget["metrics"] if not line[-1].get("yAxis")}
    assert left == {name for name, _ in SYNC_ERROR_FIELDS}
    conflicts = [d for n, d, _ in _metrics(widget) if n == business_metrics.SYNC_CONFLICTS]
    assert conflicts == [{"service": "crm-sync", "crm": crm} for crm in ("hubspot", "salesforce")]
