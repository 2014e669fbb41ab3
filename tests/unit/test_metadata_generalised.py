"""Metadata rules that generalise across corpora (issue 17): each rule on small pages made here."""

import json
from typing import Any

from lxml import html as lxml_html

from newsflow.author_names import author_credits, clean_authors
from newsflow.metadata import Metadata, extract_metadata


def _page(head: str = "", body: str = "", ld: Any = None) -> str:
    script = f'<script type="application/ld+json">{json.dumps(ld)}</script>' if ld else ""
    return f'<html lang="en"><head>{head}{script}</head><body>{body}</body></html>'


def _meta(page: str, url: str = "https://news.harbourherald.example/a/1") -> Metadata:
    return extract_metadata(lxml_html.fromstring(page), url)


def test_a_personal_site_named_after_its_author_keeps_the_author() -> None:
    # the site "scalzi" is part of the name, not the name: a person's blog
    assert clean_authors(["John Scalzi"], {"scalzi", "whateverscalzicom"}) == ["John Scalzi"]
    assert clean_authors(["Scalzi"], {"scalzi"}) == []


def test_a_month_abbreviation_after_a_name_is_the_byline_date() -> None:
    assert clean_authors(["Gary Marcus Dec", "ServiceTitan November"]) == ["Gary Marcus"]
    assert [name for name, _ in author_credits(["ServiceTitan November"], declared=True)] == [
        "ServiceTitan"]


GRAPH_PERSON = {"@context": "https://schema.org", "@graph": [
    {"@type": "WebPage", "@id": "https://x.example/a#page", "name": "Moving guide",
     "author": {"@id": "https://x.example/#person"}},
    {"@type": "Person", "@id": "https://x.example/#person", "name": "kirstin boatto"},
]}


def test_a_meta_author_the_graph_types_as_a_person_is_kept_in_its_spelling() -> None:
    page = _page('<meta name="author" content="kirstin boatto">',
                 ld={"@context": "https://schema.org", "@graph": GRAPH_PERSON["@graph"][1:]})
    meta = _meta(page)
    assert (meta.authors, meta.authors_source) == (["kirstin boatto"], "meta")


def test_the_page_node_author_when_no_article_node_names_one() -> None:
    meta = _meta(_page(ld=GRAPH_PERSON))
    assert (meta.authors, meta.authors_source) == (["kirstin boatto"], "json-ld")


def test_a_handle_typed_person_gives_way_to_a_visible_name() -> None:
    ld = {"@context": "https://schema.org", "@type": "Article", "headline": "A guide",
          "author": {"@type": "Person", "name": "andrew.keaveney"}}
    byline = '<span class="author-name">Denise Everheart</span>'
    assert _meta(_page(ld=ld, body=byline)).authors == ["Denise Everheart"]
    assert _meta(_page(ld=ld)).authors == ["andrew.keaveney"]
    first_name = dict(ld, author={"@type": "Person", "name": "Mazi"})
    assert _meta(_page(ld=first_name, body=byline)).authors == ["Mazi"]


def test_the_headline_is_the_h1_in_the_article_not_the_logo() -> None:
    body = ('<header><h1 class="logo"><a href="/">Houstonia</a></h1>'
            + "<nav>" + "<a href='/s'>Section</a>" * 60 + "</nav></header>"
            '<article><h1>New restaurants to visit this month</h1>'
            '<p class="meta"> <span>By <a href="/p/sg">Sofia Gonzalez</a></span> '
            '<span>December 2, 2025</span></p><p>Text.</p></article>')
    meta = _meta(_page(body=body))
    assert (meta.authors, meta.authors_source) == (["Sofia Gonzalez"], "headline-byline")
    assert meta.published == "2025-12-02"


def _headed(line: str) -> Metadata:
    return _meta(_page(body=f"<article><h1>Choosing a course for the new year</h1>{line}"
                            "<p>Body text of the article.</p></article>"))


def test_an_unmarked_by_line_declares_the_author_with_its_tail_cut() -> None:
    assert _headed("<div>Written by Eliz - Product marketer</div>").authors == ["Eliz"]
    assert _headed("<div>Posted by BeauHD on Friday December 19</div>").authors == ["BeauHD"]
    assert _headed("<p>By A. J. Neal View In Digital Edition</p>").authors == ["A. J. Neal"]
    assert _headed("<p>By Hardtail Canada August 12, 2021</p>").authors == ["Hardtail Canada"]
    assert _headed("<p>By clicking here you agree</p>").authors == []
    # a hyphenated name is not a name and a tail
    assert _headed("<p>By Jean-Luc Aufranc</p>").authors == ["Jean-Luc Aufranc"]


def test_a_written_by_line_anywhere_names_the_author() -> None:
    body = ("<article><h1>Do millennials budget better than their parents?</h1>"
            + "<p>Body text of the article.</p>" * 50 + "</article>"
            '<aside><div class="box"><p>Written by Cassidy Horton</p></div></aside>'
            '<section class="comments"><p>Written by a reader</p></section>')
    meta = _meta(_page(body=body))
    assert (meta.authors, meta.authors_source) == (["Cassidy Horton"], "written-by")


def test_an_all_capitals_h1_gives_way_to_the_page_casing() -> None:
    page = _page("<title>Weekend Coding Agent</title>", "<h1>WEEKEND CODING AGENT</h1>")
    assert _meta(page).title == "Weekend Coding Agent"
    assert _meta(_page(body="<h1>WEEKEND CODING AGENT</h1>")).title == "WEEKEND CODING AGENT"


def test_a_by_line_ends_at_its_date() -> None:
    line = "<p>By Jo Rabbid March 19, 2024 in New Builds and Planning</p>"
    assert _headed(line).authors == ["Jo Rabbid"]
