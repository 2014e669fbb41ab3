"""The shared two-pass extraction gives what two ``bare_extraction`` calls give."""

import json
from copy import copy

import pytest
import trafilatura
from lxml import etree
from trafilatura import core
from trafilatura.htmlprocessing import prune_unwanted_nodes
from trafilatura.xpaths import OVERALL_DISCARD_XPATH

from newsflow.trafilatura_passes import (
    EXTRACTION_OPTIONS,
    Extraction,
    default_and_precise,
    prune_overall_discard,
)
from tests.conftest import DEMO

PAGES = [*sorted((DEMO / "site" / "articles").glob("*.html")),
         DEMO / "drop" / "harbour-gallery.html"]

STORY = " ".join(
    f"Sentence {number} of the council's report says the bridge will stay closed for repairs."
    for number in range(40)
)


def _page(body: str, head: str = "") -> str:
    return f"<html><head><title>Bridge closes</title>{head}</head><body>{body}</body></html>"


SYNTHETIC = {
    # comments and an infinite-scroll container: pruned from the raw tree both passes share
    "comments-and-scroll": _page(
        f"<article><h1>Bridge closes</h1><p>{STORY}</p></article>"
        '<div id="comments"><p>First! Great article, thanks for writing it up.</p></div>'
        '<ol class="commentlist"><li>I drive over it every day and it is fine.</li></ol>'
        f'<div class="infinite-scroll"><article><p>{STORY[:400]} next story</p></article></div>'
    ),
    # a short story on a large page: default mode's recall escalation runs
    "escalation": _page(
        "<div><p>The bridge closes on Monday for repairs, the council said. Buses will run"
        " instead of the trains for two weeks.</p></div>"
        + f'<div class="widget"><p>{STORY[:1000]}</p></div>' * 8
    ),
    # a thread forum: its comment containers are posts, the passes prune differently
    "forum": _page(
        f'<div class="comment"><p>{STORY}</p></div><div class="comment"><p>{STORY[:300]}</p></div>',
        head='<script type="application/ld+json">'
        + json.dumps({"@context": "https://schema.org", "@type": "DiscussionForumPosting",
                      "headline": "Bridge closes"})
        + "</script>",
    ),
    # nothing to extract
    "empty": _page("<div><img src='/logo.png'></div>"),
    # tables and a sidebar, which precision mode drops
    "table-and-sidebar": _page(
        f"<main><h2>Closures</h2><p>{STORY}</p><table><tr><th>Day</th><th>Lane</th></tr>"
        "<tr><td>Monday</td><td>North</td></tr></table></main>"
        f'<aside class="sidebar"><p>{STORY[:500]}</p></aside>'
    ),
}


def _expected(tree: etree._Element, precision: bool) -> Extraction | None:
    document = trafilatura.bare_extraction(tree, favor_precision=precision, **EXTRACTION_OPTIONS)
    return None if document is None else Extraction(text=document.text, body=document.body)


def _plain(extraction: Extraction | None) -> tuple[str | None, bytes | None] | None:
    if extraction is None:
        return None
    body = None if extraction.body is None else etree.tostring(extraction.body)
    return extraction.text, body


@pytest.mark.parametrize(
    "content",
    [path.read_bytes() for path in PAGES] + list(SYNTHETIC.values()),
    ids=[path.name for path in PAGES] + list(SYNTHETIC),
)
def test_shared_passes_equal_two_bare_extraction_calls(content: bytes | str) -> None:
    tree = trafilatura.load_html(content)
    before = etree.tostring(tree)
    main, precise = default_and_precise(tree)
    assert etree.tostring(tree) == before  # the page itself is left as it was
    assert _plain(main) == _plain(_expected(tree, precision=False))
    assert _plain(precise) == _plain(_expected(tree, precision=True))


