import json
from typing import Any

import pytest
from lxml import html as lxml_html

from newsflow.author_names import author_credits, clean_authors
from newsflow.authors import visible_bylines
from newsflow.metadata import Metadata, extract_metadata
from newsflow.publication_dates import normalise_date
from newsflow.structured_data import json_ld_nodes
from newsflow.titles import choose_title, headline_before_pipe, repair_mojibake, strip_site_name

URL = "https://www.harbourherald.example/news/2026/11/ferry-service-doubles"


def _page(head: str = "", body: str = "", ld: Any = None, lang: str = "en") -> str:
    script = (
        f'<script type="application/ld+json">{json.dumps(ld)}</script>' if ld is not None else ""
    )
    return f'<html lang="{lang}"><head>{head}{script}</head><body>{body}</body></html>'


def _meta(page: str, url: str | None = URL) -> Metadata:
    return extract_metadata(lxml_html.fromstring(page), url)


ARTICLE_LD = {
    "@context": "https://schema.org",
    "@type": "NewsArticle",
    "headline": "Ferry service to double from May",
    "datePublished": "2026-11-24T08:30:00+01:00",
    "dateModified": "2026-11-25T10:00:00+01:00",
    "author": [{"@type": "Person", "name": "Anna Berg"}, {"@type": "Person", "name": "Tom Lund"}],
    "publisher": {"@type": "NewsMediaOrganization", "name": "Harbour Herald"},
}


# JSON-LD


def test_json_ld_article_gives_every_field_with_its_source() -> None:
    meta = _meta(_page(ld=ARTICLE_LD))
    assert (meta.title, meta.title_source) == ("Ferry service to double from May", "json-ld")
    assert (meta.authors, meta.authors_source) == (["Anna Berg", "Tom Lund"], "json-ld")
    assert (meta.published, meta.published_source) == ("2026-11-24T08:30:00+01:00", "json-ld")
    assert meta.modified == "2026-11-25T10:00:00+01:00"
    assert meta.site_name == "Harbour Herald"
    assert meta.language == "en"


def test_json_ld_graph_references_are_resolved() -> None:
    graph = {
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "WebSite", "@id": "#site", "name": "Harbour Herald"},
            {"@type": "Person", "@id": "#anna", "name": "Anna Berg"},
            {"@type": "ImageObject", "@id": "#img", "author": {"name": "A Photographer"},
             "datePublished": "2019-01-01"},
            {"@type": ["Article", "NewsArticle"], "@id": "#article",
             "headline": "Ferry service to double from May", "author": [{"@id": "#anna"}],
             "datePublished": "2026-11-24T08:30:00Z"},
        ],
    }
    meta = _meta(_page(ld=graph))
    assert meta.authors == ["Anna Berg"]
    assert meta.published == "2026-11-24T08:30:00+00:00"


def test_json_ld_organisation_author_is_not_a_person() -> None:
    ld = dict(ARTICLE_LD, author={"@type": "Organization", "name": "Harbour Herald Staff"})
    page = _page('<meta name="author" content="Anna Berg">', ld=ld)
    assert (_meta(page).authors, _meta(page).authors_source) == (["Anna Berg"], "meta")


def test_broken_json_ld_is_skipped_and_control_characters_tolerated() -> None:
    page = (
        '<html><head><script type="application/ld+json">{"@type": "NewsArticle",</script>'
        '<script type="application/ld+json">{"@type": "NewsArticle", "headline": "Line\tbreak"}'
        "</script></head><body></body></html>"
    )
    nodes = json_ld_nodes(lxml_html.fromstring(page))
    assert [node["headline"] for node in nodes] == ["Line\tbreak"]


# titles


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Ferry service to double from May | Harbour Herald", "Ferry service to double from May"),
        ("Harbour Herald - Ferry service to double from May", "Ferry service to double from May"),
        ("Ferry service to double from May – Harbour Herald News",
         "Ferry service to double from May"),
        ("Ferry service to double from May | harbourherald.example",
         "Ferry service to double from May"),
        # a headline that merely starts with the site's name keeps it
        ("Harbour Herald reporter wins award | Harbour Herald",
         "Harbour Herald reporter wins award"),
        ("Ferry service to double from May", "Ferry service to double from May"),
        ("Ferries - What the new timetable means", "Ferries - What the new timetable means"),
    ],
)
def test_site_name_is_stripped_from_title_ends(title: str, expected: str) -> None:
    site_names = {"harbourherald", "harbourheraldexample"}
    assert strip_site_name(title, site_names) == expected


