"""An article's authors and credited organisations: JSON-LD ``author`` (people only) ->
author meta tags -> trafilatura's author XPaths -> elements marked as author or byline ->
a "By ..." line after the headline; organisations posing as people are dropped.

Pure functions over an lxml tree; no network, no per-site rules.
"""

import html
import itertools
import logging
import re
from collections.abc import Callable, Iterable
from typing import Any

from lxml import html as lxml_html

from newsflow.bylines import BYLINE_ORG_WORDS, NAME_PARTICLES, parse_byline
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

# Author names: words that make a "name" an organisation, a desk or a job title.
ORG_NAME_WORDS = BYLINE_ORG_WORDS | frozenset(
    {"newsroom", "team", "editorial", "media", "online", "service", "services", "bureau",
     "network", "channel", "magazine", "company", "inc", "ltd", "llc", "group", "digital",
     "times", "post", "herald", "tribune", "journal", "gazette", "daily", "weekly", "radio",
     "tv", "television", "newspaper", "admin", "administrator", "webmaster", "guest",
     "redaktion", "rédaction", "redacción", "redazione", "verlag", "gmbh", "ag", "sa", "srl",
     "profile", "video", "videos", "theme"}
)
# Wire services and news agencies: credited as authors, of kind "organisation", so that
# analysts find wire copy (lower-case full names and the initials they sign with).
WIRE_SERVICES = frozenset(
    {"associated press", "the associated press", "ap", "reuters", "thomson reuters", "afp",
     "agence france-presse", "agence france presse", "bloomberg", "bloomberg news", "dpa",
     "upi", "united press international", "pa", "pa media", "press association", "ansa",
     "efe", "xinhua", "kyodo", "kyodo news", "anadolu", "anadolu agency", "aap",
     "australian associated press", "the canadian press", "canadian press", "pti",
     "press trust of india", "ians", "tass", "yonhap", "aa", "apa", "ana", "belga", "anp",
     "ntb", "tt", "sda", "ritzau", "epa", "cna"}
)
# A credit ending in one of these words is a desk or a team of the publication ("Gear
# Team", "Reuters Staff", "Politics Desk"): an organisation, not a person.
DESK_WORDS = frozenset({"team", "staff", "desk", "newsroom", "editors", "editorial",
                        "reporters", "writers", "correspondents", "redaktion", "rédaction"})
MAX_DESK_WORDS = 4
# Sources that declare the author (structured data), as opposed to text found on the page.
DECLARING_SOURCES = ("json-ld", "meta", "byline")
# Organisation words a declared author may hold (a company credited as the author).
DECLARED_ORG_WORDS = frozenset({"inc", "ltd", "llc", "group", "company", "media", "digital",
                                "services", "service", "network"})
PERSON, ORGANISATION = "person", "organisation"
# The site's own accounts, never a person's name even when typed Person ("admin").
SITE_ACCOUNTS = frozenset({"admin", "administrator", "webmaster", "root", "user", "guest"})
AUTHOR_SPLIT = re.compile(r"\s*(;|\||/|,|&|\band\b|\bund\b|\bet\b|\by\b)\s*", re.IGNORECASE)
# Post-nominal credentials after a comma ("Jane Doe, MD, FACP", "Jo Roe, Ph.D.") belong to
# the name before them: they are not another author.
CREDENTIAL = re.compile(
    r"(?:[A-Z]{2,6}|(?:[A-Z][a-z]{0,2}\.){2,3}|Ph\.?\s?D\.?|[JS]r\.?|I{2,3}|IV)"
)
AUTHOR_PREFIX = re.compile(
    r"^(?:(?:posted|written|published|words|text|reporting|reviewed|edited|story)\s+by"
    r"|(?:artikel|geschrieben|ein\s+beitrag)\s+von"
    r"|by|von|par|por|door|authors?|autor|autorin|autoren|auteur|autore|text|texto"
    r"|written|contributors?)\b[:\s]*",
    re.IGNORECASE,
)
# What trails a name in widgets: "(Content Manager", "Updated Jan 5", "Published on ...".
AUTHOR_TAIL = re.compile(
    r"\s*[(\[|•·●▪⋅].*$|\s+(?:last\s+)?(?:updated|published|posted|reviewed|modified|on)\b.*$",
    re.IGNORECASE,
)
# Job titles that trail a name in author boxes ("Jane Doe Senior Analyst").
ROLE_WORDS = frozenset(
    {"senior", "junior", "chief", "lead", "principal", "associate", "analyst", "editor",
     "manager", "writer", "contributor", "director", "expert", "reporter", "correspondent",
     "columnist", "founder", "co-founder", "ceo", "cto", "head", "content", "marketing",
     "specialist", "strategist", "consultant", "journalist", "producer", "researcher",
     "copywriter", "blogger", "officer", "president", "coordinator", "intern", "former",
     "contributing", "staff", "certified", "licensed", "reviewer"}
)
MONTH_WORDS = frozenset({"january", "february", "march", "april", "june", "july", "august",
                         "september", "october", "november", "december"})
