"""trafilatura's author extraction (``trafilatura.metadata.extract_author``), its XPaths
answered by one pass over the elements each.

``authors`` asks trafilatura's author XPaths for the byline when the page declares no
author. trafilatura 2.3.1's five expressions (three to find the author, two to prune the
places it is not) test a dozen attributes of every element of the page, five of them with
EXSLT ``re:test``; libxml2 takes 3 to 4 ms a page for each expression (about a sixth of
the metadata cascade, 10 ms of a wcxb page's 60). The same tests written in Python over
the elements the expression's tags allow take a third of that. The rest of
``extract_author`` (copy, prune, first short text, normalisation) is trafilatura's own,
called as it is: ``prune_unwanted_nodes`` and ``extract_metainfo`` take any callable that
returns the matching elements in document order.

The version is pinned (requirements.lock); ``tests/unit/test_trafilatura_authors.py``
checks each expression and the result against trafilatura's on real pages, so an upgrade
that changes them fails there.
"""

import logging
import re
from copy import deepcopy

from lxml.etree import Element, XPath, _Element
from lxml.html import HtmlElement
from trafilatura.htmlprocessing import prune_unwanted_nodes
from trafilatura.json_metadata import normalize_authors
from trafilatura.metadata import extract_metainfo

LOGGER = logging.getLogger(__name__)

# The tags and patterns of trafilatura.xpaths.AUTHOR_XPATHS and AUTHOR_DISCARD_XPATHS.
_SPECIFIC_TAGS = ("a", "address", "div", "link", "p", "span", "strong")
_SPECIFIC_CLASS = re.compile("author-?name|AuthorName|authorName")
_GENERIC_TAGS = ("a", "div", "h3", "h4", "p", "span")
_GENERIC_CLASSES = frozenset(("byline", "username", "byl", "BBL"))
_GENERIC_ID = re.compile("author|zuozhe|bianji|xiaobian")
_GENERIC_CLASS = re.compile(
    "author|channel-name|zuozhe|bianji|xiaobian|submitted-by|posted-by|journalist-name")
_ANY_ID = re.compile("[Aa]uthor")
_ANY_CLASS = re.compile("[Aa]uthor|screenname|writer|[Bb]yline")
_DISCARD_TAGS = ("a", "div", "section", "span")
_DISCARD_ID = re.compile("^comments|comment-?list|ProductReviews")
_DISCARD_CLASS = re.compile(
    "^[Cc]omments|commentlist|comments-list|sidebar|is-hidden|quote|embedly-instagram"
    "|article-(?:share|support)|print|category|meta-date|meta-reviewer")
_REL_ME = XPath("//rel[string() = 'me']/..")


def _specific_authors(tree: _Element) -> list[_Element]:
    """AUTHOR_XPATHS[0]: ``//*[self::a or ... or self::strong][@rel='author' or ...
    or re:test(@class, 'author-?name|AuthorName|authorName')]|//author``."""
    rel_me = set(_REL_ME(tree))  # ``rel='me'``: a child <rel> whose text is "me"
    found = []
    for element in tree.iter(*_SPECIFIC_TAGS, "author"):
        if element.tag == "author":
            found.append(element)
            continue
        get = element.get
        if (
            get("rel") == "author" or get("id") == "author" or get("class") == "author"
            or get("itemprop") == "author name" or element in rel_me
            or get("data-testid") in ("AuthorCard", "AuthorURL")
            or _SPECIFIC_CLASS.search(get("class") or "") is not None
        ):
            found.append(element)
    return found


def _generic_authors(tree: _Element) -> list[_Element]:
    """AUTHOR_XPATHS[1]: ``//*[self::a or ... or self::span][@class='byline' or ...
    or contains(@itemprop, 'author') or re:test(@id, ...) or re:test(@class, ...)]``."""
    found = []
    for element in tree.iter(*_GENERIC_TAGS):
        get = element.get
        css = get("class") or ""
        if (
            css in _GENERIC_CLASSES or "author" in (get("itemprop") or "")
            or _GENERIC_ID.search(get("id") or "") is not None
            or _GENERIC_CLASS.search(css) is not None
        ):
            found.append(element)
    return found


def _any_authors(tree: _Element) -> list[_Element]:
    """AUTHOR_XPATHS[2]: ``//*[contains(@data-component, 'Byline') or contains(@itemprop,
    'author') or re:test(@id, '[Aa]uthor') or re:test(@class, ...)]``."""
    found = []
    for element in tree.iter(Element):
        get = element.get
        if (
            "Byline" in (get("data-component") or "") or "author" in (get("itemprop") or "")
            or _ANY_ID.search(get("id") or "") is not None
            or _ANY_CLASS.search(get("class") or "") is not None
        ):
            found.append(element)
    return found


def _discarded_sections(tree: _Element) -> list[_Element]:
    """AUTHOR_DISCARD_XPATHS[0]: ``.//*[self::a or ... or self::span][@id='comments' or
    ... or re:test(@id, ...) or re:test(@class, ...) or contains(@data-component,
    'Figure')]`` (below the root)."""
    found = []
    for element in tree.iterdescendants(*_DISCARD_TAGS):
        get = element.get
        ident, css = get("id") or "", get("class") or ""
        if (
            ident == "comments" or css in ("comments", "title", "date")
            or _DISCARD_ID.search(ident) is not None
            or _DISCARD_CLASS.search(css) is not None
            or "Figure" in (get("data-component") or "")
        ):
            found.append(element)
    return found


AUTHOR_XPATHS = [_specific_authors, _generic_authors, _any_authors]
AUTHOR_DISCARD_XPATHS = [_discarded_sections, XPath("//time|//figure")]


def extract_author(tree: HtmlElement) -> str | None:
    """``trafilatura.metadata.extract_author(tree)``: the page's author(s) as trafilatura
    finds them ("Jane Doe; John Roe"), None when none; the tree is not modified."""
    subtree = prune_unwanted_nodes(deepcopy(tree), AUTHOR_DISCARD_XPATHS)
    author = extract_metainfo(subtree, AUTHOR_XPATHS, len_limit=120)
    if author:
        author = normalize_authors(None, author)
    return author