def test_title_with_suffix_from_domain_only() -> None:
    page = _page("<title>Ferry service to double from May - HarbourHerald</title>")
    assert _meta(page).title == "Ferry service to double from May"
    assert _meta(page).title_source == "title"


def test_title_vote_prefers_what_most_sources_say() -> None:
    candidates = [
        ("og:title", "Ferries: what changes"),
        ("json-ld", "Ferry service to double from May"),
        ("twitter:title", "Ferries: what changes"),
        ("h1", "Ferry service to double from May"),
        ("title", "Ferry service to double from May"),
    ]
    assert choose_title(candidates) == ("Ferry service to double from May", "json-ld")


def test_truncated_copy_votes_for_the_full_title() -> None:
    full = "Ferry service to double from May as passenger numbers keep rising on every route"
    candidates = [
        ("json-ld", full),
        ("twitter:title", full[:60]),
        ("h1", full[:60]),
        ("title", full[:70] + "…"),
    ]
    assert choose_title(candidates) == (full, "json-ld")


def test_title_with_kicker_and_section_votes_for_the_headline_inside() -> None:
    headline = "Ferry service to double from May after record summer"
    long = f"Ferry News Today: {headline} | Local News"
    candidates = [("og:title", long), ("json-ld", headline), ("twitter:title", long),
                  ("h1", headline), ("title", long)]
    assert choose_title(candidates) == (headline, "json-ld")


def test_kicker_most_sources_show_is_part_of_the_title() -> None:
    full = "'A lifeline': ferry service to double from May"
    candidates = [("og:title", full), ("json-ld", full), ("h1", full),
                  ("title", "Ferry service to double from May")]
    assert choose_title(candidates) == (full, "og:title")


def test_title_spelling_follows_the_majority_of_agreeing_sources() -> None:
    candidates = [("og:title", "Ferry 'lifeline' doubles"), ("json-ld", "Ferry ‘lifeline’ doubles"),
                  ("h1", "Ferry ‘lifeline’ doubles"), ("title", "Ferry ‘lifeline’ doubles")]
    assert choose_title(candidates) == ("Ferry ‘lifeline’ doubles", "json-ld")


def test_no_title_anywhere() -> None:
    assert choose_title([]) == (None, None)
    assert _meta(_page(body="<p>Text only.</p>")).title is None


def test_html_entities_in_json_ld_headline_are_decoded() -> None:
    ld = dict(ARTICLE_LD, headline="Ferry &#8216;lifeline&#8217; doubles &amp; more")
    assert _meta(_page(ld=ld)).title == "Ferry ‘lifeline’ doubles & more"


# authors


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (["By Jane Doe and John Smith"], ["Jane Doe", "John Smith"]),
        (
            ["Jane Doe, John Smith & Ann van der Berg"],
            ["Jane Doe", "John Smith", "Ann van der Berg"],
        ),
        (["Jane Doe | Reuters"], ["Jane Doe"]),
        (["Associated Press in Valencia"], []),
        (["Reuters Staff", "AFP", "Harbour Herald", "The Harbour Herald"], []),
        (["Guardian staff reporter"], []),
        (["https://www.facebook.com/jane.doe", "@janedoe"], []),
        (["Jane Doe", "jane doe", "JANE DOE"], ["Jane Doe"]),
        (["admin", "editor"], []),
        (["By JANE DOE in Geneva"], ["Jane Doe"]),
        (["Jane Doe, Staff Writer"], ["Jane Doe"]),
        (["李明"], ["李明"]),
        (["Posted by Anna Berg", "Autor: Tom Lund", "Artikel von"], ["Anna Berg", "Tom Lund"]),
        (["View my complete profile", "Autorenseite von", "gabor_munier", "Posted by K A"], []),
        (["Olympia-Verlag GmbH", "Author Redaktion", "VIDEO » alle Videos"], []),
        (["Theme: Pirate Rogue von xwolf", "Autor: przepisy.pl", "Chatkontrolle STOPPEN!"], []),
        (['<a href="/autor/anna-berg" hreflang="en">Anna Berg</a>'], ["Anna Berg"]),
        (["Manuela Herrle…", "Di Stefano Rossi", "T. V. Raman"],
         ["Manuela Herrle", "Di Stefano Rossi", "T. V. Raman"]),
    ],
)
def test_clean_authors(raw: list[str], expected: list[str]) -> None:
    assert clean_authors(raw, {"harbourherald"}) == expected