def test_synthetic_pages_reach_the_stages_they_are_for(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pages above exercise what they are named after (else the comparison is idle)."""
    retries = []
    real_retry = core._recall_retry

    def counted_retry(*args: object) -> object:
        retries.append(args)
        return real_retry(*args)

    monkeypatch.setattr(core, "_recall_retry", counted_retry)
    main, precise = default_and_precise(trafilatura.load_html(SYNTHETIC["comments-and-scroll"]))
    assert main is not None and "Sentence 39" in main.text
    assert "First!" not in main.text and "every day" not in main.text
    assert "next story" not in main.text
    main, _ = default_and_precise(trafilatura.load_html(SYNTHETIC["escalation"]))
    assert main is not None and "Buses will run instead of the trains" in main.text
    assert len(retries) == 1  # default mode's recall escalation ran, once
    forum = trafilatura.load_html(SYNTHETIC["forum"])
    assert core._forum_thread_page(forum)
    main, precise = default_and_precise(forum)
    assert main is not None and "Sentence 39" in main.text
    assert default_and_precise(trafilatura.load_html(SYNTHETIC["empty"])) == (None, None)
    main, precise = default_and_precise(trafilatura.load_html(SYNTHETIC["table-and-sidebar"]))
    assert main is not None and precise is not None and "Monday" in main.text


# Each clause of OVERALL_DISCARD_XPATH, near misses, attribute order, nesting and tails.
DISCARD_CASES = """
<div class="story"><p>kept</p></div>tail-a
<div data-lp-replacement-content="">x</div>tail-b
<section role="Navigation">x</section><span role="main">kept</span>
<div data-component="MostPopularStories-list">x</div>
<div class="cookie-wall" id="main">x</div><div id="main" class="cookie-wall">kept: id first</div>
<div id="cookies">x</div><p id="share-bar">x</p><p id="sharing">x</p><p id="reshare">x</p>
<div id="ad-top">x</div><div id="head-ad-top">kept</div><span id="jp-relatedposts">x</span>
<div class="nav-main">x</div><div class="topnav">kept: nav not first</div>
<div class="big ad box">x</div><div class="x ad-slot">x</div><div class="road-trip">kept</div>
<div class="dfpAd">x</div><div class="dfpad">x</div><div class="paidcontent">x</div>
<div class="bread-crumb">x</div><div class="breadcrumbs">x</div>
<article class="sidebar">kept: tag</article><li class="menu">kept: tag</li>
<div class="comments-title">x</div><h3 class="comments-title">x</h3>
<h4 id="reply-title">x</h4><h4 id="a" class="reply-form">kept: id first</h4>
<em id="x" style="visibility: hidden">kept: id first</em><em style="a:hidden" id="x">x</em>
<b style="display:none">x</b><b style="display: none">x</b><b style="display:block">kept</b>
<i id="reader-comments-1">x</i><i class="x akismet">x</i><i class="hide-me">x</i>
<i class="me hide">x</i><i class="nohide">kept</i><i aria-hidden="true">x</i>
<i aria-hidden="false">kept</i>
<div class="outer"><div class="share-box">x<p class="meta">x</p></div>tail-c</div>
<div class="sidebar"><b style="display:none">x</b></div>tail-d
"""


def test_prune_overall_discard_equals_the_xpaths() -> None:
    pages = [_page(DISCARD_CASES)] + [path.read_bytes() for path in PAGES]
    for content in pages:
        tree = trafilatura.load_html(content)
        expected = etree.tostring(prune_unwanted_nodes(copy(tree), OVERALL_DISCARD_XPATH))
        assert etree.tostring(prune_overall_discard(copy(tree))) == expected
    pruned = etree.tostring(prune_overall_discard(trafilatura.load_html(_page(DISCARD_CASES))))
    text = pruned.decode()
    assert text.count("kept") == DISCARD_CASES.count("kept") and ">x<" not in text
    assert all(tail in text for tail in ("tail-a", "tail-b", "tail-c", "tail-d"))