# Words of interface text that bylines pick up ("Sign In", "Top Hybrids", "Read More").
WIDGET_WORDS = frozenset(
    {"sign", "login", "logout", "log", "subscribe", "menu", "search", "share", "follow",
     "home", "read", "view", "more", "contact", "about", "top", "updated", "posted",
     "published", "reviewed", "comments", "comment", "reply", "click", "privacy", "policy",
     "terms", "cookie", "cookies", "account", "register", "newsletter", "latest", "best",
     "skip", "content", "toggle", "close", "open", "back", "next", "previous", "download",
     "bio", "author", "authors", "layout", "posts", "profile", "certified", "licensed",
     "sponsored", "spotlight", "featured", "partner", "authorization", "authorize"}
)
AUTHOR_PLACE = re.compile(r"\s+(?:in|for|at)\s+[A-ZÀ-Þ][\w .'’-]*$")
NON_NAME = re.compile(r"https?://|www\.|[@:_»«|#©!?<>=\"]|\d|\.[a-z]{2,4}\b", re.IGNORECASE)
MARKUP = re.compile(r"<[^>]*>")
MAX_NAME_WORDS = 5
MAX_NAME_CHARS = 60
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
    ]
    organisations: tuple[list[tuple[str, str]], str | None] = ([], None)
    people = _ld_people(article, by_id)
    for source, names in sources:
        credits = author_credits(names(), site_names, declared=source in DECLARING_SOURCES,
                                 people=people if source == "json-ld" else frozenset())
        people = [credit for credit in credits if credit[1] == PERSON]
        if people:
            return people, source
        if credits and not organisations[0]:
            organisations = credits, source
    return organisations


def _ld_authors(article: dict[str, Any] | None, by_id: dict[str, Any]) -> list[str]:
    """Names of the article node's ``author`` entries (people and organisations)."""
    if not article:
        return []
    value = resolve_reference(article.get("author"), by_id)
    entries = value if isinstance(value, list) else [value]
    names: list[str] = []
    for entry in entries:
        entry = resolve_reference(entry, by_id)
        name = ld_text(entry.get("name")) if isinstance(entry, dict) else ld_text(entry)
        if name:
            names.append(name)
    return names


