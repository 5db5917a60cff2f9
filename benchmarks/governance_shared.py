"""What every part of the governance section (`governance.py`) shares: its progress line (stderr) and the lead
capture route both the audit per write and the erasure capture a lead through."""

from __future__ import annotations

import sys

CAPTURE = "/api/v1/integrations/sales/leads"


def say(message: str) -> None:
    print(f"  governance: {message}", file=sys.stderr, flush=True)
