"""Fuzz tier: schemathesis over the OpenAPI document, and malformed-but-signed payloads for every vendor."""
