"""The finance API's bodies from the domain's records, and the domain's refusals as 422s naming each bad line
and field (the issue's contract: a batch with a bad line stores none of it, and says which)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Annotated, Any

from shared.finance.fx import plain
from shared.finance.money import Money, format_amount
from shared.finance.periods import MAX_YEAR, MIN_YEAR
from shared.finance.ports import StoredSpend
from shared.finance.service_periods import month_shares
from shared.finance.spend import FieldProblem, spend_record
from shared.http.errors import HubError
from shared.http.moments import IsoDay

# A day in a query (`as_of`, `from`, `to`): ISO 8601 text YYYY-MM-DD of the periods' years, 1900 to 9999; a number
# or year 1 is a 422 naming the parameter and the limit
PeriodDay = Annotated[date, IsoDay(first_year=MIN_YEAR, last_year=MAX_YEAR)]


class Unprocessable(HubError):
    status = 422  # type: ignore[assignment]


class PartlyStored(HubError):
    status = 409  # type: ignore[assignment]


@contextmanager
def finance_problem() -> Iterator[None]:
    """Every domain refusal that lists its problems becomes a 422 with them as `errors`; a batch refused after
    some of its transactions were stored (`PartlyRecorded`) a 409 naming the lines stored (`recorded`) and
    not (`not_recorded`), with the refusal's `errors` (bad lines and fields) or `conflicts` (spend_ids stored
    with other values)."""
    from shared.errors import InvalidInput
    from shared.finance.service import PartlyRecorded, SpendIdConflict

    try:
        yield
    except PartlyRecorded as exc:
        refusal = exc.refusal
        details: dict[str, Any] = {
            "recorded": [entry.line.spend_id for entry in exc.recorded],
            "not_recorded": exc.not_recorded,
        }
        if isinstance(refusal, SpendIdConflict):
            details["conflicts"] = refusal.conflicts
        problems = getattr(refusal, "problems", None)
        if problems is not None:
            details["errors"] = [p.as_error() if isinstance(p, FieldProblem) else {"message": str(p)} for p in problems]
        raise PartlyStored(str(exc), **details) from None
    except InvalidInput as exc:
        problems = getattr(exc, "problems", None)
        if problems is None:
            raise Unprocessable(str(exc)) from None
        errors = [p.as_error() if isinstance(p, FieldProblem) else {"message": str(p)} for p in problems]
        raise Unprocessable(str(exc), errors=errors) from None


def spend_body_lines(body: dict[str, Any], idempotency_key: str | None) -> object:
    """The batch's lines: `{"lines": [...]}`, or one line whose `spend_id` may come from `Idempotency-Key`."""
    if "lines" in body:
        return body["lines"]
    line = dict(body)
    if "spend_id" not in line and idempotency_key:
        line["spend_id"] = idempotency_key
    return [line]


def spend_view(entry: StoredSpend, company_currency: str) -> dict[str, Any]:
    """A stored line as the API shows it: the contract's fields, its amount in the company currency and the rate
    used, and the lines that reversed and corrected it. A service-period line also shows the company amount
    each month it touches counts (`company_amount_by_month`, what its budget actuals hold); null otherwise."""
    by_month = None
    if entry.line.service_period is not None:
        by_month = {
            str(month): format_amount(Money(share, company_currency))
            for month, share in month_shares(entry.company_minor, entry.line.service_period).items()
        }
    return {
        **spend_record(entry.line),
        "company_amount": format_amount(Money(entry.company_minor, company_currency)),
        "company_currency": company_currency,
        "company_amount_by_month": by_month,
        "rate": plain(entry.rate),
        "recorded_at": entry.recorded_at.isoformat(),
        "reversed_by": entry.reversed_by,
        "corrected_by": entry.corrected_by,
    }
