"""A function's writes confined to a kind of item (`Function.writes_confined_to`, an IAM condition on the partition
key): `compose` refuses a confinement of a table the function does not write, and a prefix that is a pattern."""

from __future__ import annotations

import pytest

from shared.catalog import CATALOG, Domain, Function, Table, compose
from shared.catalog.handoffs import NOTICE_KEY_PREFIX

NOTES = Table(name="notes", partition_key="pk", sort_key="sk", access_patterns=("a note: pk=NOTE#<id>",))


def composed(function: Function) -> None:
    compose("events", (Domain("notes", "revops.notes", tables=(NOTES,), functions=(function,)),))


def test_the_handoff_notifier_writes_only_its_sent_markers_in_the_handoffs_table() -> None:
    notifier = CATALOG.function("handoff_notifier")
    assert notifier.writes_confined_to == {"handoffs": NOTICE_KEY_PREFIX}
    assert notifier.tables["handoffs"] == "read_write"  # it reads the handoffs it tells about


def test_a_confinement_of_a_table_the_function_does_not_write_is_refused() -> None:
    # Given a function that only reads the table it names
    reader = Function("reader", "reads", tables={NOTES.name: "read"}, writes_confined_to={NOTES.name: "NOTE#"})
    # When the catalog is composed, Then it is refused, naming the function and the table
    with pytest.raises(ValueError, match=r"reader confines its writes to 'notes', which it is not granted to write"):
        composed(reader)


@pytest.mark.parametrize("prefix", ["", "NOTE#*", "NOTE?"])
def test_a_prefix_that_is_not_literal_is_refused(prefix: str) -> None:
    writer = Function("writer", "writes", tables={NOTES.name: "read_write"}, writes_confined_to={NOTES.name: prefix})
    with pytest.raises(
        ValueError, match=r"writer: the key prefix its writes to 'notes' are confined to must be literal"
    ):
        composed(writer)


def test_a_confined_writer_composes() -> None:
    writer = Function("writer", "writes", tables={NOTES.name: "read_write"}, writes_confined_to={NOTES.name: "NOTE#"})
    composed(writer)
