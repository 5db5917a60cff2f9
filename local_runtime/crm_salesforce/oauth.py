"""OAuth 2.0 as a Salesforce org answers it: which token requests it refuses and why (client credentials, in
the form or as HTTP Basic, and JWT bearer assertions), and the token it issues, signed as Salesforce signs it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping

import jwt

from local_runtime.crm_salesforce.org import INTEGRATION_USER_ID

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def grant_problem(
    form: Mapping[str, str], authorization: str | None, client_id: str, client_secret: str
) -> tuple[str, str] | None:
    """Why a token request is refused (its OAuth `error` and `error_description`), or None: the connected app
    is `client_id` with `client_secret`."""
    grant = form.get("grant_type")
    if grant == "client_credentials":
        presented_id, presented_secret = form.get("client_id"), form.get("client_secret")
        basic = _basic_credentials(authorization)
        if basic is not None:
            presented_id, presented_secret = basic
        if not (
            presented_id is not None
            and presented_secret is not None
            and hmac.compare_digest(presented_id.encode(), client_id.encode())
            and hmac.compare_digest(presented_secret.encode(), client_secret.encode())
        ):
            return "invalid_client", "invalid client credentials"
    elif grant == JWT_BEARER:
        return _assertion_problem(form.get("assertion"), client_id)
    elif grant is None:
        return "invalid_request", "grant type not specified"
    else:
        return "unsupported_grant_type", "grant type not supported"
    return None


def _assertion_problem(assertion: str | None, client_id: str) -> tuple[str, str] | None:
    """Why a JWT bearer assertion is refused, or None. Its signature is not verified: a real org checks it
    against the connected app's certificate, which the stand-in does not hold."""
    if not assertion:
        return "invalid_request", "assertion not specified"
    try:
        header = jwt.get_unverified_header(assertion)
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        return "invalid_grant", "invalid assertion"
    if header.get("alg") != "RS256":
        return "invalid_grant", "invalid assertion: the algorithm must be RS256"
    issuer = claims.get("iss")
    if not isinstance(issuer, str) or not hmac.compare_digest(issuer.encode(), client_id.encode()):
        return "invalid_client", "client identifier invalid"
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        return "invalid_grant", "invalid assertion: no subject"
    expires = claims.get("exp")
    try:
        expired = float(str(expires)) < time.time()  # simple-salesforce sends it as a string
    except (TypeError, ValueError):
        return "invalid_grant", "invalid assertion: no expiration"
    if expired:
        return "invalid_grant", "expired authorization code"
    return None


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        return None
    try:
        client_id, _, client_secret = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return client_id, client_secret


def new_access_token(organization_id: str) -> str:
    return f"{organization_id[:15]}!{secrets.token_urlsafe(48)}"


def token_answer(
    instance_url: str, organization_id: str, access_token: str, issued_at: str, client_secret: str
) -> dict[str, str]:
    """Salesforce's token JSON for `access_token`, issued to the integration user."""
    identity = f"{instance_url}/id/{organization_id}/{INTEGRATION_USER_ID}"
    # as Salesforce signs it: HMAC-SHA256 of the id URL and issued_at with the client secret
    signature = hmac.new(client_secret.encode(), (identity + issued_at).encode(), hashlib.sha256).digest()
    return {
        "access_token": access_token,
        "instance_url": instance_url,
        "id": identity,
        "token_type": "Bearer",
        "issued_at": issued_at,
        "signature": base64.b64encode(signature).decode(),
    }
