import json

import pytest

from newsflow.cleaning import (
    CleanDocument,
    CleaningError,
    clean_document,
    decode_text,
    detect_format,
)
from tests.conftest import DEMO, SEED

ARTICLES = DEMO / "site" / "articles"
LIBRARY = ARTICLES / "library-extends-hours.html"

# A Windows-1252 news paragraph in English with typographic quotes, dashes and a euro sign.
ENGLISH_CP1252 = (
    "Riverside’s council said on Tuesday that the “new budget” would cost €4.2 million "
    "— roughly 3 percent more than last year’s.\n\nThe mayor’s office declined to comment."
)
FRENCH_CP1252 = (
    "Le café était très agréable, à côté de la gare. Les élèves étudiaient ensemble "
    "pendant que leurs frères mangeaient des crêpes. « Déjà vu », dit-il."
)
GERMAN_CP1252 = (
    "Die Bürgermeisterin sagte am Dienstag, dass die Straße über den Fluß für größere "
    "Fahrzeuge gesperrt wird. „Wir müssen die Brücke schützen“, sagte sie."
)


@pytest.fixture(scope="module")
def library() -> CleanDocument:
    return clean_document(LIBRARY.read_bytes(), "html")


@pytest.fixture(scope="module")
def seed() -> CleanDocument:
    return clean_document(SEED.read_bytes(), "text")


# detect_format


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("text/plain", "text"),
        ("text/plain; charset=utf-8", "text"),
        ("TEXT/PLAIN", "text"),
        ("text/html", "html"),
        ("text/html; charset=windows-1252", "html"),
        ("application/xhtml+xml", "html"),
    ],
)
def test_known_content_type_decides_over_content(content_type: str, expected: str) -> None:
    # the content says the opposite of the type, so sniffing would give the other answer
    content = b"Just words." if expected == "html" else b"<!doctype html><html></html>"
    assert detect_format(content_type, content) == expected


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"<!DOCTYPE html>\n<html lang='en'>", "html"),
        (b"<!doctype HTML>", "html"),
        (b"\n\n   <HTML><body>", "html"),
        (b"<?xml version='1.0'?><html xmlns='http://www.w3.org/1999/xhtml'>", "html"),
        (b"US and Russia seek Syria peace talks revival\n\nGeneva meetings", "text"),
        (b"", "text"),
    ],
)
def test_unknown_type_is_sniffed_from_the_content(content: bytes, expected: str) -> None:
    assert detect_format(None, content) == expected
    assert detect_format("application/octet-stream", content) == expected


def test_demo_files_are_sniffed_by_their_content() -> None:
    assert detect_format(None, LIBRARY.read_bytes()) == "html"
    assert detect_format(None, (DEMO / "drop" / "harbour-gallery.html").read_bytes()) == "html"
    assert detect_format(None, SEED.read_bytes()) == "text"


def test_html_with_byte_order_mark_is_sniffed_as_html() -> None:
    assert detect_format(None, b"\xef\xbb\xbf<!DOCTYPE html>\n<html lang='en'>") == "html"


# decode_text


def test_utf8_with_bom_is_decoded_without_the_bom() -> None:
    assert decode_text(b"\xef\xbb\xbfCaf\xc3\xa9 na\xc3\xafve \xe2\x80\x9cquoted\xe2\x80\x9d") == (
        "Café naïve “quoted”"
    )


def test_nul_characters_are_dropped_from_decoded_text() -> None:
    assert decode_text(b"A NUL\x00 here") == "A NUL here"
    assert decode_text("Ünïcode\x00".encode("utf-16")) == "Ünïcode"


def test_utf8_without_bom_is_decoded() -> None:
    assert decode_text("Zoë’s report — 5 €".encode()) == "Zoë’s report — 5 €"


def test_cp1252_bytes_are_decoded_via_detection() -> None:
    content = GERMAN_CP1252.encode("cp1252")
    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")
    assert decode_text(content) == GERMAN_CP1252


@pytest.mark.parametrize("text", [ENGLISH_CP1252, FRENCH_CP1252], ids=["english", "french"])
def test_cp1252_news_text_is_decoded_without_mojibake(text: str) -> None:
    assert decode_text(text.encode("cp1252")) == text


# clean_document on the demo site


def test_demo_article_keeps_its_subheading(library: CleanDocument) -> None:
    assert library.format == "html"
    assert library.headings == ["Board divided over cost"]
    assert "Board divided over cost" not in library.paragraphs