def test_author_meta_urls_are_ignored_and_next_source_used() -> None:
    page = _page(
        '<meta property="article:author" content="https://www.facebook.com/annaberg">'
        '<meta name="author" content="Anna Berg">'
    )
    meta = _meta(page)
    assert (meta.authors, meta.authors_source) == (["Anna Berg"], "meta")


def test_author_named_like_the_site_falls_through_to_the_page_byline() -> None:
    ld = dict(ARTICLE_LD, author={"@type": "Person", "name": "Harbour Herald"})
    page = _page('<meta name="author" content="Harbour Herald">',
                 '<div class="article-byline">By <a rel="author">Anna Berg</a></div>', ld=ld)
    meta = _meta(page)
    # trafilatura's author XPaths read the byline before our own element rules
    assert (meta.authors, meta.authors_source) == (["Anna Berg"], "trafilatura")


def test_no_author_anywhere() -> None:
    meta = _meta(_page(body="<p>Text only.</p>"))
    assert (meta.authors, meta.authors_source) == ([], None)


# dates


def test_meta_published_time_when_no_json_ld_and_time_zone_kept() -> None:
    page = _page(
        '<meta property="article:published_time" content="2026-11-24T08:30:00-05:00">'
        '<meta property="article:modified_time" content="2026-11-25T09:00:00-05:00">'
    )
    meta = _meta(page)
    assert (meta.published, meta.published_source) == ("2026-11-24T08:30:00-05:00", "meta")
    assert meta.modified == "2026-11-25T09:00:00-05:00"


def test_json_ld_date_wins_over_meta_and_modified_stays_apart() -> None:
    page = _page('<meta property="article:published_time" content="2026-11-20T00:00:00Z">',
                 ld=ARTICLE_LD)
    meta = _meta(page)
    assert meta.published == "2026-11-24T08:30:00+01:00"
    assert meta.modified == "2026-11-25T10:00:00+01:00"


def test_unparseable_json_ld_date_falls_through_to_meta() -> None:
    ld = dict(ARTICLE_LD, datePublished="last Tuesday")
    page = _page('<meta name="pubdate" content="2026-11-24">', ld=ld)
    assert (_meta(page).published, _meta(page).published_source) == ("2026-11-24", "meta")


@pytest.mark.parametrize("placeholder", ["0001-01-01T00:00:00+00:00", "2999-01-01"])
def test_placeholder_and_future_dates_are_skipped(placeholder: str) -> None:
    ld = dict(ARTICLE_LD, datePublished=placeholder)
    page = _page('<meta property="article:published_time" content="2026-11-24T08:30:00Z">',
                 ld=ld)
    assert (_meta(page).published, _meta(page).published_source) == (
        "2026-11-24T08:30:00+00:00", "meta"
    )


def test_author_elements_outside_comments_and_labelled_repeats() -> None:
    body = (
        '<article><span class="entry-author">Anna Berg</span>'
        '<div class="entry-byline">Anna Berg 24/11/2026 2 comments Harbour, Ferries</div>'
        "<p>Text.</p>"
        '<h4 class="author-name">About Anna Berg</h4></article>'
        '<ol class="comments"><li><cite class="comment-author">Karl Olsen</cite></li></ol>'
    )
    tree = lxml_html.fromstring(_page(body=body))
    assert visible_bylines(tree, {"harbourherald"}) == ["Anna Berg"]


def test_byline_element_needs_a_by() -> None:
    byline = '<p class="byline">By Anna Berg and Tom Lund</p><p class="byline">Updated</p>'
    tree = lxml_html.fromstring(_page(body=byline))
    assert visible_bylines(tree, set()) == ["Anna Berg", "Tom Lund"]
    tree = lxml_html.fromstring(_page(body='<p class="byline">Harbour news, ferries</p>'))
    assert visible_bylines(tree, set()) == []


