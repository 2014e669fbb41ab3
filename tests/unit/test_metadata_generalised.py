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
