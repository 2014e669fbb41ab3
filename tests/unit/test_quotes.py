"""Quotes: pairing quote marks, scare quotes, speakers, speech verbs, split quotes, offsets."""

from typing import Any

import pytest

from newsflow.enrichment import enrich_fields
from newsflow.quotes import SPEECH_VERBS, find_quote_spans
from tests.unit.enrichment_helpers import seed, wire


def _texts(text: str) -> list[str]:
    return [text[s.start : s.end] for s in find_quote_spans(text)]


def _quote_starting(quotes: list[dict[str, Any]], prefix: str) -> dict[str, Any]:
    [quote] = [q for q in quotes if q["text"].startswith(prefix)]
    return quote


def _attribution(quote: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    return quote["speaker"], quote["speaker_text"], quote["verb"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('He said "we are ready to talk now" and left.', ["we are ready to talk now"]),
        ("He said “we are ready to talk now” and left.", ["we are ready to talk now"]),
        ("He said ‘we are ready to talk now’ and left.", ["we are ready to talk now"]),
        ("He said 'we are ready to talk now,' and left.", ["we are ready to talk now"]),
        # A quotation still open at the end of its paragraph runs to there.
        ('"We will rebuild the bridge.\n\n"It will take a year."',
         ["We will rebuild the bridge.", "It will take a year."]),
    ],
)
def test_quote_marks_are_paired(text: str, expected: list[str]) -> None:
    assert _texts(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "'Shared goal'",
        "Talks on a 'Geneva 2' conference stalled.",
        'The so-called "peace dividend" never came.',
        "Syria’s allies and the players' union don't agree, it's said.",
        "He was 'furious'.",
    ],
)
def test_scare_quotes_titles_and_apostrophes_are_not_quotes(text: str) -> None:
    assert _texts(text) == []


def test_single_quotes_inside_a_quotation_do_not_split_it() -> None:
    text = "“To kick start 'Geneva 2' talks that were stalled,” he adds."
    assert _texts(text) == ["To kick start 'Geneva 2' talks that were stalled"]


def test_speech_verbs_cover_the_usual_forms() -> None:
    assert {"said", "says", "told", "adds", "added", "underscored", "according", "insisted",
            "replied", "admitted"} <= SPEECH_VERBS


def test_seed_quotes_are_attributed_to_their_speakers() -> None:
    quotes = seed()["quotes"]
    assert _attribution(_quote_starting(quotes, "We are committed")) == (
        "John Kerry", "Kerry", "told")
    assert _attribution(_quote_starting(quotes, "it is very unfortunate")) == (
        "Sergey Lavrov", "Lavrov", "said")
    # A spokesman is not Lavrov: the speaker is the text as written, with no entity.
    spokesman = _quote_starting(quotes, "the logistics, process")
    assert _attribution(spokesman) == (None, "A spokesman for Lavrov", "said")
    assert spokesman["text"].endswith("The entire delegation will reconvene tomorrow morning.")
    # "he said" after a quote: the most recent person named outside quotes.
    assert _attribution(_quote_starting(quotes, "They know it is going")) == (
        "Neave Barker", "he", "said")
    assert _attribution(_quote_starting(quotes, "And the hope is also")) == (
        "Neave Barker", "he", "adds")  # curly quotes; Assad's (possessive) is passed over
    assert _attribution(_quote_starting(quotes, "an important step")) == (
        "Vladimir Putin", "He", "called")
    assert _attribution(_quote_starting(quotes, "This confirms the serious")) == (
        "Vladimir Putin", "He", "added")
    assert _attribution(_quote_starting(quotes, "This is not a game")) == (
        "John Kerry", "he", "said")
    statement = _quote_starting(quotes, "Secretary Kerry ... made clear")
    assert (statement["speaker"], statement["speaker_type"]) == ("US State Department", "ORG")


def test_seed_speakers_are_people_of_the_article() -> None:
    speakers = {q["speaker"] for q in seed()["quotes"] if q["speaker_type"] == "PERSON"}
    assert speakers == {"John Kerry", "Sergey Lavrov", "Neave Barker", "Vladimir Putin"}


def test_seed_heading_scare_quotes_and_nested_title_are_not_quotes() -> None:
    texts = [q["text"] for q in seed()["quotes"]]
    assert "Shared goal" not in texts and "Positive opportunity" not in texts
    assert "Geneva 2" not in texts


def test_quote_offsets_point_at_the_quoted_text() -> None:
    for article in (seed(), wire()):
        body = article["body"]
        for quote in article["quotes"]:
            assert body[quote["start"] : quote["end"]].startswith(quote["text"][:20])
            assert quote["text"].endswith(body[quote["end"] - 10 : quote["end"]])


def test_multi_sentence_curly_quote_around_its_attribution() -> None:
    quote = _quote_starting(wire()["quotes"], "We have been patient")
    assert _attribution(quote) == ("Maria Ostrowska", "union leader Maria Ostrowska", "told")
    assert quote["text"] == (
        "We have been patient for 18 months. Our members have kept this port running through"
        " storms, a pandemic and record volumes. They are not asking for charity, they are"
        " asking for a fair share."
    )


def test_a_quote_split_around_he_said_is_one_quote() -> None:
    quote = _quote_starting(wire()["quotes"], "The offer on the table")
    assert quote["text"] == (
        "The offer on the table is generous and it remains open if the union returns to talks."
    )
    assert _attribution(quote) == ("Daniel Hartmann", "chief executive Daniel Hartmann", "said")
    body = wire()["body"]
    assert body[quote["start"] : quote["end"]] == (
        'The offer on the table is generous," chief executive Daniel Hartmann said, '
        '"and it remains open if the union returns to talks.'
    )


def test_a_split_quote_that_starts_a_new_sentence_keeps_its_full_stop() -> None:
    body = ('Maria Lopez arrived late.\n\n"We will not give up on this town," she said. '
            '"The mill will reopen next year."')
    [quote] = enrich_fields({"body": body})["quotes"]
    assert quote["text"] == "We will not give up on this town. The mill will reopen next year."
    assert _attribution(quote) == ("Maria Lopez", "she", "said")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('"It was a long night and we are all tired," said John Smith, the mayor of Eastport.',
         ("John Smith", "John Smith", "said")),
        ('According to Peter Hall, "the plan is dead in the water."',
         ("Peter Hall", "Peter Hall", "according")),
        ('The Ministry of Defence said its soldiers had "acted within the rules at all times".',
         ("Ministry of Defence", "The Ministry of Defence", "said")),
        ("Harold Finch founded the firm. 'We want to build houses people can afford,' he said.",
         ("Harold Finch", "he", "said")),
    ],
)
def test_speaker_before_or_after_the_quote(
    body: str, expected: tuple[str, str, str]
) -> None:
    [quote] = enrich_fields({"body": body})["quotes"]
    assert _attribution(quote) == expected


def test_an_unattributed_quote_has_no_speaker() -> None:
    [quote] = enrich_fields({"body": 'The sign on the door read "closed until further notice".'})[
        "quotes"]
    assert _attribution(quote) == (None, None, None)
