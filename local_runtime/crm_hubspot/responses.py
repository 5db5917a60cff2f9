"""HubSpot's answers: its error body, a refusal of one input or of a whole request, a batch's body."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from werkzeug.wrappers import Response

from local_runtime.crm_hubspot.portal import SINGULAR
from local_runtime.crm_hubspot.values import iso


@dataclass(frozen=True)
class Problem:
    """Why one input is refused, as HubSpot words it (a StandardError in a 207, or the body of a 4xx)."""

    status: int
    category: str
    message: str
    errors: tuple[dict[str, Any], ...] = ()
    context: Mapping[str, list[str]] = field(default_factory=dict)


class Refused(Exception):
    """A request refused as a whole: `response` is the answer."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def batch_response(results: list[dict[str, Any]], errors: list[dict[str, Any]], started: datetime, ok: int) -> Response:
    return json_response(association_batch(results, errors, started), 207 if errors else ok)


def association_batch(results: list[dict[str, Any]], errors: list[dict[str, Any]], started: datetime) -> dict[str, Any]:
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": iso(started),
        "completedAt": iso(started),
    }
    if errors:
        body |= {"numErrors": len(errors), "errors": errors}
    return body


def standard_errors(problems: Sequence[tuple[str | None, str | None, Problem]]) -> list[dict[str, Any]]:
    return [_standard_error(problem, trace, record_id) for trace, record_id, problem in problems]


def _standard_error(problem: Problem, trace: str | None, record_id: str | None) -> dict[str, Any]:
    context = dict(problem.context)
    if trace is not None:
        context["objectWriteTraceId"] = [trace]
    if record_id is not None:
        context["ids"] = [record_id]
    return {
        "status": "error",
        "category": problem.category,
        "message": problem.message,
        "context": context,
        "errors": list(problem.errors),
        "links": {},
    }


def missing_error(object_type: str, missing: Sequence[tuple[str, str | None]]) -> dict[str, Any]:
    context: dict[str, list[str]] = {"ids": [key for key, _ in missing]}
    traces = [trace for _, trace in missing if trace is not None]
    if traces:
        context["objectWriteTraceId"] = traces
    return {
        "status": "error",
        "category": "OBJECT_NOT_FOUND",
        "message": f"Could not get some {SINGULAR[object_type].upper()} objects, they may be deleted or not exist. "
        "Check that ids are valid.",
        "context": context,
        "errors": [],
        "links": {},
    }


def problem_response(problem: Problem) -> Response:
    more: dict[str, Any] = {}
    if problem.errors:
        more["errors"] = list(problem.errors)
    if problem.context:
        more["context"] = dict(problem.context)
    return error_response(problem.status, problem.message, problem.category, **more)


def not_found(object_id: str) -> Response:
    return error_response(
        404, "Object not found.  objectId are usually numeric.", "OBJECT_NOT_FOUND", context={"id": [object_id[:100]]}
    )


def validation_error(message: str) -> Response:
    return error_response(400, message, "VALIDATION_ERROR")


def error_response(status: int, message: str, category: str, **more: Any) -> Response:
    body = {"status": "error", "message": message, "correlationId": str(uuid.uuid4()), "category": category, **more}
    return json_response(body, status)


def shown_value(value: object) -> str:
    return json.dumps(value, default=str)[:40]


def json_response(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json;charset=utf-8")
