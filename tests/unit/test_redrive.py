"""Dead letters know their way home: the catalog names the function each queue belongs to."""

import json

import pytest

from shared.catalog import Catalog, Function, Rule
from shared.redrive import UnknownQueue, dead_letter

CATALOG = Catalog(
    bus_name="events",
    event_sources=(),
    tables=(),
    secrets=(),
    functions=(Function(name="scorer", description="", rules=(Rule("score-on-engagement", "", {"source": ["x"]}),)),),
)
EVENT = {"id": "e1", "detail-type": "engagement.recorded", "detail": {"n": 1}}


def test_a_lambda_destination_record_gives_back_the_original_event() -> None:
    record = {"requestContext": {"condition": "RetriesExhausted"}, "requestPayload": EVENT, "responsePayload": {}}
    letter = dead_letter(CATALOG, "scorer-async-failures", json.dumps(record))
    assert (letter.function.name, letter.event) == ("scorer", EVENT)


def test_an_eventbridge_dead_letter_is_the_event_itself() -> None:
    letter = dead_letter(CATALOG, "score-on-engagement-dlq", json.dumps(EVENT))
    assert (letter.function.name, letter.event) == ("scorer", EVENT)


def test_an_unknown_queue_names_the_known_ones() -> None:
    with pytest.raises(UnknownQueue, match="scorer-async-failures"):
        dead_letter(CATALOG, "nope", json.dumps(EVENT))
