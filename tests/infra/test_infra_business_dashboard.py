"""The dashboard's business view: each picture RevOps asked for is on the dashboard, graphing the metric (name,
namespace and dimensions) the functions emit, or the metric filter over the line a function logs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from infra.business_view import SYNC_BATCH_LINE, SYNC_ERROR_FIELDS
from shared import business_metrics, handoff_metrics
from shared.catalog import METRICS_NAMESPACE, physical_name
from shared.finance.config import load_finance_config
from shared.handoffs.model import Priority
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


def _expressions(widget: dict[str, Any]) -> list[tuple[str, str]]:
    """Each expression line of a widget as (expression, label)."""
    return [
        (line[0]["expression"], line[0].get("label", "")) for line in widget["metrics"] if isinstance(line[0], dict)
    ]


def _searched(expression: str) -> tuple[tuple[str, ...], str, str, int]:
    """A handoff SEARCH as (its schema's dimensions, sorted; the metric; the statistic; the period)."""
    found = re.fullmatch(
        r"SEARCH\('\{(?P<schema>[^}]+)\} service=\"handoffs\" MetricName=\"(?P<name>\w+)\"', "
        r"'(?P<stat>\w+)', (?P<period>\d+)\)",
        expression,
    )
    assert found, expression
    namespace, *dimensions = found["schema"].split(",")
    assert namespace == METRICS_NAMESPACE
    return tuple(sorted(dimensions)), found["name"], found["stat"], int(found["period"])


def _sets(dimension_sets: tuple[tuple[str, ...], ...]) -> set[tuple[str, ...]]:
    return {tuple(sorted(names)) for names in dimension_sets}


PRIORITIES = [p.value for p in Priority]
TOTAL = {"service": handoff_metrics.SERVICE}


def test_speed_to_lead_is_graphed_in_total_per_priority_and_per_team(dev: Synth) -> None:
    stages = {
        handoff_metrics.ASSIGN_SECONDS: "requested -> assigned",
        handoff_metrics.ACCEPT_SECONDS: "requested -> accepted",
        handoff_metrics.FIRST_TOUCH_SECONDS: "assigned -> first touch",
    }
    # Then the totals graph p50 and p95 of the three durations under service=handoffs, whichever function emitted them
    totals = _metrics(_widget(dev, "Speed to lead (s)"))
    assert {(n, tuple(sorted(d.items())), o["stat"]) for n, d, o in totals} == {
        (name, (("service", "handoffs"),), stat) for name in stages for stat in ("p50", "p95")
    }
    for name, stage in stages.items():
        # And each duration has a graph with a p50 and a p95 line per priority, each its own series
        by_priority = _metrics(_widget(dev, f"Speed to lead by priority (s): {stage}"))
        assert [(n, d, o["stat"]) for n, d, o in by_priority] == [
            (name, {**TOTAL, "priority": p}, stat) for p in PRIORITIES for stat in ("p50", "p95")
        ]
        # And one with a p50 and a p95 line per team, found by SEARCH over the {service, team} series, labelled
        # with the team
        by_team = _widget(dev, f"Speed to lead by team (s): {stage}")
        assert _metrics(by_team) == []
        searched = [(_searched(e), label) for e, label in _expressions(by_team)]
        assert searched == [
            ((("service", "team"), name, stat, 300), f"${{PROP('Dim.team')}} {stat}") for stat in ("p50", "p95")
        ]
    # And the breaches of either SLA, accept and first touch, are graphed per priority (stacked: their total)
    # and per team
    breaches = _widget(dev, "Handoff SLA breaches by priority")
    assert breaches["stacked"] is True
    kinds = (handoff_metrics.SLA_BREACHES, handoff_metrics.FIRST_TOUCH_BREACHES)
    assert [(n, d, o["stat"]) for n, d, o in _metrics(breaches)] == [
        (kind, {**TOTAL, "priority": p}, "Sum") for kind in kinds for p in PRIORITIES
    ]
    by_team = [_searched(e) for e, _ in _expressions(_widget(dev, "Handoff SLA breaches by team"))]
    assert by_team == [(("service", "team"), kind, "Sum", 300) for kind in kinds]


def test_sla_attainment_is_graphed_in_total_per_priority_per_team_and_per_priority_and_team(dev: Synth) -> None:
    name = handoff_metrics.SLA_ATTAINMENT
    # Then attainment is the daily average of the attainment figure (100 within the SLA, 0 breached): in total
    # and per priority on one graph
    by_priority = _widget(dev, "Handoff SLA attainment per day (%), in total and by priority")
    # (CDK leaves out the default statistic, Average)
    assert [(n, d, o.get("stat", "Average"), o["period"]) for n, d, o in _metrics(by_priority)] == [
        (name, TOTAL, "Average", 86400),
        *((name, {**TOTAL, "priority": p}, "Average", 86400) for p in PRIORITIES),
        (handoff_metrics.FIRST_TOUCH_ATTAINMENT, TOTAL, "Average", 86400),  # the first touch's, in total
    ]
    # And per team, and per priority and team (the API's `sla` rows), a line each found by SEARCH
    [(by_team, team_label)] = _expressions(_widget(dev, "Handoff SLA attainment per day (%), by team"))
    assert _searched(by_team) == (("service", "team"), name, "Average", 86400)
    assert team_label == "${PROP('Dim.team')}"
    [(by_both, both_label)] = _expressions(_widget(dev, "Handoff SLA attainment per day (%), by priority and team"))
    assert _searched(by_both) == (("priority", "service", "team"), name, "Average", 86400)
    assert both_label == "${PROP('Dim.priority')} ${PROP('Dim.team')}"
    for title in ("in total and by priority", "by team", "by priority and team"):
        widget = _widget(dev, f"Handoff SLA attainment per day (%), {title}")
        assert (widget["yAxis"]["left"], widget["start"]) == ({"min": 0, "max": 100}, "-P30D")


def test_every_handoff_series_graphed_is_one_the_handoff_functions_write(dev: Synth) -> None:
    # Given every handoff figure on the dashboard, as a metric or a SEARCH schema
    graphed: dict[str, set[tuple[str, ...]]] = {}
    for widget in _widgets(dev).values():
        lines = widget.get("metrics", [])
        for name, dimensions, _ in _metrics({"metrics": [line for line in lines if line[0] == METRICS_NAMESPACE]}):
            if name in handoff_metrics.METRIC_NAMES:
                assert dimensions["service"] == handoff_metrics.SERVICE
                graphed.setdefault(name, set()).add(tuple(sorted(dimensions)))
        for expression, _ in _expressions({"metrics": lines}):
            if expression.startswith("SEARCH"):
                schema, name, _, _ = _searched(expression)
                graphed.setdefault(name, set()).add(schema)
    # Then each is a dimension set `shared/handoff_metrics.py` writes that figure under: the durations in total,
    # per priority and per team; the SLA figures per priority and team as well
    durations = _sets(handoff_metrics.DURATION_DIMENSIONS)
    assert graphed[handoff_metrics.ASSIGN_SECONDS] == graphed[handoff_metrics.ACCEPT_SECONDS] == durations
    assert graphed[handoff_metrics.SLA_BREACHES] <= _sets(handoff_metrics.SLA_DIMENSIONS)
    assert graphed[handoff_metrics.SLA_ATTAINMENT] == _sets(handoff_metrics.SLA_DIMENSIONS)


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
