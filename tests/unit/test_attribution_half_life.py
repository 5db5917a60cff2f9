"""The time-decay half-life is at least one second: a shorter one (which time decay, in whole microseconds,
would make none) is refused as the file or a comparison's candidate is read, a 400 naming the field and the
limit, never a crash while crediting."""

from __future__ import annotations

import pytest

from shared.attribution.journeys import Model
from shared.errors import InvalidInput
from tests.unit.test_attribution_config import attribution_dict, problems_of
from tests.unit.test_attribution_service import World, journey_of_three

LIMIT = "half_life_days: at least one second (1/86400 of a day, 0.0000115741 days)"


@pytest.mark.parametrize("half_life", ["0.00000000001", "0.00001", "0.0000115740740740740740740740"])
def test_a_half_life_under_a_second_is_refused_naming_the_field_and_the_limit(half_life: str) -> None:
    # Given a file whose half-life is under one second; When it is read; Then it is refused, naming the limit
    assert problems_of(attribution_dict(half_life_days=half_life)) == (f"{LIMIT}, not {half_life}",)


def test_comparing_with_a_tiny_half_life_is_a_400_naming_it_not_a_crash() -> None:
    # Given a won deal over three touches
    world = World()
    journey_of_three(world)
    world.won("D-1", "12000.00", email="kim@acme.io")
    body = {"from": "2026-11", "to": "2026-11", "candidate": {"half_life_days": "0.00000000001"}}
    # When the settings are compared with a half-life of 0.86 microseconds
    with pytest.raises(InvalidInput) as refused:
        world.service.compare(body)
    # Then it is an InvalidInput (a 400) naming the field and the limit
    assert f"{LIMIT}, not 0.00000000001" in str(refused.value)


def test_a_half_life_of_one_second_credits_exactly() -> None:
    # Given a won deal over three touches days apart
    world = World()
    journey_of_three(world)
    world.won("D-1", "12000.00", email="kim@acme.io")
    # When compared with a half-life of one second (rounded up to the file's digits)
    body = {"from": "2026-11", "to": "2026-11", "candidate": {"half_life_days": "0.0000115741"}}
    answer = world.service.compare(body)
    # Then time decay gives the whole deal to the closing touch, to the cent
    mail = answer["campaigns"]["mail"][Model.TIME_DECAY.value]
    assert mail["candidate"] == "12000.00"