def test_time_element_then_htmldate() -> None:
    timed = _page(body='<article><time itemprop="datePublished" datetime="2026-11-24T08:30:00Z">'
                       "24 Nov</time><p>Text.</p></article>")
    assert (_meta(timed).published, _meta(timed).published_source) == (
        "2026-11-24T08:30:00+00:00", "time"
    )
    # no markup at all: htmldate finds the date in the URL or the text
    meta = _meta(_page(body="<p>Posted on 24 November 2026 by the harbour desk.</p>"),
                 url="https://harbourherald.example/2026/11/24/ferry")
    assert (meta.published, meta.published_source) == ("2026-11-24", "htmldate")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-06-05T17:20:55+0000", "2026-06-05T17:20:55+00:00"),
        ("2024-08-07T20:16Z", "2024-08-07T20:16:00+00:00"),
        ("2023-06-26T12:00:29.055", "2023-06-26T12:00:29.055000"),
        ("Tue, 17 Nov 2026 08:30:00 -0500", "2026-11-17T08:30:00-05:00"),
        ("2026-11-24", "2026-11-24"),
        ("not a date", None),
    ],
)
def test_normalise_date_keeps_time_zone(value: str, expected: str | None) -> None:
    assert normalise_date(value) == expected


# other


def test_site_name_description_language_and_canonical() -> None:
    page = _page(
        '<meta property="og:site_name" content="Harbour Herald">'
        '<meta property="og:description" content="Boats every 20 minutes.">'
        '<link rel="canonical" href="https://harbourherald.example/ferry">',
        lang="de-CH",
    )
    meta = _meta(page)
    assert meta.site_name == "Harbour Herald"
    assert meta.description == "Boats every 20 minutes."
    assert meta.language == "de"
    assert meta.canonical_url == "https://harbourherald.example/ferry"


# author kinds: wire services and desks are credited as organisations


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (["Associated Press"], [("Associated Press", "organisation")]),
        (["By AP"], [("AP", "organisation")]),
        (["REUTERS"], [("Reuters", "organisation")]),
        (["Gear Team"], [("Gear Team", "organisation")]),
        (["The Investopedia Team"], [("The Investopedia Team", "organisation")]),
        (["TOM KRISHER", "Ann van der Berg"],
         [("Tom Krisher", "person"), ("Ann van der Berg", "person")]),
        (["Staff", "admin", "https://example.com/team"], []),
    ],
)
def test_author_credits_keep_wire_services_and_desks_as_organisations(
    raw: list[str], expected: list[tuple[str, str]]
) -> None:
    assert author_credits(raw, {"harbourherald"}) == expected


def test_an_organisation_is_the_author_only_when_no_source_names_a_person() -> None:
    wire = dict(ARTICLE_LD, author={"@type": "Organization", "name": "Associated Press"})
    meta = _meta(_page(ld=wire))
    assert (meta.authors, meta.author_kinds, meta.authors_source) == (
        ["Associated Press"], ["organisation"], "json-ld")
    meta = _meta(_page('<meta name="author" content="Anna Berg">', ld=wire))
    assert (meta.authors, meta.author_kinds, meta.authors_source) == (
        ["Anna Berg"], ["person"], "meta")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (["Anna Berg, MD, FACP"], [("Anna Berg, MD, FACP", "person")]),
        (["Tom Lund, Ph.D."], [("Tom Lund, Ph.D.", "person")]),
        (["Anna Berg, MS and Tom Lund"],
         [("Anna Berg, MS", "person"), ("Tom Lund", "person")]),
        # a wire service after a comma is a second credit, not a credential
        (["Anna Berg, AP"], [("Anna Berg", "person"), ("AP", "organisation")]),
        (["Anna Berg, Tom Lund"], [("Anna Berg", "person"), ("Tom Lund", "person")]),
    ],
)
def test_credentials_after_a_comma_stay_with_the_name(
    raw: list[str], expected: list[tuple[str, str]]
) -> None:
    assert author_credits(raw, {"harbourherald"}) == expected


