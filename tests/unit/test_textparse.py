from pathlib import Path

import pytest

from newsflow.textparse import TextArticle, parse_text_article

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "include/demo/drop/000_6b0885ebeeff3833.txt"
FIXTURES = ROOT / "tests/fixtures/text"


def _load(path: Path) -> str:
    # read_bytes keeps CRLF and the BOM; read_text would translate line endings
    return path.read_bytes().decode("utf-8")


@pytest.fixture(scope="module")
def seed() -> TextArticle:
    return parse_text_article(_load(SEED))


def test_seed_header(seed: TextArticle) -> None:
    assert seed.title == "US and Russia seek Syria peace talks revival"
    assert seed.subtitle == (
        "Geneva meetings enter second day as both sides try to narrow differences "
        "on how to disarm Syria of chemical weapons."
    )
    assert seed.source == "Al Jazeera and agencies"
    assert seed.dateline is None
    assert seed.authors == []


def test_seed_headings_and_caption(seed: TextArticle) -> None:
    assert seed.headings == ["Shared goal", "Positive opportunity"]
    assert seed.captions == ["Former IAEA head Hans Blix on disarmament of Syria"]
    assert "Hans Blix" not in seed.body
    assert "Shared goal" not in seed.paragraphs
    assert "'Positive opportunity'" not in seed.body


def test_seed_body(seed: TextArticle) -> None:
    paragraphs = seed.paragraphs
    assert len(paragraphs) == 21
    assert paragraphs[0].startswith("US Secretary of State John Kerry and Russian Foreign Minister")
    assert paragraphs[1].startswith("The two politicians said on Friday")
    assert paragraphs[5].startswith("Lavrov said Russia has supported the peace process")
    # NBSP runs inside the seed are normalised to single spaces
    assert "from the start of the Syrian conflict" in paragraphs[5]
    assert paragraphs[12].startswith("“And the hope is also")
    assert paragraphs[13].startswith("A statement from the US State Department")
    assert paragraphs[-2] == "China, too, hailed Assad's decision."
    assert seed.body.endswith('"This is not a game," he said on Thursday.')
    assert seed.body == "\n\n".join(paragraphs)
    assert seed.subtitle not in paragraphs
    assert seed.title not in seed.body


def test_seed_clutter_removed(seed: TextArticle) -> None:
    for clutter in ("SOURCE", "How Moscow lost Riyadh", "price of milk", "Coming War on China"):
        assert clutter not in seed.body
    assert not any("Pilger" in text for text in seed.captions + seed.headings)


def test_seed_without_source_line_cuts_repeated_teasers() -> None:
    text = _load(SEED).replace("    SOURCE: Al Jazeera and agencies\n", "")
    article = parse_text_article(text)
    assert article.source is None
    assert len(article.paragraphs) == 21
    assert article.body.endswith('"This is not a game," he said on Thursday.')
    assert "How Moscow lost Riyadh" not in article.body


def test_wire_dateline_fixture() -> None:
    article = parse_text_article(_load(FIXTURES / "wire_dateline.txt"))
    assert article.title == "Swiss watchdog fines two banks over currency benchmark collusion"
    assert article.subtitle is None
    assert article.dateline == "GENEVA (Reuters)"
    # no byline: the wire credit's reporter is the author, the editor is not
    assert article.authors == ["Tomas Reinholt"]
    assert article.headings == []
    assert article.source is None
    assert len(article.paragraphs) == 6
    # dateline removed and hard-wrapped lines joined with single spaces
    assert article.paragraphs[0] == (
        "Switzerland's competition commission on Tuesday fined two regional banks a combined "
        "41 million Swiss francs ($46 million) for coordinating their quotes on a little-used "
        "franc lending benchmark between 2016 and 2019."
    )
    assert article.paragraphs[3].endswith('told reporters in Bern. "Here they did not."')
    assert article.paragraphs[-1] == (
        "The benchmark, which is used to price a small share of commercial loans in western "
        "Switzerland, was retired at the end of 2021."
    )
    assert "Reporting by" not in article.body
    assert "Editing by" not in article.body


