"""Errors a caller can act on, and the one place they become HTTP responses.

Every 4xx body is JSON with a `message` a person can act on. Anything else propagates: the function
fails, API Gateway answers 502 and the error alarm fires; nothing was accepted, so the caller retries.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from shared.errors import InvalidInput, TooLarge


class HubError(Exception):
    status = HTTPStatus.BAD_REQUEST

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class BadRequest(HubError):
    status = HTTPStatus.BAD_REQUEST


class NotFound(HubError):
    status = HTTPStatus.NOT_FOUND


class Forbidden(HubError):
    status = HTTPStatus.FORBIDDEN


class Conflict(HubError):
    status = HTTPStatus.CONFLICT


class UnprocessableEntity(HubError):
    status = HTTPStatus.UNPROCESSABLE_ENTITY


def json_response(status: int, body: dict[str, Any]) -> Response:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


def register_error_handlers(app: APIGatewayRestResolver) -> None:
    @app.exception_handler(HubError)
    def _hub_error(exc: HubError) -> Response:
        return json_response(exc.status, {"message": exc.message, **exc.details})

    @app.exception_handler(InvalidInput)
    def _invalid_input(exc: InvalidInput) -> Response:
        status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE if isinstance(exc, TooLarge) else HTTPStatus.BAD_REQUEST
        return json_response(status, {"message": str(exc)})

    @app.exception_handler(RequestValidationError)
    def _invalid_request(exc: RequestValidationError) -> Response:
        problems = [_describe(error) for error in exc.errors()]
        return json_response(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            {"message": "request is invalid: " + "; ".join(problems), "errors": problems},
        )

    @app.not_found
    def _no_route(_: NotFoundError) -> Response:
        event = app.current_event
        return json_response(
            HTTPStatus.NOT_FOUND, {"message": f"no route {event.http_method} {event.path}; see /openapi.json"}
        )


def _describe(error: dict[str, Any]) -> str:
    parts = tuple(error.get("loc", ()))
    location = ".".join(str(part) for part in parts if part not in ("body",))
    if not location and parts == ("body",):
        location = "body"  # the whole body is missing or not an object: say so rather than nothing
    return f"{location}: {error.get('msg', 'invalid')}" if location else str(error.get("msg", "invalid"))
