"""A function's table grants (`Function.tables`): `compose` refuses a grant of a table no composed domain declares,
naming it, where CDK would fail on a bare KeyError at synth."""

from __future__ import annotations

import pytest

from shared.catalog import Domain, Function, compose


def test_a_grant_of_a_table_no_domain_declares_is_refused_naming_it() -> None:
    # Given a function granted a table of a domain the catalog does not compose
    reader = Function(name="reader", description="reads another domain's table", tables={"elsewhere": "read"})
    # When the catalog is composed, Then it is refused naming the function and the table (not a KeyError in CDK)
    with pytest.raises(ValueError, match="reader is granted tables no domain of the catalog declares: elsewhere"):
        compose("events", (Domain("readers", None, functions=(reader,)),))