def test_byline_top_fixture() -> None:
    article = parse_text_article(_load(FIXTURES / "byline_top.txt"))
    assert article.title == "City council approves overhaul of downtown bus network"
    assert article.subtitle is None
    assert article.authors == ["Jane Doe", "John Smith"]
    assert article.dateline == "WASHINGTON"
    assert article.headings == ["What happens next", "Who is affected"]
    assert article.captions == [
        "Photo: Commuters board a route 42 bus near Union Station (Jane Doe/AP)"
    ]
    assert len(article.paragraphs) == 7
    assert article.paragraphs[0].startswith("The District's council voted 9-4 on Tuesday")
    assert article.paragraphs[-1] == (
        "The authority said nearly all of them live within a ten-minute walk of one of the "
        "new lines."
    )
    for clutter in ("By Jane Doe", "Related stories", "Metro fares", "Cycle lane", "Night buses"):
        assert clutter not in article.body
    assert "What happens next" not in article.body


def test_headline_list_tail_fixture() -> None:
    article = parse_text_article(_load(FIXTURES / "headline_list_tail.txt"))
    assert article.title == "Drought pushes olive oil prices to record high"
    assert article.subtitle == (
        "Growers across southern Europe expect a third poor harvest in a row as reservoirs "
        "run low."
    )
    assert article.dateline is None
    assert article.authors == []
    assert article.headings == ["Nothing left to irrigate"]
    assert article.captions == []
    assert len(article.paragraphs) == 6
    assert article.paragraphs[0].startswith("Wholesale prices for extra virgin olive oil")
    assert article.paragraphs[-1] == (
        "Analysts expect prices to stay high until at least the next harvest, even if autumn "
        "rains arrive on time."
    )
    for clutter in ("small farms", "Three growers", "sunflowers", "cooperative that buys"):
        assert clutter not in article.body


def test_crlf_bom_fixture() -> None:
    raw = _load(FIXTURES / "crlf_bom.txt")
    assert raw.startswith("\ufeff") and "\r\n" in raw
    article = parse_text_article(raw)
    assert article.title == "Port strike halts container traffic for second day"
    assert article.subtitle == (
        "Dock workers are demanding a pay rise that keeps pace with inflation."
    )
    assert article.authors == ["Maria Keller"]
    assert article.dateline == "NEW YORK, Nov 25"
    assert article.headings == ["Talks resume Monday"]
    assert len(article.paragraphs) == 4
    assert article.paragraphs[0].startswith("Container traffic at the city's two largest terminals")
    assert article.paragraphs[-1].endswith("imported goods before the holiday season.")
    assert "\r" not in article.body
    assert "\ufeff" not in (article.title or "")


def test_crlf_and_bom_built_in_code_match_plain_text() -> None:
    plain = _load(FIXTURES / "byline_top.txt")
    assert parse_text_article("\ufeff" + plain.replace("\n", "\r\n")) == parse_text_article(plain)
    assert parse_text_article(plain.replace("\n", "\r")) == parse_text_article(plain)


@pytest.mark.parametrize(
    ("first_paragraph", "dateline", "text"),
    [
        ("GENEVA (Reuters) - Talks resumed.", "GENEVA (Reuters)", "Talks resumed."),
        ("WASHINGTON — Talks resumed.", "WASHINGTON", "Talks resumed."),
        ("LONDON, March 3 (AP) – Talks resumed.", "LONDON, March 3 (AP)", "Talks resumed."),
        ("NEW YORK, Nov 25 - Talks resumed.", "NEW YORK, Nov 25", "Talks resumed."),
        ("AMMAN, Jordan (AP) — Talks resumed.", "AMMAN, Jordan (AP)", "Talks resumed."),
        ("Geneva (AFP) - Talks resumed.", "Geneva (AFP)", "Talks resumed."),
        ("US-Russia talks resumed - again.", None, "US-Russia talks resumed - again."),
        ("NATO officials said talks resumed.", None, "NATO officials said talks resumed."),
    ],
)
def test_dateline_forms(first_paragraph: str, dateline: str | None, text: str) -> None:
    article = parse_text_article(f"Headline here\n\n{first_paragraph}\n")
    assert article.dateline == dateline
    assert article.paragraphs == [text]


