import json
import signal
import threading

import pytest
from lxml import html as lxml_html

from newsflow import settings
from newsflow.cleaning import (
    CleanDocument,
    CleaningError,
    CleaningTimeout,
    byline_names,
    clean_document,
    clean_html,
    count_elements,
    cut_clutter,
    decode_text,
    detect_format,
    split_standfirst,
    time_limit,
    trim_to_edges,
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


def test_demo_article_keeps_its_subheading_in_place_and_apart(library: CleanDocument) -> None:
    assert library.format == "html"
    assert library.headings == ["Board divided over cost"]
    # the body is the text as read, so the heading sits between its paragraphs
    position = library.paragraphs.index("Board divided over cost")
    assert library.paragraphs[position + 1].startswith("Not everyone on the board")


def test_demo_article_body_starts_and_ends_with_the_story(library: CleanDocument) -> None:
    assert library.paragraphs[0].startswith(
        "The Riverside Public Library will open its main branch on Sundays"
    )
    assert library.paragraphs[-1].startswith("Supporters who spoke at Wednesday's meeting")
    assert len(library.paragraphs) == 9
    assert library.title not in library.paragraphs


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
    assert library.published == "2026-11-19T14:15:00-05:00"
    assert (library.title_source, library.authors_source, library.published_source) == (
        "og:title", "json-ld", "json-ld"
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


@pytest.mark.parametrize("url", ["https://[::1", "http://[bad/story", "https://[1:2::x]/a"])
def test_page_with_a_malformed_url_cleans_as_one_without_a_url(url: str) -> None:
    """A record's target URI that urllib cannot split (an unclosed IPv6 bracket) is no
    evidence: the page cleans exactly as a page whose URL is unknown, no internal error."""
    page = LIBRARY.read_bytes()

    document = clean_html(page, url)

    assert document == clean_html(page, None)
    assert document.title and document.paragraphs


def test_page_whose_canonical_link_is_malformed_still_cleans() -> None:
    page = LIBRARY.read_bytes()
    canonical = clean_html(page).canonical_url
    assert canonical
    broken = page.replace(canonical.encode(), b"https://[::1")

    document = clean_html(broken)

    assert document.canonical_url == "https://[::1"
    assert document.title and document.paragraphs


# clean_document on the seed text


def test_seed_is_cleaned_as_text(seed: CleanDocument) -> None:
    assert seed.format == "text"
    assert seed.title == "US and Russia seek Syria peace talks revival"
    assert seed.source == "Al Jazeera and agencies"
    assert seed.headings == ["Shared goal", "Positive opportunity"]
    assert seed.authors == []
    assert seed.authors_source is None
    assert seed.title_source == "text"
    assert seed.canonical_url is None
    assert seed.language is None
    # 21 paragraphs with the two section heads in their places
    assert len(seed.paragraphs) == 23
    assert seed.paragraphs[0].startswith("US Secretary of State John Kerry")
    assert seed.paragraphs.index("Shared goal") < seed.paragraphs.index("Positive opportunity")
    assert seed.captions == ["Former IAEA head Hans Blix on disarmament of Syria"]


# failures


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (
            b"<html><head><title>Empty</title></head><body></body></html>",
            "trafilatura found no main text",
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


def test_clean_document_reads_documents_staged_before_new_keys(library: CleanDocument) -> None:
    staged = {key: value for key, value in library.to_dict().items() if not key.endswith("source")}
    staged["retired_key"] = "from an older version"
    rebuilt = CleanDocument.from_dict(staged)
    assert rebuilt.title == library.title
    assert rebuilt.title_source is None


# limits


def _sibling_divs_page(count: int) -> bytes:
    story = "<p>" + "The harbour board met on Tuesday and agreed a new budget. " * 5 + "</p>"
    divs = "".join(f"<div>row {i}</div>" for i in range(count))
    return f"<html><body><article>{story}{divs}</article></body></html>".encode()


def test_page_of_200000_sibling_divs_is_rejected_with_a_clear_reason() -> None:
    page = _sibling_divs_page(200_000)
    assert len(page) > 3_000_000
    with pytest.raises(CleaningError, match=r"^page too large to clean: more than 50000 HTML"):
        clean_document(page, "html")


def test_element_cap_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    page = _sibling_divs_page(300)
    assert clean_document(page, "html").paragraphs
    monkeypatch.setattr(settings, "MAX_HTML_ELEMENTS", 200)
    with pytest.raises(CleaningError, match="more than 200 HTML elements"):
        clean_document(page, "html")


def test_count_elements_stops_past_the_limit() -> None:
    tree = lxml_html.fromstring(_sibling_divs_page(1000))
    assert count_elements(tree, 10) == 11
    assert count_elements(tree, 100_000) == sum(1 for _ in tree.iter())


def test_page_over_the_time_limit_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    # a limit far below what any extraction needs: the timer always fires mid-way
    monkeypatch.setattr(settings, "CLEAN_TIME_LIMIT", 0.000001)
    handler = signal.getsignal(signal.SIGALRM)
    outer = signal.getitimer(signal.ITIMER_REAL)[0]  # pytest-timeout's, if it runs
    with pytest.raises(CleaningTimeout, match="longer than the 1e-06 s time limit"):
        clean_document(LIBRARY.read_bytes(), "html")
    assert signal.getsignal(signal.SIGALRM) is handler
    assert (signal.getitimer(signal.ITIMER_REAL)[0] > outer - 5) if outer else True


def test_time_limit_restores_an_outer_timer_and_handler() -> None:
    fired: list[int] = []
    previous = signal.signal(signal.SIGALRM, lambda signum, frame: fired.append(signum))
    try:
        signal.setitimer(signal.ITIMER_REAL, 100)
        with time_limit(5):
            assert 4 < signal.getitimer(signal.ITIMER_REAL)[0] <= 5
        remaining = signal.getitimer(signal.ITIMER_REAL)[0]
        assert 90 < remaining <= 100
        assert fired == []
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_time_limit_leaves_a_sooner_outer_timer_alone() -> None:
    previous = signal.signal(signal.SIGALRM, lambda signum, frame: None)
    try:
        signal.setitimer(signal.ITIMER_REAL, 3)
        with time_limit(20):
            assert signal.getitimer(signal.ITIMER_REAL)[0] <= 3
        assert 0 < signal.getitimer(signal.ITIMER_REAL)[0] <= 3
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_no_time_limit_outside_the_main_thread() -> None:
    handler = signal.getsignal(signal.SIGALRM)
    seen: list[object] = []

    def work() -> None:
        with time_limit(0.5):
            seen.append(signal.getitimer(signal.ITIMER_REAL)[0])
            seen.append(signal.getsignal(signal.SIGALRM))

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    remaining, current_handler = seen
    assert not 0 < remaining <= 0.5  # no timer of ours (pytest-timeout's may run)
    assert current_handler is handler


# body assembly


def test_trim_to_edges_cuts_what_precision_mode_leaves_out_at_the_end() -> None:
    story = [f"Paragraph {n} of the story, long enough to be prose in any reading." for n in "abc"]
    lines = ["Politics", "12 May 2024", *story, "More from this author", "Cookie settings"]
    assert trim_to_edges(lines, story) == story


def test_trim_to_edges_keeps_a_long_lede_precision_mode_missed() -> None:
    lede = "The lede of the story sits in its own box and runs to more than twelve words in all."
    story = [f"Paragraph {n} of the story, long enough to be prose in any reading." for n in "abc"]
    lines = ["Politics", lede, *story, "Share this"]
    assert trim_to_edges(lines, story) == ["Politics", lede, *story]


def test_trim_to_edges_keeps_everything_when_precision_mode_lost_most_of_it() -> None:
    lines = [f"Paragraph {n} of the story, long enough to be prose in any reading." for n in "abcd"]
    assert trim_to_edges(lines, lines[:1]) == lines
    assert trim_to_edges(lines, ["Something else entirely"]) == lines
    assert trim_to_edges(lines, []) == lines


def test_cut_clutter_drops_promotions_and_closing_prompts_only() -> None:
    lines = [
        "The council met on Tuesday and voted to approve the plan for the harbour.",
        "Read more: Why the harbour plan matters",
        "CLICK HERE TO GET THE HARBOUR HERALD APP",
        "Subscribe to our newsletter to read about the harbour.",
        "The plan goes to a public consultation next month.",
        "Sign up for our morning newsletter",
        "Follow us on Twitter",
        "If you enjoyed this article, please share it.",
        "Comments",
    ]
    assert cut_clutter(lines) == [lines[0], lines[3], lines[4]]


@pytest.mark.parametrize(
    ("line", "names"),
    [
        ("By Jane Doe and John Smith", ["Jane Doe", "John Smith"]),
        ("Mathilde Sebati/Thabo Mokoena", ["Mathilde Sebati", "Thabo Mokoena"]),
        ("Jane Doe | Reuters", ["Jane Doe"]),
        ("Jane Doe", None),
        ("Harbour plan, budget and ferries", None),
        ("The council met on Tuesday and voted for it.", None),
    ],
)
def test_byline_names(line: str, names: list[str] | None) -> None:
    assert byline_names(line) == names


HTML_STORY = """<html lang="en"><head>
<title>Ferry service to double from May | Harbour Herald</title>
<meta property="og:site_name" content="Harbour Herald">
<meta name="description" content="Boats every 20 minutes on the main route.">
</head><body>
<nav><a href="/">Home</a> <a href="/news">News</a></nav>
<article>
<h1>Ferry service to double from May</h1>
<p>Anna Berg/Tom Lund</p>
<p>The harbour authority will double the number of ferry crossings from May, its board
decided on Tuesday, after passenger numbers rose by a third in two years.</p>
<h2>Crowded boats</h2>
<p>Commuters have complained for months about full boats at peak times, and the operator
said it had turned away more than 2,000 passengers in March alone.</p>
<p>The new timetable adds a boat every 20 minutes on the main route and keeps the night
service, the authority said in a statement on its website.</p>
<p>Read more: How the ferry fleet got so old</p>
<p>Fares will not change this year, the board said, although a review is due in autumn.</p>
<p>Sign up for the Harbour Herald morning newsletter</p>
</article>
<footer><p>Copyright 2026 Harbour Herald. All rights reserved.</p></footer>
</body></html>"""


def test_html_body_without_headline_byline_promotions_and_prompts() -> None:
    document = clean_document(HTML_STORY.encode(), "html")
    assert document.title == "Ferry service to double from May"
    assert document.title_source == "h1"
    assert document.authors == ["Anna Berg", "Tom Lund"]
    assert document.authors_source == "byline"
    assert document.headings == ["Crowded boats"]
    assert document.paragraphs[0].startswith("The harbour authority will double")
    assert document.paragraphs[1] == "Crowded boats"
    assert document.paragraphs[-1].startswith("Fares will not change this year")
    body = "\n".join(document.paragraphs)
    for clutter in ("Read more", "Sign up", "Copyright", "Home", "Anna Berg"):
        assert clutter not in body


STANDFIRST = "Riverside's ferry will run four Sunday crossings instead of nine from January."
LEAD = ("The Tamsen Valley ferry will cut its Sunday service from nine crossings to four from"
        " the first weekend of January, the operator said on Thursday, blaming a shortage of"
        " licensed crew and a fall in winter passengers.")


@pytest.mark.parametrize(
    ("lines", "description", "body", "subtitle"),
    [
        # The standfirst opens the body: it leaves it, as the page shows it.
        ([STANDFIRST.upper(), LEAD, "More."], STANDFIRST, [LEAD, "More."], STANDFIRST.upper()),
        # A description the page does not show: the subtitle, and the body stays whole.
        ([LEAD, "More."], STANDFIRST, [LEAD, "More."], STANDFIRST),
        # The description is the lead cut short: an excerpt, no subtitle.
        ([LEAD, "More."], LEAD[:120] + "...", [LEAD, "More."], None),
        # The description repeats the lead's second paragraph: body text, no subtitle.
        ([LEAD, STANDFIRST, "More."], STANDFIRST, [LEAD, STANDFIRST, "More."], None),
        # A one-line body is never emptied; no description, nothing to do.
        ([STANDFIRST], STANDFIRST, [STANDFIRST], None),
        ([LEAD], None, [LEAD], None),
    ],
)
def test_the_standfirst_is_said_once(
    lines: list[str], description: str | None, body: list[str], subtitle: str | None
) -> None:
    assert split_standfirst(lines, description) == (body, subtitle)


def test_an_html_standfirst_is_the_subtitle_and_not_the_body() -> None:
    page = (f'<html lang="en"><head><title>Ferry cuts</title>'
            f'<meta name="description" content="{STANDFIRST}"></head><body><article>'
            f"<h1>Ferry cuts</h1><p>{STANDFIRST}</p>"
            + "".join(f"<p>{LEAD} ({n})</p>" for n in range(4)) + "</article></body></html>")
    document = clean_document(page.encode(), "html")
    assert document.subtitle == STANDFIRST and document.standfirst
    assert document.paragraphs[0].startswith("The Tamsen Valley ferry")
    assert STANDFIRST not in document.paragraphs
