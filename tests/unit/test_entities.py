"""Entities: cleaning of mentions, merging within an article, and the seed's people and places."""

import pytest
from spacy.tokens import Doc, Span

from newsflow.enrichment import load_model
from newsflow.entities import Mention, clean_mention, merge_mentions, normalise_name
from tests.unit.enrichment_helpers import by_name, seed, seed_fields


def _mention(start: int, text: str, label: str) -> Mention:
    return Mention(start, start + len(text), text, label)


def test_a_surname_after_a_full_name_is_that_person() -> None:
    entities = merge_mentions([
        _mention(0, "John Kerry", "PERSON"),
        _mention(40, "Kerry", "PERSON"),
        _mention(90, "Kerry", "PERSON"),
    ])
    assert [(e.name, e.type, e.spans) for e in entities] == [
        ("John Kerry", "PERSON", [(0, 10), (40, 45), (90, 95)]),
    ]


def test_a_surname_goes_to_the_nearest_full_name_before_it() -> None:
    entities = merge_mentions([
        _mention(0, "Bill Clinton", "PERSON"),
        _mention(50, "Hillary Clinton", "PERSON"),
        _mention(100, "Clinton", "PERSON"),
    ])
    assert {e.name: len(e.mentions) for e in entities} == {"Bill Clinton": 1, "Hillary Clinton": 2}


def test_a_surname_before_the_full_name_still_joins_it() -> None:
    entities = merge_mentions(
        [_mention(0, "Barker", "ORG"), _mention(30, "Neave Barker", "PERSON")]
    )
    assert [(e.name, e.type, len(e.mentions)) for e in entities] == [("Neave Barker", "PERSON", 2)]


def test_a_surname_mistagged_as_organisation_is_still_the_person() -> None:
    entities = merge_mentions([
        _mention(0, "Sergey Lavrov", "PERSON"),
        _mention(30, "Lavrov", "ORG"),
        _mention(60, "Lavrov", "ORG"),
        _mention(90, "Lavrov", "ORG"),
    ])
    assert [(e.name, e.type, len(e.mentions)) for e in entities] == [("Sergey Lavrov", "PERSON", 4)]


def test_a_name_tagged_differently_takes_the_majority_type() -> None:
    entities = merge_mentions([
        _mention(0, "Gazprom", "PERSON"),
        _mention(30, "Gazprom", "ORG"),
        _mention(60, "Gazprom", "ORG"),
    ])
    assert [(e.name, e.type, len(e.mentions)) for e in entities] == [("Gazprom", "ORG", 3)]


def test_a_tie_goes_to_the_type_of_the_longest_mention() -> None:
    entities = merge_mentions([_mention(0, "Jordan", "GPE"), _mention(30, "jordan", "PERSON")])
    assert [(e.name, e.type) for e in entities] == [("Jordan", "GPE")]
    entities = merge_mentions([
        _mention(0, "Blix", "ORG"), _mention(10, "Hans Blix", "ORG"),
        _mention(30, "Hans Blix", "PERSON"), _mention(50, "Blix", "PERSON"),
    ])
    # The surname mentions join the full name and count as the person.
    assert [(e.name, e.type, len(e.mentions)) for e in entities] == [("Hans Blix", "PERSON", 4)]


def _span(words: list[str], start: int, end: int, label: str) -> Span:
    doc = Doc(load_model().vocab, words=words)
    return Span(doc, start, end, label=label)


@pytest.mark.parametrize(
    ("words", "start", "end", "label", "expected"),
    [
        (["the", "Middle", "East", "today"], 0, 3, "LOC", "Middle East"),
        (["The", "United", "Nations", "'s", "envoy"], 0, 4, "ORG", "United Nations"),
        (["Al", "Jazeera", "’s", "Neave"], 0, 3, "ORG", "Al Jazeera"),
        (["Mr", "Kerry", "said"], 0, 2, "PERSON", "Kerry"),
        (["the", "U.S.", "said"], 0, 2, "GPE", "United States"),
        (["'", "Geneva", "2", "'"], 0, 4, "EVENT", "Geneva 2"),
    ],
)
def test_mentions_lose_articles_possessives_and_honorifics(
    words: list[str], start: int, end: int, label: str, expected: str
) -> None:
    mention = clean_mention(_span(words, start, end, label))
    assert mention is not None
    assert mention.text == expected
    assert mention.possessive == ("'s" in words or "’s" in words)


@pytest.mark.parametrize(
    ("words", "start", "end", "label"),
    [
        (["the", "secretary", "of", "state", "said"], 3, 4, "ORG"),  # lower case
        (["US", "Secretary", "of", "State", "John"], 3, 4, "ORG"),  # a title, not a name
        (["around", "September", "28", "to"], 1, 3, "EVENT"),  # a date tagged as an event
        (["it", "was", "1,429", "people"], 2, 3, "CARDINAL"),  # not a kind of entity
    ],
)
def test_words_that_are_not_names_are_dropped(
    words: list[str], start: int, end: int, label: str
) -> None:
    assert clean_mention(_span(words, start, end, label)) is None


def test_normalise_name_unifies_spelling() -> None:
    assert normalise_name("Al  Jazeera’s") == "Al Jazeera's"
    assert normalise_name("U.K.") == normalise_name("Britain") == "United Kingdom"
    assert normalise_name("US") == normalise_name("USA") == "United States"


def test_the_spellings_of_a_country_are_one_entity() -> None:
    # The seed writes "US" six times and "the United States" once.
    [country] = [e for e in seed()["entities"] if e["name"] == "United States"]
    assert (country["type"], country["mentions"]) == ("GPE", 7)
    assert "US" not in {e["name"] for e in seed()["entities"]}


def test_seed_people_places_and_organisations() -> None:
    entities = by_name(seed()["entities"])
    people = {name for name, e in entities.items() if e["type"] == "PERSON"}
    # Blix is named in a video caption, which extraction keeps apart from the body.
    assert {"John Kerry", "Sergey Lavrov", "Lakhdar Brahimi", "Vladimir Putin", "Assad",
            "Neave Barker", "Hans Blix"} <= people
    assert entities["John Kerry"]["mentions"] >= 6  # "Kerry" merged into the full name
    assert "Kerry" not in entities and "Lavrov" not in entities and "Barker" not in entities
    for place in ("Syria", "Geneva", "Damascus", "Russia", "Middle East", "New York"):
        assert entities[place]["type"] in ("GPE", "LOC"), place
    assert entities["Al Jazeera"]["type"] == "ORG"
    assert entities["UN General Assembly"]["type"] == "ORG"
    assert "State" not in entities and "state" not in entities


def test_seed_clutter_yields_no_entities() -> None:
    names = " ".join(entity["name"] for entity in seed()["entities"])
    for clutter in ("Riyadh", "Stalin", "Pilger", "Saudi", "Moscow"):
        assert clutter not in names
    assert "Riyadh" not in seed_fields()["body"]


def test_seed_mention_offsets_point_at_the_mentions() -> None:
    text = "\n\n".join([seed()["body"], *seed()["captions"]])  # enrichment.analysed_text
    for entity in seed()["entities"]:
        for start, end in entity["spans"]:
            written = normalise_name(text[start:end])
            assert written in entity["name"] or entity["name"].endswith(written), entity