def test_demo_article_body_starts_and_ends_with_the_story(library: CleanDocument) -> None:
    assert library.paragraphs[0].startswith(
        "The Riverside Public Library will open its main branch on Sundays"
    )
    assert library.paragraphs[-1].startswith("Supporters who spoke at Wednesday's meeting")
    assert len(library.paragraphs) == 8


@pytest.mark.parametrize(
    "clutter",
    [
        "cookies",
        "Cookie Settings",
        "Morning Briefing",
        "inbox every weekday",
        "Related stories",
        "Cannery Brewing",
        "Share on Facebook",
        "All rights reserved",
    ],
)
def test_demo_article_paragraphs_drop_page_clutter(library: CleanDocument, clutter: str) -> None:
    assert not [p for p in library.paragraphs if clutter in p]
    assert clutter not in library.headings


def test_demo_article_metadata(library: CleanDocument) -> None:
    assert library.canonical_url == "https://gazette.example/news/library-extends-hours"
    assert library.language == "en"
    assert library.title == "Riverside library to open on Sundays and stay open later on weeknights"
    assert library.authors == ["Daniel Reyes", "Priya Natarajan"]
    assert library.site_name == "Riverside Gazette"
    assert library.published is not None
    assert library.published.startswith("2026-11-19")
    assert library.subtitle == (
        "The library board voted 5-2 to add 16 hours of weekly service at the main branch "
        "starting Jan. 4, 2027."
    )


@pytest.mark.parametrize(
    ("name", "canonical", "heading"),
    [
        (
            "mill-street-bridge-closure.html",
            "https://gazette.example/news/mill-street-bridge-closure",
            "What the inspections found",
        ),
        (
            "cannery-brewing-expansion.html",
            "https://gazette.example/news/cannery-brewing-expansion",
            "Tax break and a new lease",
        ),
    ],
)
def test_every_demo_article_has_canonical_link_and_heading(
    name: str, canonical: str, heading: str
) -> None:
    document = clean_document((ARTICLES / name).read_bytes(), "html")
    assert document.canonical_url == canonical
    assert document.headings == [heading]
    assert document.language == "en"


def test_html_without_canonical_link_and_lang_gets_none() -> None:
    html = (
        b"<html><head><title>Ferry timetable changes</title></head><body><article>"
        b"<h1>Ferry timetable changes</h1>"
        b"<p>The Tamsen Valley ferry will run every 20 minutes from Monday, the operator said, "
        b"replacing the half-hourly service that has run since the spring.</p>"
        b"<p>Weekend crossings keep their current times, and the last boat still leaves the "
        b"north landing at 11 p.m. on weeknights.</p>"
        b"</article></body></html>"
    )
    document = clean_document(html, "html")
    assert document.canonical_url is None
    assert document.language is None
    assert document.paragraphs[0].startswith("The Tamsen Valley ferry will run every 20 minutes")


# clean_document on the seed text


def test_seed_is_cleaned_as_text(seed: CleanDocument) -> None:
    assert seed.format == "text"
    assert seed.title == "US and Russia seek Syria peace talks revival"
    assert seed.source == "Al Jazeera and agencies"
    assert seed.headings == ["Shared goal", "Positive opportunity"]
    assert seed.authors == []
    assert seed.canonical_url is None
    assert seed.language is None
    assert len(seed.paragraphs) == 21
    assert seed.paragraphs[0].startswith("US Secretary of State John Kerry")


# failures


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (
            b"<html><head><title>Empty</title></head><body></body></html>",
            "trafilatura found no main text",
        ),
        (
            b"<html><head><title>x</title></head>"
            b"<body><nav><a href='/'>Home</a></nav></body></html>",
            "no article text found",
        ),
        (b"", "unparseable HTML"),
    ],
)
def test_html_page_without_text_raises_cleaning_error(content: bytes, reason: str) -> None:
    with pytest.raises(CleaningError) as caught:
        clean_document(content, "html")
    assert str(caught.value) == reason


def test_empty_text_raises_cleaning_error() -> None:
    with pytest.raises(CleaningError, match="^no article text found$"):
        clean_document(b"\n\n  \n", "text")


# staging round trip


def test_clean_document_round_trips_through_plain_data(library: CleanDocument) -> None:
    data = library.to_dict()
    assert data["canonical_url"] == "https://gazette.example/news/library-extends-hours"
    assert data["headings"] == ["Board divided over cost"]
    assert CleanDocument.from_dict(data) == library


def test_clean_document_round_trips_through_json(seed: CleanDocument) -> None:
    staged = json.loads(json.dumps(seed.to_dict()))
    assert CleanDocument.from_dict(staged) == seed
