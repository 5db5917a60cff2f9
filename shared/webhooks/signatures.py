"""Signature schemes of vendor webhooks, checked over the exact raw bytes received.

Every check is constant-time, tries every configured secret (rotation) and every signature the vendor put
in its header, and refuses timestamps more than `TOLERANCE` away in either direction.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

TOLERANCE = timedelta(minutes=5)


class SignatureError(Exception):
    """The request does not prove it came from the vendor; the message says why (never the secret)."""


def hmac_sha256(secret: str | bytes, message: bytes) -> bytes:
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, message, hashlib.sha256).digest()


def any_match(expected: Iterable[bytes], presented: Iterable[bytes]) -> bool:
    """True when any presented signature equals any expected one; every pair is compared in constant time."""
    presented = list(presented)
    matched = False
    for candidate in expected:
        for signature in presented:
            matched |= hmac.compare_digest(candidate, signature)
    return matched


def check_timestamp(sent_at: datetime, now: datetime) -> None:
    skew = now - sent_at
    if skew > TOLERANCE:
        raise SignatureError(f"timestamp is {int(skew.total_seconds())} s old; at most 300 s is accepted")
    if -skew > TOLERANCE:
        raise SignatureError(f"timestamp is {int(-skew.total_seconds())} s in the future; at most 300 s is accepted")


def parse_timestamp_seconds(raw: str | None, header: str) -> datetime:
    return _parse_epoch(raw, header, divisor=1)


def parse_timestamp_millis(raw: str | None, header: str) -> datetime:
    return _parse_epoch(raw, header, divisor=1000)


def _parse_epoch(raw: str | None, header: str, divisor: int) -> datetime:
    if not raw:
        raise SignatureError(f"missing {header} timestamp")
    try:
        value = int(raw.strip())
        return datetime.fromtimestamp(value / divisor, tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise SignatureError(f"{header} is not a Unix timestamp") from None


def parse_tv_header(raw: str | None, header: str, scheme: str = "v1") -> tuple[str, list[str]]:
    """Parse `t=<ts>,v1=<sig>,v1=<sig>` (Stripe, Calendly): the timestamp and every `scheme` signature."""
    if not raw:
        raise SignatureError(f"missing {header} header")
    timestamp: str | None = None
    signatures: list[str] = []
    for part in raw.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            timestamp = value
        elif key == scheme and value:
            signatures.append(value)
    if timestamp is None:
        raise SignatureError(f"{header} has no timestamp (t=)")
    if not signatures:
        raise SignatureError(f"{header} has no {scheme} signature")
    return timestamp, signatures


def decode_hex(signatures: Iterable[str]) -> list[bytes]:
    decoded = []
    for signature in signatures:
        try:
            decoded.append(bytes.fromhex(signature))
        except ValueError:
            continue  # a malformed entry cannot match; others in the header still may
    return decoded


def decode_base64(signatures: Iterable[str]) -> list[bytes]:
    decoded = []
    for signature in signatures:
        try:
            decoded.append(base64.b64decode(signature, validate=True))
        except ValueError:
            continue
    return decoded


def verify_timestamped_hex_hmac(header: str, value: str | None, body: bytes, secrets: list[str], now: datetime) -> None:
    """The `t=<seconds>,v1=<hex>` scheme Stripe and Calendly share: hex HMAC-SHA256 of `"{t}.{body}"`."""
    timestamp, signatures = parse_tv_header(value, header)
    check_timestamp(parse_timestamp_seconds(timestamp, header), now)
    signed = timestamp.encode() + b"." + body
    if not any_match((hmac_sha256(secret, signed) for secret in secrets), decode_hex(signatures)):
        raise SignatureError("no v1 signature matches any configured secret")


def sign_timestamped_hex_hmac(secret: str, body: bytes, timestamp: int) -> str:
    """The header value a sender of the `t=..,v1=..` scheme would send; for tests and local examples."""
    return f"t={timestamp},v1={hmac_sha256(secret, str(timestamp).encode() + b'.' + body).hex()}"


def header_signatures(request_header: str | None, header: str, prefix: str = "") -> list[str]:
    """Every signature in a signature header, without its scheme prefix (`sha256=`, `v0=`, ...).

    Vendors send one; a comma-separated list is what a proxy makes of a repeated header, so each part counts.
    """
    if not request_header:
        raise SignatureError(f"missing {header} header")
    parts = [part.strip() for part in request_header.split(",")]
    signatures = [part[len(prefix) :] for part in parts if part and part.startswith(prefix)]
    if not signatures:
        raise SignatureError(f"{header} has no {prefix or 'signature'}{' signature' if prefix else ''}")
    return signatures