@pytest.mark.parametrize(
    ("byline", "authors"),
    [
        ("By Jane Doe, Reuters", ["Jane Doe"]),
        ("By Jane Doe, Staff Writer", ["Jane Doe"]),
        (
            "By Jane Doe, John Smith and Ann van der Berg",
            ["Jane Doe", "John Smith", "Ann van der Berg"],
        ),
        ("By Jane Doe and Jane Doe", ["Jane Doe"]),
        ("BY Jane Doe in Geneva", ["Jane Doe"]),
        ("Jane Doe | Reuters", ["Jane Doe"]),
        ("By Reuters Staff", []),
    ],
)
def test_byline_forms(byline: str, authors: list[str]) -> None:
    text = f"Headline here\n\n{byline}\n\nFirst paragraph of the story is here and it goes on.\n"
    article = parse_text_article(text)
    assert article.authors == authors
    assert article.paragraphs == ["First paragraph of the story is here and it goes on."]


def test_sentence_starting_with_by_is_body() -> None:
    text = (
        "Headline here\n\nBy Friday the talks had collapsed over the timetable.\n\n"
        "Delegates left the venue without a statement.\n"
    )
    article = parse_text_article(text)
    assert article.authors == []
    assert article.subtitle == "By Friday the talks had collapsed over the timetable."
    assert article.paragraphs == ["Delegates left the venue without a statement."]


def test_trailing_run_of_short_headlines_is_cut() -> None:
    text = (
        "Headline here\n\nThe first paragraph of the story says something useful.\n\n"
        "The second paragraph adds a quote and some context for readers.\n\n"
        "Markets slide as oil jumps\n\nFive things to know today\n\nThe week in pictures\n"
    )
    article = parse_text_article(text)
    assert article.paragraphs == ["The second paragraph adds a quote and some context for readers."]
    assert article.headings == []
    assert "Markets slide" not in article.body


def test_two_short_lines_at_end_are_not_a_headline_list() -> None:
    text = (
        "Headline here\n\nA standfirst that introduces the story briefly.\n\n"
        "The body paragraph of the story says something useful.\n\n"
        "Next steps\n\nThe council meets again in May to vote on the plan.\n"
    )
    article = parse_text_article(text)
    assert article.headings == ["Next steps"]
    assert article.paragraphs[-1] == "The council meets again in May to vote on the plan."


def test_one_paragraph_per_line_without_blank_lines() -> None:
    long_a = (
        "The first paragraph is long enough that nobody would hard-wrap a text file at this "
        "width, so it is one paragraph."
    )
    long_b = (
        "The second paragraph is also long, and it follows directly on the next line of the "
        "file without any blank line."
    )
    long_c = long_a.replace("first", "third")
    text = f"Headline here\n{long_a}\nA short head\n{long_b}\n{long_c}\n"
    article = parse_text_article(text)
    assert article.title == "Headline here"
    assert article.subtitle == long_a
    assert article.headings == ["A short head"]
    assert article.paragraphs == [long_b, long_c]


def test_hard_wrapped_block_with_heading_and_no_blank_lines() -> None:
    text = (
        "Headline here\n\n"
        "The first paragraph is wrapped at about seventy characters so that it\n"
        "spans several lines of the file, as wire copy usually does.\n"
        "Next steps\n"
        "The second paragraph is wrapped the same way and it also spans more\n"
        "than one line before it finally ends here.\n"
        "The third paragraph closes the story after the second one, briefly.\n"
    )
    article = parse_text_article(text)
    assert article.headings == ["Next steps"]
    assert article.subtitle == (
        "The first paragraph is wrapped at about seventy characters so that it spans several "
        "lines of the file, as wire copy usually does."
    )
    assert article.paragraphs == [
        "The second paragraph is wrapped the same way and it also spans more than one line "
        "before it finally ends here.",
        "The third paragraph closes the story after the second one, briefly.",
    ]


def test_promo_and_widgets_dropped_without_cutting_body() -> None:
    text = (
        "Headline here\n\nShare this article\n\nBy Jane Doe\n\n"
        "ROME — The first paragraph of the story says something useful.\n\n"
        "Read more: Why the talks failed last time\n\nAdvertisement\n\n"
        "The second paragraph continues after the promotion.\n\n"
        "Related\n\nSome other story\n"
    )
    article = parse_text_article(text)
    assert article.authors == ["Jane Doe"]
    assert article.dateline == "ROME"
    assert article.headings == []
    assert article.paragraphs == [
        "The first paragraph of the story says something useful.",
        "The second paragraph continues after the promotion.",
    ]


