"""The regex-free author expressions give what trafilatura's author XPaths give."""

from copy import deepcopy

import pytest
import trafilatura
from lxml import etree
from trafilatura.metadata import extract_author as trafilatura_extract_author
from trafilatura.xpaths import AUTHOR_DISCARD_XPATHS, AUTHOR_XPATHS

from newsflow import trafilatura_authors
from tests.conftest import DEMO

PAGES = [*sorted((DEMO / "site" / "articles").glob("*.html")),
         DEMO / "drop" / "harbour-gallery.html"]

# Each clause of the five expressions, near misses (other tags, case, anchors), nesting,
# tails around pruned elements, and the ``rel='me'`` child test.
AUTHOR_CASES = """
<div class="comments"><span class="author">In the comments</span></div>tail-a
<section id="comments-1"><a rel="author">Commenter</a></section>
<div id="the-comments">kept: not at the start</div><div id="commentlist">x</div>
<div id="comment-list">x</div><span id="ProductReviews">x</span><p class="comments">kept: p</p>
<div class="Comments box">x</div><div class="x comments">kept: not at the start</div>
<span class="sidebar">x</span><a class="print-link">x</a><div class="blockquote">x</div>
<div class="article-share">x</div><div class="article-support">x</div><div class="title">x</div>
<div class="date">x</div><div class="meta-date">x</div><span data-component="FigureX">x</span>
<p>Before <time>yesterday</time>after, and <figure>a figure</figure>tail-b</p>
<strong class="AuthorName">Ann Author</strong><strong class="authorname">kept</strong>
<b class="author-name">kept: b</b><link rel="author" href="/a"><p rel="me">kept</p>
<span><rel>me</rel>Ann Rel</span><span><rel>you</rel>kept</span>
<author>Ann Tag</author>
<h3 class="byline">By Ann Byline</h3><h4 class="BBL">Ann BBL</h4><h5 class="byline">kept: h5</h5>
<p id="xiaobian-1">Ann Xiaobian</p><span class="submitted-by">Ann Submitted</span>
<div itemprop="creator author">Ann Itemprop</div><li class="Writer">kept: case</li>
<li class="screenname">Ann Screen</li><em data-component="BylineBlock">Ann Data</em>
<td id="Author">Ann Id</td><li class="Byline-x">Ann Cap</li><i class="byline">Ann Small</i>
"""


def _page(body: str) -> str:
    return f"<html><head><title>Bridge closes</title></head><body>{body}</body></html>"


def _trees() -> list:
    pages = [_page(AUTHOR_CASES)] + [path.read_bytes() for path in PAGES]
    trees = [trafilatura.load_html(content) for content in pages]
    # each line of the cases alone, so that every expression is the one that answers once
    trees += [trafilatura.load_html(_page(line)) for line in AUTHOR_CASES.splitlines() if line]
    return trees


@pytest.mark.parametrize("index", range(len(AUTHOR_XPATHS)))
def test_author_expressions_equal_trafilatura_xpaths(index: int) -> None:
    for tree in _trees():
        copied = deepcopy(tree)  # extract_author evaluates them on a copy of the page
        assert trafilatura_authors.AUTHOR_XPATHS[index](copied) == AUTHOR_XPATHS[index](copied)


@pytest.mark.parametrize("index", range(len(AUTHOR_DISCARD_XPATHS)))
def test_discard_expressions_equal_trafilatura_xpaths(index: int) -> None:
    for tree in _trees():
        copied = deepcopy(tree)
        mine = trafilatura_authors.AUTHOR_DISCARD_XPATHS[index](copied)
        assert mine == AUTHOR_DISCARD_XPATHS[index](copied)


def test_extract_author_equals_trafilatura() -> None:
    found = set()
    for tree in _trees():
        before = etree.tostring(tree)
        author = trafilatura_authors.extract_author(tree)
        assert etree.tostring(tree) == before  # the page is left as it was
        assert author == trafilatura_extract_author(tree)
        found.add(author)
    # the cases reach every expression (else the comparison is idle)
    assert {"Ann Author", "Ann Byline", "Ann Screen", "Me Ann Rel", "Ann Tag"} <= found
    assert "Commenter" not in found and None in found
