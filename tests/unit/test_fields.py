import pytest

from newsflow.cleaning import CleanDocument, clean_document
from newsflow.fields import ARTICLE_KEYS, build_fields, extract_article, normalise_date
from tests.conftest import DEMO, SEED

LIBRARY = DEMO / "site" / "articles" / "library-extends-hours.html"


def _document(**overrides: object) -> CleanDocument:
    values: dict[str, object] = {
        "format": "html",
        "paragraphs": ["First paragraph of the story.", "Second paragraph of the story."],
    }
    values.update(overrides)
    return CleanDocument(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-19", "2026-11-19"),
        ("  2026-11-19  ", "2026-11-19"),
        ("2026-11-19T14:15:00Z", "2026-11-19T14:15:00+00:00"),
        ("2026-11-19T14:15:00-05:00", "2026-11-19T14:15:00-05:00"),
        ("2026-11-19T14:15:00+01:00", "2026-11-19T14:15:00+01:00"),
        ("2026-11-19T00:00:00", "2026-11-19T00:00:00"),
        ("Tue, 17 Nov 2026 08:30:00 -0500", "2026-11-17T08:30:00-05:00"),
        ("Tue, 17 Nov 2026 08:30:00 GMT", "2026-11-17T08:30:00+00:00"),
    ],
)
def test_normalise_date_reads_iso_and_rfc822(value: str, expected: str) -> None:
    assert normalise_date(value) == expected


@pytest.mark.parametrize("value", ["garbage", "yesterday afternoon", "", "   ", None])
def test_normalise_date_gives_none_for_non_dates(value: str | None) -> None:
    assert normalise_date(value) is None


def test_canonical_link_wins_over_fetch_url_and_is_canonicalised() -> None:
    document = _document(
        canonical_url="https://Gazette.EXAMPLE:443/news/library-extends-hours?utm_source=rss#top"
    )
    fields = build_fields(
        document,
        input_="http://127.0.0.1:8765/articles/library-extends-hours.html",
        url="http://127.0.0.1:8765/articles/library-extends-hours.html",
        page_key="http://127.0.0.1:8765/articles/library-extends-hours.html",
    )
    assert fields["canonical_url"] == "https://gazette.example/news/library-extends-hours"
    assert fields["article_key"] == "https://gazette.example/news/library-extends-hours"
    assert fields["url"] == "http://127.0.0.1:8765/articles/library-extends-hours.html"


def test_fetch_url_is_canonicalised_when_page_has_no_canonical_link() -> None:
    url = "http://127.0.0.1:80/articles/story.html?utm_source=rss&utm_medium=feed#comments"
    fields = build_fields(_document(), input_=url, url=url, page_key="unused")
    assert fields["canonical_url"] == "http://127.0.0.1/articles/story.html"
    assert fields["article_key"] == "http://127.0.0.1/articles/story.html"
    assert fields["url"] == url


def test_demo_article_gets_canonical_key_from_its_link() -> None:
    document = clean_document(LIBRARY.read_bytes(), "html")
    fetched = "http://127.0.0.1:8765/articles/library-extends-hours.html?utm_source=rss"
    fields = build_fields(document, input_=fetched, url=fetched)
    assert fields["canonical_url"] == "https://gazette.example/news/library-extends-hours"
    assert fields["article_key"] == "https://gazette.example/news/library-extends-hours"
    assert fields["title"] == (
        "Riverside library to open on Sundays and stay open later on weeknights"
    )
    assert fields["authors"] == ["Daniel Reyes", "Priya Natarajan"]
    assert fields["headings"] == ["Board divided over cost"]
    assert fields["language"] == "en"


def test_upper_case_scheme_in_canonical_link_is_still_canonical() -> None:
    fields = build_fields(
        _document(canonical_url="HTTPS://Gazette.Example/news/library-extends-hours"),
        input_="http://127.0.0.1:8765/articles/library-extends-hours.html",
        url="http://127.0.0.1:8765/articles/library-extends-hours.html",
        page_key="http://127.0.0.1:8765/articles/library-extends-hours.html",
    )
    assert fields["canonical_url"] == "https://gazette.example/news/library-extends-hours"
    assert fields["article_key"] == "https://gazette.example/news/library-extends-hours"


