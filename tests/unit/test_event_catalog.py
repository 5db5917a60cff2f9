"""docs/events.md: generated from the models, committed, and kept in step with them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from jsonschema import Draft4Validator

from shared.events.canonical import CanonicalEvent, EngagementKind, EventType, Subject
from shared.events.catalog_doc import COMMAND, DEFAULT_PATH, main, render
from shared.events.schemas import event_schema, schema_name
from shared.events.taxonomy import NOT_DESCRIBED, describe

JSON_BLOCK = re.compile(r"^## `(?P<type>[^`]+)`$.*?^```json\n(?P<json>.*?)^```$", re.MULTILINE | re.DOTALL)


@pytest.fixture(scope="module")
def document() -> str:
    return render()


def test_committed_catalog_is_up_to_date(document: str) -> None:
    # Given the committed docs/events.md
    committed = DEFAULT_PATH.read_text(encoding="utf-8") if DEFAULT_PATH.exists() else ""
    # Then it is exactly what the models generate now
    assert committed == document, (
        f"docs/events.md is out of date with shared/events/: run `{COMMAND}` and commit docs/events.md"
    )


def test_rendering_is_deterministic(document: str) -> None:
    assert render() == document


def test_every_event_type_has_a_row_a_section_and_a_schema_name(document: str) -> None:
    for event_type in EventType:
        assert f"| [`{event_type.value}`](#" in document
        assert f"\n## `{event_type.value}`\n" in document
        assert f"`{schema_name(event_type)}`" in document
        assert describe(event_type).meaning in document


def test_every_envelope_field_is_documented_with_its_model_description(document: str) -> None:
    for name, field in CanonicalEvent.model_fields.items():
        assert f"| `{name}` |" in document, name
        assert field.description, name
        assert field.description in document, name
    for name, field in Subject.model_fields.items():
        assert f"| `subject.{name}` |" in document, name
        assert field.description, name
        assert field.description in document, name


def test_engagement_kinds_come_from_the_enum(document: str) -> None:
    assert ", ".join(f"`{kind.value}`" for kind in EngagementKind) in document


def test_every_example_is_a_valid_event_of_its_type(document: str) -> None:
    # Given the example under each type's heading
    examples = {match["type"]: json.loads(match["json"]) for match in JSON_BLOCK.finditer(document)}
    assert set(examples) == {t.value for t in EventType}
    for type_name, example in examples.items():
        event_type = EventType(type_name)
        # Then it passes the schema the registry holds and parses back into the model
        errors = [e.message for e in Draft4Validator(event_schema(event_type)).iter_errors(example)]
        assert errors == [], type_name
        assert CanonicalEvent.model_validate(example["detail"]).event_type is event_type


def test_undescribed_types_are_flagged_rather_than_failing() -> None:
    assert describe("not.a.type") is NOT_DESCRIBED  # type: ignore[arg-type]
    assert "Not described yet" in NOT_DESCRIBED.meaning


def test_command_writes_and_checks_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "docs" / "events.md"
    # A missing or stale file fails the check, naming the command to run
    assert main([str(target), "--check"]) == 1
    assert COMMAND in capsys.readouterr().err
    # Writing it makes the check pass
    assert main([str(target)]) == 0
    assert target.read_text(encoding="utf-8") == render()
    assert main([str(target), "--check"]) == 0
    target.write_text("stale\n", encoding="utf-8")
    assert main([str(target), "--check"]) == 1
