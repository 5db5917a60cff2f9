"""Anonymizing free-form data: the person's events leave a batch whole, their email and name leave any text,
other people's data stays as it was; a body that is not JSON is dropped whole."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from shared.privacy.model import Needles, Person
from shared.privacy.redaction import ERASED_TEXT, mentions, redact, redact_body

GRETA = Person(
    email="greta@fjord.io",
    contact_ids=("c-1",),
    identity_keys=("email#greta@fjord.io", "segment#user-7", "hubspot#501"),
    names=("Greta Lindqvist", "Lindqvist", "Greta"),
)


def test_her_events_leave_a_batch_whole_and_the_others_stay() -> None:
    # Given a Segment batch with her identify, her track (by user id only) and someone else's page
    batch = {
        "batch": [
            {"type": "identify", "userId": "user-7", "traits": {"email": "GRETA@fjord.io", "title": "VP"}},
            {"type": "track", "userId": "user-7", "event": "Demo Requested"},
            {"type": "page", "userId": "user-9", "name": "Home"},
        ]
    }
    # When it is redacted
    redacted, changed = redact(batch, GRETA.needles)
    # Then her two events are gone whole, the other one is as it was
    assert changed
    assert redacted["batch"][:2] == [{"erased": True}, {"erased": True}]
    assert redacted["batch"][2] == batch["batch"][2]


def test_her_email_and_name_leave_any_text_and_numbers_equal_to_her_ids_too() -> None:
    document = {"note": "call Greta Lindqvist tomorrow", "objectId": 501, "owner": "sam@fjord.io", "count": 5}
    redacted, changed = redact(document, GRETA.needles)
    assert changed
    assert redacted == {"note": ERASED_TEXT, "objectId": ERASED_TEXT, "owner": "sam@fjord.io", "count": 5}


def test_a_body_without_her_is_the_same_bytes_and_a_body_that_is_not_json_is_dropped() -> None:
    untouched = b'{"a": "sam@fjord.io"}'
    assert redact_body(untouched, GRETA.needles) is untouched
    assert redact_body(b"<soapenv:Envelope>greta@fjord.io</soapenv:Envelope>", GRETA.needles) is None
    assert json.loads(redact_body(b'[{"email": "greta@fjord.io"}, {"email": "x@y.io"}]', GRETA.needles) or b"") == [
        {"erased": True},
        {"email": "x@y.io"},
    ]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=30,
)
hers = st.sampled_from(["greta@fjord.io", "Greta Lindqvist", "user-7", "x GRETA@FJORD.IO y", 501])


@given(value=json_values, planted=hers, where=st.integers(min_value=0, max_value=3))
def test_whatever_the_document_nothing_of_her_is_left(value: object, planted: object, where: int) -> None:
    # Given any JSON document with one of her identifiers planted somewhere
    document = [value, {"x": planted}] if where % 2 else {"k": [value, planted]}
    # When it is redacted; Then nothing in it names her any longer
    redacted, changed = redact(document, GRETA.needles)
    assert changed
    assert not mentions(redacted, GRETA.needles)


def test_needles_are_case_insensitive_and_short_names_are_not_needles() -> None:
    needles = Person(email="a@b.io", names=("Al",)).needles
    assert needles == Needles(exact=frozenset(), contained=("a@b.io",))
    assert needles.found_in("Mail A@B.IO now")
