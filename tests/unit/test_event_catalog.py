"""docs/events.md: generated from the event families, committed, and kept in step with them."""

from __future__ import annotations

import json
import re
from collections import Counter
from enum import StrEnum
from pathlib import Path

import pytest
from jsonschema import Draft4Validator

from shared.events.canonical import EngagementKind, Subject
from shared.events.catalog_doc import COMMAND, DEFAULT_PATH, main, render
from shared.events.families import FAMILIES, EventFamily, family_of
from shared.events.lead_events import LeadEventType
from shared.events.lead_taxonomy import TYPE_SPECIFIC_FIELDS
from shared.events.lead_taxonomy import describe as describe_lead
from shared.events.schemas import event_schema, schema_name
from shared.events.taxonomy import NOT_DESCRIBED, describe

ALL_TYPES: list[StrEnum] = [event_type for family in FAMILIES for event_type in family.types]
JSON_BLOCK = re.compile(
    r"^### `(?P<type>[^`]+)`(?: \((?P<family>[^)]+)\))?$.*?^```json\n(?P<json>.*?)^```$", re.MULTILINE | re.DOTALL
)
HEADING = re.compile(r"^#{1,6} (?P<text>.+)$", re.MULTILINE)
LINK = re.compile(r"\]\(#(?P<anchor>[^)]+)\)")


@pytest.fixture(scope="module")
def document() -> str:
    return render()


def _family_section(document: str, family: EventFamily) -> str:
    """The part of the document under the family's own heading, up to the next family's."""
    start = document.index(f"\n## {family.title} (`{family.source}`)\n")
    end = document.find("\n## ", start + 1)
    return document[start : end if end != -1 else len(document)]


def _github_anchor(heading: str) -> str:
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def test_committed_catalog_is_up_to_date(document: str) -> None:
    # Given the committed docs/events.md
    committed = DEFAULT_PATH.read_text(encoding="utf-8") if DEFAULT_PATH.exists() else ""
    # Then it is exactly what the models generate now
    assert committed == document, (
        f"docs/events.md is out of date with shared/events/: run `{COMMAND}` and commit docs/events.md"
    )


def test_rendering_is_deterministic(document: str) -> None:
    assert render() == document


def test_the_introduction_lists_every_source(document: str) -> None:
    introduction = document[: document.index("\n## ")]
    for family in FAMILIES:
        assert f"| `{family.source}` | [{family.title}](#" in introduction
        assert f"`{family.detail_model.__name__}` | `{family.schema_version}` |" in introduction


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.source)
def test_every_family_has_a_section_with_its_source_model_and_rule(family: EventFamily, document: str) -> None:
    section = _family_section(document, family)
    assert family.summary in section
    assert f"- `source` is `{family.source}`;" in section
    assert f"- `detail` is a `{family.detail_model.__name__}`, schema version `{family.schema_version}`." in section
    assert json.dumps({"source": [family.source], "detail-type": [family.types[0].value]}) in section
    assert f"\n#### `detail`: {family.detail_model.__name__}\n" in section


@pytest.mark.parametrize("event_type", ALL_TYPES, ids=schema_name)
def test_every_event_type_has_a_row_a_section_and_a_schema_name_in_its_familys_part(
    event_type: StrEnum, document: str
) -> None:
    family = family_of(event_type)
    section = _family_section(document, family)
    assert f"| [`{event_type.value}`](#" in section
    # a type name two families share is headed with its family's name as well
    assert f"\n### `{event_type.value}`\n" in section or f"\n### `{event_type.value}` ({family.name})\n" in section
    assert f"`{schema_name(event_type)}`" in section
    assert family.meaning(event_type) in section
    assert family.described(event_type), f"{schema_name(event_type)} is not described"


def test_headings_are_unique_and_every_link_reaches_one(document: str) -> None:
    anchors = Counter(_github_anchor(match["text"]) for match in HEADING.finditer(document.split("-->", 1)[1]))
    assert [anchor for anchor, count in anchors.items() if count > 1] == []
    assert {match["anchor"] for match in LINK.finditer(document)} <= set(anchors)


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.source)
def test_every_detail_field_is_documented_with_its_model_description(family: EventFamily, document: str) -> None:
    section = _family_section(document, family)
    for name, field in family.detail_model.model_fields.items():
        assert f"| `{name}` |" in section, name
        assert field.description, name
        assert field.description in section, name


def test_canonical_subject_fields_are_documented(document: str) -> None:
    for name, field in Subject.model_fields.items():
        assert f"| `subject.{name}` |" in document, name
        assert field.description, name
        assert field.description in document, name


def test_engagement_kinds_come_from_the_enum(document: str) -> None:
    assert ", ".join(f"`{kind.value}`" for kind in EngagementKind) in document


def test_lead_types_say_which_type_specific_fields_they_set(document: str) -> None:
    for event_type in LeadEventType:
        sets = describe_lead(event_type).sets
        assert set(sets) <= set(TYPE_SPECIFIC_FIELDS)
        row = next(line for line in document.splitlines() if line.startswith(f"| [`{event_type.value}`]"))
        assert row.endswith(" | " + ", ".join(f"`{name}`" for name in sets) + " |"), row


def test_every_example_is_a_valid_event_of_its_type(document: str) -> None:
    # Given the example under each type's heading
    examples = {
        (match["type"], json.loads(match["json"])["source"]): json.loads(match["json"])
        for match in JSON_BLOCK.finditer(document)
    }
    by_name = {(event_type.value, family_of(event_type).source): event_type for event_type in ALL_TYPES}
    assert set(examples) == set(by_name)
    for type_name, example in examples.items():
        event_type = by_name[type_name]
        family = family_of(event_type)
        # Then it comes from its family's source, passes the schema the registry holds and parses back
        assert example["source"] == family.source
        errors = [e.message for e in Draft4Validator(event_schema(event_type)).iter_errors(example)]
        assert errors == [], type_name
        assert family.detail_model.model_validate(example["detail"]).model_dump()["event_type"] is event_type


def test_undescribed_types_are_flagged_rather_than_failing() -> None:
    assert describe("not.a.type") is NOT_DESCRIBED  # type: ignore[arg-type]
    assert "Not described yet" in NOT_DESCRIBED.meaning
    assert not describe_lead("lead.not_a_type").described  # type: ignore[arg-type]


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