def _ld_people(article: dict[str, Any] | None, by_id: dict[str, Any]) -> frozenset[str]:
    """Case-folded names of the article node's authors typed ``Person``."""
    if not article:
        return frozenset()
    value = resolve_reference(article.get("author"), by_id)
    names = set()
    for entry in value if isinstance(value, list) else [value]:
        entry = resolve_reference(entry, by_id)
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

    The first short element among the ``HEADLINE_BYLINE_ELEMENTS`` after the first
    ``<h1>`` whose text starts with "By", "Written by" or "Posted by" is the byline.
    """
    heading = next((h for h in tree.xpath("//h1") if h.text_content().strip()), None)
    if heading is None:
        return []
    for element in heading.xpath(f"following::*[position() <= {HEADLINE_BYLINE_ELEMENTS}]"):
        if element.tag in ("script", "style", "noscript", "template"):
            continue
        text = " ".join(element.text_content().split())
        if len(text) <= BYLINE_MAX_CHARS and BY_LABEL.match(text):
            return [text]
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


def clean_authors(names: Iterable[str], site_names: set[str] = frozenset()) -> list[str]:
    """People's names from raw author values: split lists, drop "By", URLs, organisations, repeats.

    Args:
        names: raw values ("By Jane Doe and John Roe", "Jane Doe | Reuters", ...).
        site_names: normalised names of the site; a "person" called like the site is not one.

    Returns:
        Unique names in order.
    """
    return [name for name, kind in author_credits(names, site_names) if kind == PERSON]


def author_credits(
    names: Iterable[str], site_names: set[str] = frozenset(), *, declared: bool = False,
    people: frozenset[str] = frozenset(),
) -> list[tuple[str, str]]:
    """People and credited organisations from raw author values, each with its kind.

    Lists are split, "By", places, URLs, handles and repeats dropped; a wire service
    ("Associated Press", "AFP") or a desk ("Gear Team") is kept as an organisation; an
    all-capitals name of more than three letters is title-cased ("TOM KRISHER"), other
    names keep the page's casing.

    Args:
        names: raw values ("By Jane Doe and John Roe", "Jane Doe | Reuters", ...).
        site_names: normalised names of the site; a "person" called like the site is not one.
        declared: the values are declared as the author (JSON-LD, meta tags), so the site
            named as author is kept, as an organisation, and a one-word name as a person.
        people: case-folded names that structured data types as a ``Person``: kept as
            people in the page's spelling even when lower-case or one word ("jdoe").

    Returns:
        Unique (name, kind) pairs in order, kind ``person`` or ``organisation``.
    """
    credits: list[tuple[str, str]] = []
    seen: set[str] = set()
    for raw in names:
        text = " ".join(MARKUP.sub(" ", html.unescape(raw or "")).split())
        if text.lower().startswith(("http://", "https://", "www.")):
            continue
        text = AUTHOR_PREFIX.sub("", text)
        pieces = AUTHOR_SPLIT.split(text)  # names at even indexes, separators between
        last: int | None = None  # where this value's previous name is in ``credits``
        for idx in range(0, len(pieces), 2):
            part = pieces[idx].strip()
            if last is not None and pieces[idx - 1] == "," and _is_credential(part):
                name, kind = credits[last]
                credits[last] = (f"{name}, {part}", kind)
                continue
            last = None
            name = _clean_name(part)
            if name and name.isupper() and len(name) > 3:
                name = name.title()  # wire style "TOM KRISHER" reads as "Tom Krisher"
            kind = author_kind(name, site_names, declared=declared) if name else None
            if name and not kind and name.casefold() in people \
                    and _plausible_person(name, site_names):
                kind = PERSON
            if name and kind and name.casefold() not in seen:
                seen.add(name.casefold())
                credits.append((name, kind))
                last = len(credits) - 1
    return credits


def _plausible_person(name: str, site_names: set[str]) -> bool:
    """A name structured data types as a Person: not the site, a URL, widget text or a
    sentence."""
    key = name_key(name)
    if key in site_names or any(len(site) >= 4 and site in key for site in site_names):
        return False
    words = name.lower().split()
    tokens = set(re.split(r"[\W_]+", name.lower()))
    return (not NON_NAME.search(name.replace("_", "")) and len(words) <= MAX_NAME_WORDS
            and len(name) <= MAX_NAME_CHARS and not tokens & (WIDGET_WORDS | SITE_ACCOUNTS))


def _is_credential(part: str) -> bool:
    """Tell whether a comma-separated part is a post-nominal credential ("MD", "Ph.D.")."""
    return bool(CREDENTIAL.fullmatch(part)) and part.lower() not in WIRE_SERVICES


def author_kind(
    name: str, site_names: set[str] = frozenset(), *, declared: bool = False
) -> str | None:
    """``person``, ``organisation`` (a wire service, a desk) or None (not an author).

    With ``declared`` (the page's structured data names it as the author), the site's
    own name is an organisation and a single capitalised word ("Susan") a person.
    """
    key = " ".join(name.lower().split())
    if key in WIRE_SERVICES:
        return ORGANISATION
    words = key.split()
    if 2 <= len(words) <= MAX_DESK_WORDS and words[-1] in DESK_WORDS \
            and not NON_NAME.search(name):
        return ORGANISATION
    if _is_person(name, site_names):
        return PERSON
    if not declared or NON_NAME.search(name) or len(words) > MAX_NAME_WORDS or any(
            word in ORG_NAME_WORDS - DECLARED_ORG_WORDS or word in WIDGET_WORDS
            for word in words):
        return None
    if name_key(name) in site_names:
        return ORGANISATION
    if len(words) == 1 and name[0].isupper() and name.isalpha() and len(name) >= 3:
        return PERSON
    return None


def _clean_name(part: str) -> str | None:
    """One name with a "By" prefix, a trailing place ("in Geneva") and stray marks removed."""
    name = AUTHOR_PREFIX.sub("", part.strip(" .,:;-–—()[]\"'…"))
    name = AUTHOR_TAIL.sub("", name)
    name = AUTHOR_PLACE.sub("", name).strip(" .,:;-–—")
    words = name.split()
    # An avatar's initials before the name ("CM Craig McCarthy").
    if len(words) >= 3 and words[0].isupper() and words[0] == "".join(w[0] for w in words[1:]):
        words = words[1:]
    # A job title or the date after the name ("Jane Doe Former Editor", "Jane Doe December").
    cut = next((idx for idx in range(2, len(words))
                if words[idx].lower().strip(".,") in ROLE_WORDS | MONTH_WORDS), len(words))
    return " ".join(words[:cut]) or None


def _is_person(name: str, site_names: set[str]) -> bool:
    """Tell whether a name reads like a person's, not a site, desk or organisation."""
    words = name.split()
    if not 1 <= len(words) <= MAX_NAME_WORDS or len(name) > MAX_NAME_CHARS:
        return False
    if NON_NAME.search(name):
        return False
    parts = [part.lower().strip(".'’") for word in words for part in word.split("-")]
    if any(part in ORG_NAME_WORDS or part in WIDGET_WORDS for part in parts):
        return False
    if all(part in ROLE_WORDS for part in parts):
        return False  # a job title alone ("Lead Reviewer")
    if not any(len(word.strip(".")) >= 2 for word in words):
        return False
    key = name_key(name)
    if key in site_names or any(len(site) >= 4 and site in key for site in site_names):
        return False
    latin = all(re.fullmatch(r"[A-Za-zÀ-ÿĀ-ž'’.\-]+", word) for word in words)
    # One-word Latin "names" are user handles ("admin", "jdoe"); other scripts may write
    # full names without spaces.
    if latin and len(words) < 2:
        return False
    # Latin-script names are capitalised but for particles ("Ann van der Berg").
    return not latin or (words[-1][0].isupper() and all(
        word[0].isupper() or word.lower() in NAME_PARTICLES for word in words))
