"""An article's authors and credited organisations: JSON-LD ``author`` (people only) ->
author meta tags -> trafilatura's author XPaths -> elements marked as author or byline ->
a "By ..." line after the headline -> a "Written by ..." line anywhere; organisations
posing as people are dropped, and a handle or an organisation is the author only when no
source names a person. Each source's raw values are made into names by ``author_names``.

Pure functions over an lxml tree; no network, no per-site rules.
"""

import itertools
import logging
import re
from collections.abc import Callable, Iterable
from typing import Any

from lxml import html as lxml_html

from newsflow.author_names import (
    AUTHOR_SPLIT,
    MAX_NAME_CHARS,
    PERSON,
    author_credits,
    is_person_name,
)
from newsflow.bylines import parse_byline
from newsflow.publication_dates import PAGE_NODE_TYPES, SHOWN_DATE, headline_element
from newsflow.structured_data import (
    AUTHOR_META,
    ld_text,
    meta_values,
    node_types,
    resolve_reference,
)
from newsflow.titles import name_key
from newsflow.trafilatura_authors import extract_author as trafilatura_author

LOGGER = logging.getLogger(__name__)

# Sources that declare the author (structured data), as opposed to text found on the page.
DECLARING_SOURCES = ("json-ld", "meta", "byline", "headline-byline", "written-by")
# Sources whose names structured data may type as a Person (then kept in any spelling).
TYPED_SOURCES = ("json-ld", "meta")
# Visible bylines: elements marked as the author (their text is a name), then elements
# marked as a byline (their text is "By ..."); never inside comment sections.
_LOWER = 'translate(@class, "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")'
_NOT_COMMENT = f'not(ancestor-or-self::*[contains({_LOWER}, "comment")])'
AUTHOR_ELEMENT_XPATH = (
    f'//*[(@rel="author" or @itemprop="author" or contains({_LOWER}, "author")'
    # links to an author's page ("/author/jane-doe", "/authors/jane-doe")
    ' or (self::a and contains(@href, "/author"))'
    f") and {_NOT_COMMENT}]"
)
# A label element ("Written by", "Author:") followed by the name in the next element; a
# link is a menu entry ("Authors"), not a label.
_TEXT_LOWER = ('translate(normalize-space(.), "ABCDEFGHIJKLMNOPQRSTUVWXYZ:",'
               ' "abcdefghijklmnopqrstuvwxyz")')
# The length test comes first: it spares the five translations of long leaves (scripts,
# styles), which made this the slowest step of the cascade.
LABELLED_AUTHOR_XPATH = (
    f'//*[not(*) and not(self::a) and string-length(normalize-space(.)) <= 40'
    f' and ({_TEXT_LOWER} = "written by" or {_TEXT_LOWER} = "author"'
    f' or {_TEXT_LOWER} = "by" or {_TEXT_LOWER} = "authors" or {_TEXT_LOWER} = "posted by")'
    f" and {_NOT_COMMENT}]/following-sibling::*[1]"
)
BYLINE_ELEMENT_XPATH = f'//*[contains({_LOWER}, "byline") and {_NOT_COMMENT}]'
BYLINE_ELEMENTS_READ = 5
# "Written by Jane Doe" anywhere on the page (an author box under the article): the label
# leaves no doubt, unlike a bare "By" (the length test spares the translation of long text).
WRITTEN_BY_XPATH = (
    '//*[string-length(normalize-space(.)) <= 120 and starts-with(translate(normalize-space(.),'
    f' "WRITENBY", "writenby"), "written by") and {_NOT_COMMENT}]'
)
# Elements after the headline searched for an unmarked "By ..." line, and its label.
HEADLINE_BYLINE_ELEMENTS = 40
BY_LABEL = re.compile(r"(?:(?:written|posted|words|story|text)\s+)?by\b\s*:?\s*\S",
                      re.IGNORECASE)
# Credits of people who did not write the article (reviewers, fact-checkers, testers).
_HELPER = (r"(?:(?:medically\s+|expert\s+|fact[\s-]?)?(?:reviewed|checked|verified|tested|edited"
           r"|illustrated|photographed)|fact[\s-]?checked|reviewer|editor|photos?|images?"
           r"|contributions?\s+from|contributors?|additional\s+reporting)(?:\s+by)?\s*:?")