def test_the_only_h1_is_the_title_the_reader_sees() -> None:
    head = ('<meta property="og:title" content="Ferry timetable 2026: all you need to know">'
            "<title>Ferry timetable 2026: all you need to know | Harbour Herald</title>")
    one = _page(head, "<h1>What you need to know about the new ferry timetable</h1>")
    meta = _meta(one)
    assert (meta.title, meta.title_source) == (
        "What you need to know about the new ferry timetable", "h1")
    # several <h1> (a logo, cards) or a short one: the vote decides, as before
    two = _page(head, "<h1>Harbour Herald daily news site</h1>"
                      "<h1>Twice as many ferries cross the harbour from May</h1>")
    assert _meta(two).title == "Ferry timetable 2026: all you need to know"
    short = _page(head, "<h1>Ferry news</h1>")
    assert _meta(short).title == "Ferry timetable 2026: all you need to know"
    # the only <h1> that is the site's name is not the title
    logo = _page(head, "<h1>Harbour Herald</h1>")
    assert _meta(logo).title == "Ferry timetable 2026: all you need to know"


def test_json_ld_person_is_an_author_even_in_lower_case() -> None:
    ld = dict(ARTICLE_LD, author={"@type": "Person", "name": "anna berg"})
    meta = _meta(_page(ld=ld))
    assert (meta.authors, meta.author_kinds) == (["anna berg"], ["person"])
    # the site's account or widget text typed Person is still no author
    for name in ("wp_admin", "Sign In"):
        ld = dict(ARTICLE_LD, author={"@type": "Person", "name": name})
        assert _meta(_page(ld=ld)).authors == []
    # the same lower-case name without the Person type is not taken
    ld = dict(ARTICLE_LD, author={"@type": "Thing", "name": "anna berg"})
    assert _meta(_page(ld=ld)).authors == []


def test_the_only_h1_sharing_no_words_with_the_seo_titles_is_not_the_title() -> None:
    head = ('<meta property="og:title" content="Ferry timetable 2026: all you need to know">'
            "<title>Ferry timetable 2026: all you need to know</title>")
    tagline = _page(head, "<h1>The first digital newspaper of the coast</h1>")
    assert _meta(tagline).title == "Ferry timetable 2026: all you need to know"


# Printed dates, author boxes and unmarked bylines (issue 17)

OLD_LD = dict(ARTICLE_LD, datePublished="2020-01-05T09:00:00Z", dateModified="2020-01-05T09:00:00Z")


def _headed(after_h1: str, elsewhere: str = "", ld: Any = OLD_LD) -> Metadata:
    body = f"<article><h1>Ferry service to double</h1>{after_h1}<p>Text.</p></article>{elsewhere}"
    return _meta(_page(body=body, ld=ld))


def test_date_printed_under_the_headline_beats_a_markup_date_printed_nowhere() -> None:
    meta = _headed('<div class="meta">By Anna Berg · 24 November 2026</div>')
    assert (meta.published, meta.published_source) == ("2026-11-24", "headline")
    assert _headed("<p>Nov. 24th, 2026</p>").published == "2026-11-24"


@pytest.mark.parametrize(
    ("after_h1", "elsewhere", "ld"),
    [
        ("<p>Updated November 24, 2026</p>", "", OLD_LD),  # an update, not the publication
        ("<p>Last modified: 2026-11-24</p>", "", OLD_LD),
        ("<p>November 24, 2026</p>", "<footer>Posted 5 January 2020</footer>", OLD_LD),
        # the printed day next to a published moment: the same moment in local time
        ("<p>November 24, 2026</p>", "", dict(OLD_LD, datePublished="2026-11-25T02:00:00Z")),
        # the page's declared modification date printed alone
        ("<p>November 24, 2026</p>", "", dict(OLD_LD, dateModified="2026-11-24T10:00:00Z")),
    ],
)
def test_printed_date_does_not_replace_a_shown_or_updated_date(
    after_h1: str, elsewhere: str, ld: Any
) -> None:
    assert _headed(after_h1, elsewhere, ld).published_source == "json-ld"


