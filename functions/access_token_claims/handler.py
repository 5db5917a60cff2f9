"""Cognito pre token generation trigger, event version V2_0: adds a person's verified email to their access token
(`shared.identity.access_token`) and leaves the rest as Cognito made it. Cognito invokes it synchronously at each
sign-in and token refresh of a person, never for an app client's client-credentials grant; an error here fails the
sign-in, so it does nothing that can fail. It logs nothing (what it sees is a person's attributes), so it takes no
logger or metrics: the local user pool runs it in other processes too (`local_runtime.auth`)."""

from typing import Any

from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.cognito_user_pool_event import PreTokenGenerationV2TriggerEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.identity.access_token import access_token_claims


@event_source(data_class=PreTokenGenerationV2TriggerEvent)
def handler(event: PreTokenGenerationV2TriggerEvent, context: LambdaContext) -> dict[str, Any]:
    details = event.response.claims_scope_override_details
    details.access_token_generation.claims_to_add_or_override = access_token_claims(event.request.user_attributes)
    # Cognito takes the groups from the response when it names them (an empty object drops them): their own, unchanged
    groups = event.request.get("groupConfiguration")
    if groups is not None:
        details.group_configuration = dict(groups)
    return event.raw_event
