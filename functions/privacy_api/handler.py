"""The privacy API: erase a person everywhere the hub keeps them, and export everything it holds about them."""

import re
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.adapters.dynamodb_privacy_wiring import privacy_service
from shared.function_environment import environment_of
from shared.http.api import register_routes, resolve, rest_resolver
from shared.http.errors import BadRequest, json_response
from shared.observability import logger, metrics, traced
from shared.privacy.api_models import ErasureReceiptView, ErasureRequest, PersonExport, email_problem
from shared.privacy.service import holds_anything, receipt_view

app = rest_resolver()
service = privacy_service(environment_of(__name__))
# A query's value arrives decoded: a percent escape still in it may not have been decoded (its bytes are no UTF-8,
# which the local gateway passes on as sent) or may have been encoded twice (`%252B` for `+`). But `%` and two hex
# digits is also an address's own text (`b%41c@percent.io`, sent once-encoded as `b%2541c%40percent.io`), which the
# hub captures and erases like any other: such an email is exported as it is when the hub holds anything under it
# (a lead, a delivery, an erasure's receipt...), and refused (400) only when it holds nothing, as likely a mistake.
_UNDECODED_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")


def erase_person(request: Annotated[ErasureRequest, Body()]) -> Response[ErasureReceiptView]:
    outcome = service.erase(request.email)
    erased = sum(outcome.erased_now.values())
    metrics.add_metric(name="PrivacyItemsErased", unit="Count", value=erased)
    # the erasure id only: never the email, in logs as in the audit trail
    logger.info("erasure run", extra={"erasure_id": outcome.receipt.erasure_id, "erased_now": outcome.erased_now})
    body = ErasureReceiptView(**receipt_view(outcome.receipt), erased_now=outcome.erased_now)
    return json_response(200, body.model_dump())


def export_person(email: Annotated[str, Query(min_length=3, max_length=320)]) -> Response[PersonExport]:
    if (problem := email_problem(email)) is not None:
        raise BadRequest(f"email: {email[:80]!r} is {problem}")
    document = service.export(email)
    if (escape := _UNDECODED_ESCAPE.search(email)) is not None and not holds_anything(document):
        raise BadRequest(
            f"email: {email[:80]!r} holds the percent escape {escape.group()!r}, and the hub holds nothing under "
            "that address: its bytes may be no UTF-8, or the email encoded twice; percent-encode the email's UTF-8 once"
        )
    return json_response(200, document)


register_routes(app, __name__, globals())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@traced
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return resolve(app, event, context)