HELPER_LABEL = re.compile(rf"^{_HELPER}", re.IGNORECASE)
HELPER_LABEL_END = re.compile(rf"\b{_HELPER}\s*$", re.IGNORECASE)
# ... or anywhere before it in the same list ("Contributions from: A, B, C").
HELPER_LIST_LABEL = re.compile(
    r"\b(?:(?:reviewed|checked|verified|tested|edited)\s+by|contributions?\s+from"
    r"|contributors?\s*:)", re.IGNORECASE)
HELPER_LABEL_CHARS = 80
BYLINE_MAX_CHARS = 120


def page_authors(
    tree: lxml_html.HtmlElement, article: dict[str, Any] | None, by_id: dict[str, Any],
    meta: dict[str, list[str]], site_names: set[str],
) -> tuple[list[tuple[str, str]], str | None]:
    """The article's credits, (name, kind), and the source they came from.

    The first source that names people wins (later sources run lazily); when none does,
    the first that names an organisation (a wire service, a desk) does.
    """
    sources: list[tuple[str, Callable[[], list[str]]]] = [
        ("json-ld", lambda: _ld_authors(article, by_id)),
        ("meta", lambda: meta_values(meta, AUTHOR_META)),
        ("trafilatura", lambda: (trafilatura_author(tree) or "").split(";")),
        ("byline", lambda: visible_bylines(tree, site_names)),
        ("headline-byline", lambda: headline_byline(tree)),
        ("written-by", lambda: written_by_lines(tree)),
    ]
    handles: tuple[list[tuple[str, str]], str | None] = ([], None)
    organisations: tuple[list[tuple[str, str]], str | None] = ([], None)
    typed = _ld_people(article, by_id)
    for source, names in sources:
        credits = author_credits(names(), site_names, declared=source in DECLARING_SOURCES,
                                 people=typed if source in TYPED_SOURCES else frozenset())
        people = [credit for credit in credits if credit[1] == PERSON]
        # A user handle typed Person ("jdoe", "andrew.keaveney") is the author only when no
        # later source names a person: the visible byline often gives the real name.
        if people and all(_is_handle(name, site_names) for name, _ in people):
            handles = handles if handles[0] else (people, source)
        elif people:
            return people, source
        if credits and not organisations[0]:
            organisations = credits, source
    return handles if handles[0] else organisations


def _is_handle(name: str, site_names: set[str]) -> bool:
    """Tell whether a name a page types Person is a user handle ("jdoe", "andrew.keaveney"):
    not a person's name nor a capitalised first name ("Mazi")."""
    if is_person_name(name, site_names):
        return False
    return not (name[:1].isupper() and all(word.isalpha() for word in name.split()))


def _ld_authors(article: dict[str, Any] | None, by_id: dict[str, Any]) -> list[str]:
    """Names of the ``author`` entries (people and organisations) of the article node, else
    of the page node (``WebPage``: some sites describe the page, not the article)."""
    names = _author_names(article, by_id)
    if names or (article and article.get("author")):
        return names
    for node in by_id.values():
        if node_types(node) & PAGE_NODE_TYPES and node.get("author"):
            return _author_names(node, by_id)
    return []


def _author_names(node: dict[str, Any] | None, by_id: dict[str, Any]) -> list[str]:
    """Names of a JSON-LD node's ``author`` entries, ``@id`` references resolved."""
    if not node:
        return []
    value = resolve_reference(node.get("author"), by_id)
    entries = value if isinstance(value, list) else [value]
    names: list[str] = []
    for entry in entries:
        entry = resolve_reference(entry, by_id)
        name = ld_text(entry.get("name")) if isinstance(entry, dict) else ld_text(entry)
        if name:
            names.append(name)
    return names


def _ld_people(article: dict[str, Any] | None, by_id: dict[str, Any]) -> frozenset[str]:
    """Case-folded names that the page's JSON-LD types ``Person``: the article's authors
    and the Person nodes of its graph (the author a meta tag names, in any spelling)."""
    value = resolve_reference(article.get("author"), by_id) if article else None
    entries = [resolve_reference(entry, by_id)
               for entry in (value if isinstance(value, list) else [value])]
    names = set()
    for entry in [*entries, *by_id.values()]:
        if isinstance(entry, dict) and "person" in node_types(entry):
            name = ld_text(entry.get("name"))
            if name:
                names.add(name.casefold())
    return frozenset(names)