def test_long_author_box_gives_the_name_above_the_bio() -> None:
    box = ('<div class="author-box"><div class="author-text">Anna Berg<div>Anna Berg has covered'
           " the harbour, its ferries, its fishermen and its finances for the Herald since 2009,"
           " after ten years at sea.</div></div></div>")
    assert visible_bylines(lxml_html.fromstring(_page(body=box)), set()) == ["Anna Berg"]


def test_author_element_pieces_are_not_glued_together() -> None:
    card = '<a class="author-card" href="/a"><span>Anna Berg</span><span>Author Posts</span></a>'
    assert visible_bylines(lxml_html.fromstring(_page(body=card)), set()) == ["Anna Berg"]


def test_reviewers_and_contributors_end_the_byline() -> None:
    body = ('<p>By <a href="/author/anna-berg">Anna Berg</a></p>'
            '<p>Contributions from: <a href="/author/tom-lund">Tom Lund</a>,'
            ' <a href="/author/eva-holm">Eva Holm</a></p>'
            '<p>Reviewed by <a href="/author/karl-olsen">Karl Olsen</a></p>')
    assert visible_bylines(lxml_html.fromstring(_page(body=body)), set()) == ["Anna Berg"]


def test_element_holding_only_a_name_declares_it() -> None:
    def names(body: str, site: frozenset[str] = frozenset()) -> list[str]:
        return visible_bylines(lxml_html.fromstring(_page(body=body)), set(site))

    assert names('<span class="entry-author">Kiersten</span>') == ["Kiersten"]
    assert names('<span class="entry-author">Idle Cartulary</span>', {"idlecartulary"}) == [
        "Idle Cartulary"]  # the site credited as the author
    # a user handle (forums) and a name inside a list of job titles are not declared
    assert names('<a class="author-name" href="/user/EuroStepJam/">EuroStepJam</a>') == []
    assert names('<div class="author">Anna Berg | Research &amp; Development</div>') == [
        "Anna Berg"]
    # a menu link labelled "Authors" is no label
    assert names('<li><a href="/all">Authors</a> <a href="/t">Titles</a></li>') == []


def test_author_names_lose_initials_job_titles_and_months() -> None:
    assert clean_authors(["CM Craig McCarthy", "Jordana Cepelewicz December",
                          "Liz Kenny Former McKinsey", "Matt Check Head Winemaker",
                          "Full Bio", "The Author", "Lead Reviewer"]) == [
        "Craig McCarthy", "Jordana Cepelewicz", "Liz Kenny", "Matt Check"]


def test_unmarked_by_line_after_the_headline_names_the_author() -> None:
    meta = _headed('<div class="meta">By Anna Berg</div>', ld=None)
    assert (meta.authors, meta.authors_source) == (["Anna Berg"], "headline-byline")
    assert _headed("<p>By clicking here you agree</p>", ld=None).authors == []


def test_titles_lose_pipe_suffixes_prefixed_site_names_and_mojibake() -> None:
    assert headline_before_pipe("Ferry service to double | Opinion | Herald") == (
        "Ferry service to double")
    assert headline_before_pipe("News | Ferry service to double") == (
        "News | Ferry service to double")  # a short kicker keeps the title whole
    assert strip_site_name("Ferry service to double | HERALD", {"myherald"}) == (
        "Ferry service to double")
    assert repair_mojibake("The Herald\u00e2\u0080\u0099s ferry") == "The Herald\u2019s ferry"
    assert repair_mojibake("Café in Ærøskøbing") == "Café in Ærøskøbing"


@pytest.mark.parametrize(
    "h1",
    ["Ferry service to double from May Posted on 24 November 2026 by anna",
     "Nov 24 2026 Ferry service to double from May",
     "Ferry service to double from May (harbourherald.example)",
     "News: Ferry service to double from May"],
)
def test_h1_furniture_around_the_headline_is_dropped(h1: str) -> None:
    page = _page('<meta property="og:title" content="Ferry service to double from May">',
                 f"<h1>{h1}</h1>")
    assert _meta(page).title == "Ferry service to double from May"


def test_h1_words_around_the_headline_that_are_not_furniture_stay() -> None:
    page = _page('<meta property="og:title" content="Ferry service to double from May">',
                 "<h1>Ferry service to double from May, says harbour board</h1>")
    assert _meta(page).title == "Ferry service to double from May, says harbour board"
