"""The claims the hub adds to a person's Cognito access token, from the attributes the user pool holds for them.

Cognito names a person in their access token only by a generated username (`username`): the pool signs people in by
their email, an alias, and writes no attribute into an access token. The functions recognise people by email (a rep
of config/routing.json, the colleague who resolved a conflict), so the pre token generation trigger adds it. Pure:
the attributes in, the claims out; the handler (`functions/access_token_claims`) reads and answers Cognito's event.
"""

from __future__ import annotations

from collections.abc import Mapping

EMAIL_CLAIM = "email"


def access_token_claims(user_attributes: Mapping[str, str]) -> dict[str, str]:
    """`{"email": ...}` for a person whose email the pool has verified; nothing otherwise.

    Only a verified email: people may change their own email attribute with their access token (its
    `aws.cognito.signin.user.admin` scope allows it), and until they prove the new address by the code sent there it
    stays unverified. Were it added anyway, a rep could take another rep's address and act on their handoffs."""
    email = str(user_attributes.get("email") or "").strip()
    verified = str(user_attributes.get("email_verified") or "").strip().lower() == "true"
    return {EMAIL_CLAIM: email} if email and verified else {}
