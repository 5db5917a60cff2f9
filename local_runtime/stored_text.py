"""A stored DynamoDB attribute (low-level JSON, as the embedded AWS answers a scan) as searchable text, with the
hub's zlib-compressed bodies and logs inflated: what the erasure checks of the e2e suite and `make bench` search
for a person's email in every item of every table."""

from __future__ import annotations

import json
import zlib
from typing import Any


def attribute_text(value: dict[str, Any]) -> str:
    if "B" in value:
        raw = bytes(value["B"])
        try:
            return zlib.decompress(raw).decode("utf-8", "replace")
        except zlib.error:
            return raw.decode("utf-8", "replace")
    if "M" in value:
        return json.dumps({key: attribute_text(inner) for key, inner in value["M"].items()})
    if "L" in value:
        return json.dumps([attribute_text(inner) for inner in value["L"]])
    if "S" in value:
        return str(value["S"])
    return json.dumps(value, default=str)