def test_caption_rules() -> None:
    text = (
        "Headline here\n\nThe first paragraph of the story says something useful.\n\n"
        "WATCH: Inside the negotiating room\n\n"
        "Protesters gather outside the ministry on Friday. (Reuters)\n\n"
        '"A decisive week"\n\n'
        "The second paragraph of the story says something useful.\n"
    )
    article = parse_text_article(text)
    assert article.captions == [
        "WATCH: Inside the negotiating room",
        "Protesters gather outside the ministry on Friday. (Reuters)",
    ]
    assert article.headings == ["A decisive week"]
    assert article.paragraphs == ["The second paragraph of the story says something useful."]


def test_fallback_keeps_body_when_rules_leave_nothing() -> None:
    article = parse_text_article("Headline here\n\nWatch: the full interview with the minister\n")
    assert article.title == "Headline here"
    assert article.paragraphs == ["Watch: the full interview with the minister"]


def test_empty_text() -> None:
    article = parse_text_article("\ufeff\r\n  \r\n")
    assert article.title is None
    assert article.paragraphs == []
    assert article.body == ""


def test_ap_fixture_with_updated_line_captions_and_newsletter_tail() -> None:
    article = parse_text_article(_load(FIXTURES / "ap_captions_updated.txt"))
    assert article.title == "Floodwaters force thousands from their homes in northern Kenya"
    assert article.subtitle == (
        "Rescue teams used boats to reach villages cut off by the rising Tana River."
    )
    # "Associated Press" after the comma is the agency, not a third author
    assert article.authors == ["Amina Otieno", "Peter Mwangi"]
    assert article.dateline == "NAIROBI, Kenya (AP)"
    assert article.headings == ["A second wave"]
    assert article.captions == [
        "Photo: Residents wade through a flooded street in Garissa on Tuesday. "
        "(AP Photo/Brian Inganga)",
        "WATCH: Aerial footage shows the scale of the flooding along the river",
    ]
    assert article.paragraphs[0].startswith("Floodwaters swept through villages")
    assert article.paragraphs[-1].startswith("The government has asked residents")
    assert len(article.paragraphs) == 5
    # reading order: the section head sits before the paragraph it introduces
    assert article.blocks[3:5] == ["A second wave", article.paragraphs[3]]
    for clutter in ("Updated 6:42", "Sign up", "More from AP", "cholera", "Photos:"):
        assert clutter not in "\n".join(article.blocks)


def test_agency_fixture_with_reporting_credit_standards_line_and_headlines() -> None:
    article = parse_text_article(_load(FIXTURES / "agency_reporting_credit.txt"))
    assert article.title == "Chipmaker shares slide after export curbs widen"
    assert article.subtitle is None
    assert article.dateline == "LONDON, Nov 26 (Reuters)"
    assert article.authors == ["Tom Harwood"]
    assert article.headings == []
    assert len(article.paragraphs) == 4
    assert article.paragraphs[0].startswith("Shares in European chip equipment makers")
    assert article.paragraphs[-1].startswith("Company spokespeople said")
    for clutter in ("Reporting by", "Our Standards", "Chip stocks in Asia", "Dutch government"):
        assert clutter not in article.body


@pytest.mark.parametrize(
    ("credit", "authors"),
    [
        ("(Reporting by Jo Bloggs and Ann Other in Paris; Editing by Max Mustermann)",
         ["Jo Bloggs", "Ann Other"]),
        ("Reporting by Jo Bloggs; Editing by Ann Other", ["Jo Bloggs"]),
        ("(Additional reporting by Jo Bloggs; Editing by Ann Other)", []),
        ("(Writing by Jo Bloggs; Editing by Ann Other)", []),
    ],
)
def test_wire_credit_names_the_reporters_when_there_is_no_byline(
    credit: str, authors: list[str]
) -> None:
    text = f"Headline here\n\nROME — The first paragraph of the story says something.\n\n{credit}\n"
    assert parse_text_article(text).authors == authors


def test_byline_wins_over_the_wire_credit() -> None:
    text = (
        "Headline here\n\nBy Jane Doe\n\nROME — The first paragraph of the story says "
        "something.\n\n(Reporting by Jo Bloggs; Editing by Ann Other)\n"
    )
    assert parse_text_article(text).authors == ["Jane Doe"]