def test_file_article_key_falls_back_to_page_key() -> None:
    fields = build_fields(
        _document(format="text"),
        input_="/drop/story.txt",
        page_key="file:demo-drop/story.txt#0123456789abcdef",
    )
    assert fields["canonical_url"] is None
    assert fields["url"] is None
    assert fields["article_key"] == "file:demo-drop/story.txt#0123456789abcdef"


def test_article_key_falls_back_to_input_without_page_key() -> None:
    fields = build_fields(_document(format="text"), input_="/drop/story.txt")
    assert fields["article_key"] == "/drop/story.txt"


def test_non_http_canonical_link_is_ignored() -> None:
    fields = build_fields(
        _document(canonical_url="ftp://gazette.example/news/story"),
        input_="/drop/story.html",
        page_key="file:drop/story.html#aaaaaaaaaaaaaaaa",
    )
    assert fields["canonical_url"] is None
    assert fields["article_key"] == "file:drop/story.html#aaaaaaaaaaaaaaaa"


def test_feed_hints_fill_missing_page_fields() -> None:
    hints = {
        "title": "Cannery Brewing to add 40 jobs",
        "authors": ["Tomas Whitfield"],
        "published": "Fri, 20 Nov 2026 10:00:00 -0500",
        "summary": "The Riverside brewer plans to nearly triple its capacity.",
    }
    fields = build_fields(_document(), input_="http://x.example/a", hints=hints)
    assert fields["title"] == "Cannery Brewing to add 40 jobs"
    assert fields["authors"] == ["Tomas Whitfield"]
    assert fields["published_at"] == "2026-11-20T10:00:00-05:00"


def test_feed_hints_do_not_override_page_values() -> None:
    document = _document(
        title="Page title", authors=["Ana Lopez"], published="2026-11-17T08:30:00-05:00"
    )
    hints = {
        "title": "Feed title",
        "authors": ["Someone Else"],
        "published": "Fri, 20 Nov 2026 10:00:00 -0500",
    }
    fields = build_fields(document, input_="http://x.example/a", hints=hints)
    assert fields["title"] == "Page title"
    assert fields["authors"] == ["Ana Lopez"]
    assert fields["published_at"] == "2026-11-17T08:30:00-05:00"


def test_unparseable_page_date_falls_back_to_feed_date() -> None:
    fields = build_fields(
        _document(published="last Tuesday"),
        input_="http://x.example/a",
        hints={"published": "2026-11-20"},
    )
    assert fields["published_at"] == "2026-11-20"


def test_authors_are_deduplicated_case_insensitively_in_order() -> None:
    document = _document(authors=["Ana Lopez", "ANA LOPEZ", "Daniel Reyes", "ana lopez"])
    fields = build_fields(document, input_="x")
    assert fields["authors"] == ["Ana Lopez", "Daniel Reyes"]


def test_hint_authors_are_deduplicated_too() -> None:
    fields = build_fields(
        _document(), input_="x", hints={"authors": ["Priya Natarajan", "priya natarajan"]}
    )
    assert fields["authors"] == ["Priya Natarajan"]


def test_word_count_counts_word_tokens_of_the_body() -> None:
    fields = build_fields(_document(paragraphs=["Hello, world!", "It's 3 o'clock."]), input_="x")
    # \w+ tokens: Hello, world, It, s, 3, o, clock
    assert fields["word_count"] == 7


def test_body_joins_paragraphs_with_a_blank_line() -> None:
    fields = build_fields(_document(paragraphs=["One.", "Two.", "Three."]), input_="x")
    assert fields["body"] == "One.\n\nTwo.\n\nThree."


def test_the_standfirst_is_passed_on_only_when_the_page_showed_it() -> None:
    shown = build_fields(_document(subtitle="A dek.", standfirst=True), input_="x")
    meta_only = build_fields(_document(subtitle="A summary."), input_="x")
    assert (shown["subtitle"], shown["standfirst"]) == ("A dek.", "A dek.")
    assert (meta_only["subtitle"], meta_only["standfirst"]) == ("A summary.", None)


def test_output_has_all_article_keys_plus_key_and_canonical_url() -> None:
    fields = build_fields(_document(), input_="x")
    assert set(fields) == {*ARTICLE_KEYS, "article_key", "canonical_url", "captions",
                           "standfirst"}
    assert fields["entities"] == []
    assert fields["quotes"] == []
    assert fields["numbers"] == []
    assert fields["dates"] == []