def visible_bylines(tree: lxml_html.HtmlElement, site_names: set[str]) -> list[str]:
    """People named by the page's visible author elements, else by its "By ..." bylines."""
    names: list[str] = []
    read = 0
    for element in tree.xpath(AUTHOR_ELEMENT_XPATH) + tree.xpath(LABELLED_AUTHOR_XPATH):
        if _credits_helper(element):
            if names:
                break  # the byline is over: reviewers and contributors follow
            continue
        texts = author_box_texts(element)
        # An element holding nothing but the name declares it (a one-word name, the site).
        declared = len(texts) == 1 and not AUTHOR_SPLIT.search(texts[0])
        found = _credit_names(texts, site_names, declared=declared)
        names.extend(found)
        read += bool(found)
        if read >= BYLINE_ELEMENTS_READ:
            break
    if not names:
        for element in tree.xpath(BYLINE_ELEMENT_XPATH):
            text = " ".join(element.text_content().split())
            byline = parse_byline(text) if len(text) <= BYLINE_MAX_CHARS else None
            if byline:
                names.extend(_credit_names(byline, site_names))
                break
    # "About Jane Doe", "More from Jane Doe": labelled repeats of a name already found.
    # A one-word name must read like a first name ("Amanda"), not a user handle
    # ("EuroStepJam", which forum posts credit).
    unique = [name for name in _credit_names(names, site_names, declared=True)
              if " " in name or name[1:].islower() or name_key(name) in site_names]
    return [name for name in unique
            if not any(other != name and name.endswith(other) for other in unique)]


def headline_byline(tree: lxml_html.HtmlElement) -> list[str]:
    """The names of a "By ..." line just after the headline, in unmarked markup.

    The first short element among the ``HEADLINE_BYLINE_ELEMENTS`` after the headline
    (``headline_element``) whose text starts with "By", "Written by" or "Posted by" is the byline.
    """
    heading = headline_element(tree)
    if heading is None:
        return []
    for element in heading.xpath(f"following::*[position() <= {HEADLINE_BYLINE_ELEMENTS}]"):
        if element.tag in ("script", "style", "noscript", "template"):
            continue
        text = " ".join(element.text_content().split())
        if len(text) <= BYLINE_MAX_CHARS and BY_LABEL.match(text):
            return [_before_date(text)]
    return []


def _before_date(text: str) -> str:
    """A by-line without the date printed after the names and what follows it ("By Jo
    March 19, 2024 in Builds and Planning"), so that the tail is not split into names."""
    match = SHOWN_DATE.search(text)
    return text[: match.start()].strip() if match and match.start() > 0 else text


def written_by_lines(tree: lxml_html.HtmlElement) -> list[str]:
    """The first "Written by ..." line of the page, outside comment sections."""
    for element in tree.xpath(WRITTEN_BY_XPATH):
        if element.tag not in ("script", "style", "noscript", "template", "title"):
            return [_before_date(" ".join(element.text_content().split()))]
    return []


def author_box_texts(element: lxml_html.HtmlElement) -> list[str]:
    """The texts of an author element that may hold the name.

    Its text pieces (one per text node, so that a name and the job title or "Posts" link
    beside it are not read as one word) when the element is short; when it is a long author
    box (a name above a biography), its first text piece.
    """
    if element.tag in ("html", "body", "main", "article") or element.find(".//h1") is not None:
        return []  # a page or article container that merely has "author" in its class
    pieces = [text for text in (" ".join(t.split()) for t in element.itertext(
        tag=lxml_html.etree.Element)) if text]
    if not pieces:
        return []
    if sum(map(len, pieces)) <= BYLINE_MAX_CHARS:
        # A piece ending in a lower-case word runs on into the next ("posted in | News").
        text = pieces[0]
        for previous, piece in itertools.pairwise(pieces):
            text += (" " if previous.split()[-1].islower() else " | ") + piece
        return [text]
    return [pieces[0]] if len(pieces[0]) <= MAX_NAME_CHARS else []


def _credits_helper(element: lxml_html.HtmlElement) -> bool:
    """Tell whether an author element credits a reviewer, an editor or a tester: its text,
    or the text just before it in its parent, starts with such a label."""
    own = " ".join(element.text_content().split())
    if HELPER_LABEL.match(own):
        return True
    parent = element.getparent()
    if parent is None:
        return False
    before = [parent.text or ""]
    for sibling in parent:
        if sibling is element:
            break
        before.extend((sibling.text_content(), sibling.tail or ""))
    text = " ".join(" ".join(before).split())[-HELPER_LABEL_CHARS:]
    return bool(HELPER_LABEL_END.search(text) or HELPER_LIST_LABEL.search(text))


def _credit_names(names: Iterable[str], site_names: set[str], *, declared: bool = False
                  ) -> list[str]:
    """The names of ``author_credits``, people and organisations."""
    return [name for name, _ in author_credits(names, site_names, declared=declared)]
