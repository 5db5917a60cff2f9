"""The catalog gives every function serving /api/v1 the audit table to append to, once, in `compose`."""

from __future__ import annotations

from shared.catalog import CATALOG, Domain, Function, Group, Route, Table, ThrottleDomain, compose
from shared.catalog.audit import AUDIT


def test_the_audit_table_is_append_only_and_expires_by_retention() -> None:
    assert AUDIT.append_only
    assert AUDIT.ttl_attribute == "expires_at"
    assert [table.name for table in CATALOG.tables if table.append_only] == [AUDIT.name]


def test_every_function_serving_api_v1_appends_and_no_other_function_touches_the_trail() -> None:
    for fn in CATALOG.functions:
        serves_api = any(route.path.startswith("/api/v1/") for route in fn.routes)
        if fn.name == "audit_api":
            assert fn.tables[AUDIT.name] == "read_append"
        elif serves_api or fn.name == "audit_gateway_refusals":  # it records the API's requests API Gateway refused
            assert fn.tables[AUDIT.name] == "append", fn.name
        else:
            assert AUDIT.name not in fn.tables, fn.name


def test_compose_grants_append_without_the_domain_restating_it() -> None:
    # Given a domain whose API function names no audit table, and one that only reads a table
    api = Function(
        name="thing_api",
        description="x",
        routes=(Route("POST", "/api/v1/things", "make", "Make", ThrottleDomain.ADMIN, frozenset({Group.ADMIN})),),
        tables={"things": "read_write"},
    )
    consumer = Function(name="thing_consumer", description="x", tables={"things": "read"})
    trail = Table("trail", "pk", "sk", (), append_only=True)
    things = Table("things", "pk", "sk", ())
    # When composed
    catalog = compose("bus", (Domain("things", None, (things, trail), functions=(api, consumer)),))
    # Then the API function appends to the trail, and the consumer is untouched
    assert catalog.function("thing_api").tables == {"things": "read_write", "trail": "append"}
    assert catalog.function("thing_consumer").tables == {"things": "read"}


def test_a_route_naming_its_subject_is_audited_and_the_privacy_routes_name_theirs() -> None:
    # A declared subject is only of use on a route the trail records: a write, or an audited read
    declared = {route.key: route.audit_subject for _, route in CATALOG.routes if route.audit_subject}
    for _, route in CATALOG.routes:
        if route.audit_subject:
            assert route.path.startswith("/api/v1/"), route.key
            assert route.method != "GET" or route.audited_read, route.key
    assert declared == {"GET /api/v1/privacy/export": "email", "POST /api/v1/privacy/erasure": "email"}