def test_extract_article_on_the_seed_sniffs_text_and_keeps_its_input() -> None:
    fields = extract_article(SEED.read_bytes(), input_=str(SEED))
    assert fields["input"] == str(SEED)
    assert fields["title"] == "US and Russia seek Syria peace talks revival"
    assert fields["source"] == "Al Jazeera and agencies"
    assert fields["headings"] == ["Shared goal", "Positive opportunity"]
    assert fields["article_key"] == str(SEED)
    assert fields["body"].startswith("US Secretary of State John Kerry")


def test_feed_time_of_day_refines_a_date_only_page_date() -> None:
    fields = build_fields(
        _document(published="2026-11-17"),
        input_="https://example.org/a",
        hints={"published": "Tue, 17 Nov 2026 08:30:00 -0500"},
    )
    assert fields["published_at"] == "2026-11-17T08:30:00-05:00"


def test_feed_date_of_another_day_does_not_override_the_page_date() -> None:
    fields = build_fields(
        _document(published="2026-11-16"),
        input_="https://example.org/a",
        hints={"published": "Tue, 17 Nov 2026 08:30:00 -0500"},
    )
    assert fields["published_at"] == "2026-11-16"


def test_provenance_of_page_values_is_kept() -> None:
    document = _document(
        title="Page title", title_source="json-ld", authors=["Ana Lopez"],
        authors_source="meta", published="2026-11-17T08:30:00-05:00",
        published_source="json-ld", modified="2026-11-18T09:00:00-05:00",
    )
    fields = build_fields(document, input_="x")
    assert (fields["title"], fields["title_source"]) == ("Page title", "json-ld")
    assert (fields["authors"], fields["authors_source"]) == (["Ana Lopez"], "meta")
    assert fields["published_at"] == "2026-11-17T08:30:00-05:00"
    assert fields["published_source"] == "json-ld"
    assert fields["modified_at"] == "2026-11-18T09:00:00-05:00"


def test_feed_hints_are_credited_to_the_feed() -> None:
    hints = {"title": "Feed title", "authors": ["Tomas Whitfield"],
             "published": "Fri, 20 Nov 2026 10:00:00 -0500"}
    fields = build_fields(_document(), input_="x", hints=hints)
    assert fields["title_source"] == fields["authors_source"] == "feed"
    assert fields["published_source"] == "feed"


def test_feed_time_of_day_refining_a_page_date_is_credited_to_the_feed() -> None:
    fields = build_fields(
        _document(published="2026-11-17", published_source="htmldate"),
        input_="x", hints={"published": "Tue, 17 Nov 2026 08:30:00 -0500"},
    )
    assert (fields["published_at"], fields["published_source"]) == (
        "2026-11-17T08:30:00-05:00", "feed"
    )


def test_no_values_means_no_sources() -> None:
    fields = build_fields(_document(title_source="og:title"), input_="x")
    assert fields["title"] is None
    assert fields["title_source"] is None
    assert fields["authors_source"] is None
    assert fields["published_at"] is None
    assert fields["published_source"] is None
    assert fields["modified_at"] is None


def test_language_is_detected_from_the_body_over_the_declaration() -> None:
    body = [
        "Die Hafenbehörde wird die Zahl der Fährverbindungen ab Mai verdoppeln, wie der "
        "Vorstand am Dienstag beschloss.",
        "Die Fahrgastzahlen sind in zwei Jahren um ein Drittel gestiegen.",
    ]
    fields = build_fields(_document(paragraphs=body, language="en"), input_="x")
    assert (fields["language"], fields["language_source"]) == ("de", "py3langid")


def test_language_of_a_short_body_comes_from_the_page_declaration() -> None:
    fields = build_fields(_document(paragraphs=["Short."], language="fr"), input_="x")
    assert (fields["language"], fields["language_source"]) == ("fr", "html-lang")


def test_plain_text_article_gets_a_detected_language() -> None:
    fields = extract_article(SEED.read_bytes(), input_=str(SEED))
    assert (fields["language"], fields["language_source"]) == ("en", "py3langid")
    assert fields["title_source"] == "text"
    assert "Shared goal" in fields["body"].split("\n\n")


def test_non_articles_are_rejected_unless_the_source_accepts_any_page() -> None:
    from newsflow.fields import reject_reason

    assert reject_reason({"page_type": "product"}) == "not an article (product)"
    assert reject_reason({"page_type": "product"}, accept="any") is None
    assert reject_reason({"page_type": "article"}) is None
    assert reject_reason({"page_type": None}) is None  # staged before page types existed
