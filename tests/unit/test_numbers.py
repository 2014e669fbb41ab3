"""Numbers: values as written, units, the object counted and the event."""

from typing import Any

import pytest

from newsflow.enrichment import enrich_fields
from newsflow.numbers import parse_value
from tests.unit.enrichment_helpers import seed, wire


def _number(numbers: list[dict[str, Any]], text: str) -> dict[str, Any]:
    [number] = [n for n in numbers if n["text"] == text]
    return number


@pytest.mark.parametrize(
    ("text", "value", "approximate"),
    [
        ("1,429", 1429, False),
        ("two million", 2_000_000, False),
        ("2.5 million", 2_500_000, False),
        ("hundreds", 200, True),
        ("tens of thousands", 20_000, True),
        ("a dozen", 12, False),
        ("twenty-five", 25, False),
        ("three hundred thousand", 300_000, False),
        ("about 300", 300, True),
        ("more than 3,000", 3000, True),
        ("$3bn", 3_000_000_000, False),
        ("£1.2m", 1_200_000, False),
        ("4.5%", 4.5, False),
        ("zero", 0, False),
    ],
)
def test_values_are_read_as_written(text: str, value: float, approximate: bool) -> None:
    assert parse_value(text) == (value, approximate)


def test_unit_suffixes_only_scale_counts_and_money() -> None:
    assert parse_value("5m", suffixes=False) == (5, False)
    assert parse_value("5m") == (5_000_000, False)


def test_words_without_a_number_have_no_value() -> None:
    assert parse_value("several")[0] is None
    assert parse_value("the")[0] is None


def test_seed_killing_of_1429_people() -> None:
    number = _number(seed()["numbers"], "1,429")
    assert (number["value"], number["kind"], number["object"], number["event"]) == (
        1429, "count", "people", "killing")
    assert seed()["body"][number["start"] : number["end"]] == "1,429"


def test_seed_hundreds_of_scientists_is_approximate() -> None:
    number = _number(seed()["numbers"], "hundreds")
    assert (number["value"], number["approximate"], number["object"]) == (200, True, "scientist")


def test_seed_dates_are_not_numbers() -> None:
    texts = {n["text"] for n in seed()["numbers"]}
    assert not texts & {"21", "28", "August 21", "2"}


def test_percentages_and_money_keep_their_unit() -> None:
    numbers = wire()["numbers"]
    assert {k: _number(numbers, "4.5%")[k] for k in ("value", "kind", "unit")} == {
        "value": 4.5, "kind": "percent", "unit": "%"}
    assert {k: _number(numbers, "15 percent")[k] for k in ("value", "kind", "unit")} == {
        "value": 15, "kind": "percent", "unit": "%"}
    assert {k: _number(numbers, "0.3 percentage points")[k] for k in ("value", "unit")} == {
        "value": 0.3, "unit": "percentage points"}
    assert {k: _number(numbers, "$12 million")[k] for k in ("value", "kind", "unit")} == {
        "value": 12_000_000, "kind": "money", "unit": "USD"}


def test_counted_objects_with_compounds_and_qualifiers() -> None:
    numbers = wire()["numbers"]
    workers = _number(numbers, "More than 3,000")
    assert (workers["value"], workers["approximate"], workers["object"]) == (
        3000, True, "dock workers")
    ships = _number(numbers, "About 40")
    assert (ships["value"], ships["object"], ships["event"]) == (40, "ships", "waiting")


def test_years_are_dates_not_numbers() -> None:
    numbers = enrich_fields({"body": "The strike is the first since 2019, when 250 workers "
                                     "were dismissed."})["numbers"]
    assert [(n["text"], n["value"], n["object"], n["event"]) for n in numbers] == [
        ("250", 250, "workers", "dismissed")]


def test_money_in_words_and_other_currencies() -> None:
    numbers = enrich_fields({"body": "The project will cost 1.2 billion euros, and the city "
                                     "has set aside £300,000 for a study. Each family paid "
                                     "Rs 24 lakh to the agent."})["numbers"]
    assert [(n["value"], n["unit"]) for n in numbers if n["kind"] == "money"] == [
        (1_200_000_000, "EUR"), (300_000, "GBP"), (2_400_000, "INR")]
