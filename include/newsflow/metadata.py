"""Article metadata from an HTML page: title, authors, dates and site name, with provenance.

Each field is decided from the best evidence on the page and records which source won:

- title: the page's only ``<h1>`` when it has one of four words or more; else a vote
  among JSON-LD ``headline``, ``og:title``, ``twitter:title``, the visible ``<h1>`` and
  ``<title>``, each with site-name prefixes and suffixes stripped; the reading most
  sources agree on wins (a truncated copy supports the full one);
- authors: JSON-LD ``author`` (people only) -> author meta tags (not URLs) -> trafilatura's
  author XPaths -> elements marked as author or byline; organisations posing as people are
  dropped (``cleaning`` puts a byline line at the top of the body after the meta tags);
- published: JSON-LD ``datePublished`` -> ``article:published_time`` and other meta
  -> ``<time>`` markup -> htmldate (original date); ``modified`` is kept apart.

Pure functions over an lxml tree; no network, no per-site rules.
"""

import html
import itertools
import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from htmldate import find_date
from lxml import html as lxml_html
from trafilatura.metadata import extract_author as trafilatura_author
from trafilatura.metadata import extract_title as trafilatura_title

from newsflow.pagetype import collect_types
from newsflow.textparse import BYLINE_ORG_WORDS, NAME_PARTICLES, parse_byline

LOGGER = logging.getLogger(__name__)

# schema.org types whose node describes the article itself.
ARTICLE_TYPES = frozenset(
    {"article", "newsarticle", "reportagenewsarticle", "analysisnewsarticle",
     "opinionnewsarticle", "reviewnewsarticle", "backgroundnewsarticle", "askpublicnewsarticle",
     "blogposting", "socialmediaposting", "liveblogposting", "techarticle", "scholarlyarticle",
     "report", "medicalwebpage", "posting"}
)

# Meta tags (property, name or itemprop, lower-cased) per field, best first.
TITLE_META = ("og:title", "twitter:title")
AUTHOR_META = (
    "author", "article:author", "article:author_name", "dc.creator", "dcterms.creator",
    "parsely-author", "sailthru.author", "byl", "cxenseparse:author", "mrf:authors",
    "citation_author",
)
PUBLISHED_META = (
    "article:published_time", "og:article:published_time", "og:published_time",
    "datepublished", "article.published", "published_time", "publishdate", "publish-date",
    "pubdate", "pub_date", "parsely-pub-date", "sailthru.date", "cxenseparse:publishtime",
    "dc.date.issued", "dcterms.issued", "dc.date", "dcterms.date", "citation_publication_date",
    "date",
)
MODIFIED_META = (
    "article:modified_time", "og:article:modified_time", "og:updated_time", "datemodified",
    "last_updated_date", "dc.date.modified", "dcterms.modified",
)
SITE_META = ("og:site_name", "application-name", "apple-mobile-web-app-title", "publisher",
             "dc.publisher")
DESCRIPTION_META = ("og:description", "description", "twitter:description")

# Separators between a headline and the site or section name in <title> and og:title.
TITLE_SEPARATOR = re.compile(r"\s+(?:[|•·»:/~]|::|[-–—])\s+")
# Titles and names compare equal across quote styles, case and spacing.
QUOTES = str.maketrans({"‘": "'", "’": "'", "‚": "'", "“": '"', "”": '"', "„": '"',
                        "«": '"', "»": '"', "\u00a0": " "})
# A UTF-8 sequence for a quote, dash or symbol read byte by byte as Latin-1/Windows-1252.
MOJIBAKE = re.compile("[\u00c2-\u00c3\u00e2][\u0080-\u00bf\u0152-\u2122]")
ELLIPSIS = re.compile(r"(?:\.\.\.|…)\s*$")
MIN_PREFIX_SHARE = 0.6
# A headline found between separators inside a longer title; shorter ones are too generic.
MIN_SEGMENT_CHARS = 20
SEGMENT_MARK = r"(?:\s+[|•·»/~:–—-]\s+|:\s+)"
SEGMENT_START = re.compile(rf"^{SEGMENT_MARK}")
TITLE_WEIGHTS = {"h1": 2}
# A page's only <h1> is its title when it has at least this many words (shorter ones are
# section names or the site's name).
SOLE_H1_MIN_WORDS = 4
SOLE_H1_MIN_SHARED = 0.3  # share of its words found in another title candidate
WORD = re.compile(r"\w+")
TITLE_TIE_ORDER = ("json-ld", "og:title", "h1", "twitter:title", "title")
SITE_SEGMENT_MAX_WORDS = 5
PIPE = re.compile(r"\s+\|\s+")
PIPE_HEADLINE_MIN_WORDS = 3
INNER_HEADLINE_MIN_WORDS = 4
HEADLINE_FURNITURE = re.compile(
    r"\b(?:posted|published|updated)\b|\(\w[\w.-]*\.[a-z]{2,}\)|^\W*\w+:\s+$")
SITE_AFFIX_MAX_CHARS = 8

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
# JSON-LD nodes describing the page itself, whose datePublished is the article's.
PAGE_NODE_TYPES = frozenset({"webpage", "itempage", "aboutpage", "medicalwebpage"})
# The first <time datetime> in the article's header (the element holding its headline).
HEADER_TIME_XPATH = (
    "(//article//time[@datetime] | //*[h1]//time[@datetime] | //header//time[@datetime])"
    "/@datetime"
)
# Dates as pages print them: "Dec. 4, 2025", "4th December 2025", "2025-12-04".
_MONTH_NAME = (r"(?P<month>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)"
               r"(?:uary|ruary|ch|il|e|y|ust|t|tember|ober|ember)?\.?")
SHOWN_DATE = re.compile(
    rf"\b{_MONTH_NAME}\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<year>(?:19|20)\d\d)\b"
    rf"|\b(?P<day2>\d{{1,2}})(?:st|nd|rd|th)?\.?\s+(?:of\s+)?(?P<month2>jan|feb|mar|apr|may|jun"
    r"|jul|aug|sep|oct|nov|dec)[a-z]*\.?,?\s+(?P<year2>(?:19|20)\d\d)\b"
    r"|\b(?P<year3>(?:19|20)\d\d)-(?P<month3>[01]\d)-(?P<day3>[0-3]\d)\b",
    re.IGNORECASE,
)
MONTH_NUMBERS = {name: idx for idx, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
# The text right after the headline where pages print the article's date (with the byline).
HEADLINE_DATE_CHARS = 400
# A printed date with one of these words just before it is an update, not the publication.
UPDATE_LABEL = re.compile(r"(?:updated?|modified|revised|reviewed|edited)\W{0,3}(?:on\W{0,3})?$",
                          re.IGNORECASE)
UPDATE_LABEL_CHARS = 25
_VISIBLE_TEXT = ("//body//text()[not(ancestor::script or ancestor::style"
                 " or ancestor::noscript or ancestor::template)]")
# Page dates outside these bounds are placeholders ("0001-01-01") or mistakes.
MIN_YEAR = 1990
MAX_FUTURE_DAYS = 2


@dataclass
class Metadata:
    """The decided metadata of one page and the source each field came from."""

    title: str | None = None
    title_source: str | None = None
    authors: list[str] = field(default_factory=list)
    authors_source: str | None = None
    author_kinds: list[str] = field(default_factory=list)  # PERSON or ORGANISATION per author
    published: str | None = None
    published_source: str | None = None
    modified: str | None = None
    site_name: str | None = None
    description: str | None = None
    language: str | None = None
    canonical_url: str | None = None
    title_candidates: list[str] = field(default_factory=list)
    site_keys: set[str] = field(default_factory=set)  # normalised names the site goes by
    schema_types: set[str] = field(default_factory=set)  # JSON-LD and microdata @types
    og_type: str = ""


def extract_metadata(tree: lxml_html.HtmlElement, url: str | None = None) -> Metadata:
    """Decide an HTML page's metadata from its structured data, meta tags and markup.

    Args:
        tree: the parsed page (not modified).
        url: the page's URL when known; its host is site-name evidence.

    Returns:
        The metadata with the winning source of title, authors and publication date.
    """
    nodes = json_ld_nodes(tree)
    article = article_node(nodes)
    by_id = {node["@id"]: node for node in nodes if isinstance(node.get("@id"), str)}
    meta = meta_tags(tree)
    site_name = _first(
        [*meta_values(meta, SITE_META[:1]), _ld_publisher(article, by_id),
         *meta_values(meta, SITE_META[1:])]
    )
    site_names = _site_names(site_name, article, by_id, meta, url or _canonical_link(tree))
    result = Metadata(
        site_name=site_name,
        description=_first([*meta_values(meta, DESCRIPTION_META[:1]),
                            _text(article.get("description")) if article else None,
                            *meta_values(meta, DESCRIPTION_META[1:])]),
        language=_declared_language(tree, article),
        canonical_url=_canonical_link(tree),
        site_keys=site_names,
        schema_types=collect_types(nodes, tree),
        og_type=_first(meta.get("og:type", [])) or "",
    )
    candidates = _title_candidates(tree, article, meta, site_names)
    result.title_candidates = [text for _, text in candidates]
    result.title, result.title_source = choose_title(candidates)
    sole = sole_headline(tree, candidates, site_names)
    if sole and _title_key(sole) != _title_key(result.title or ""):
        result.title, result.title_source = sole, "h1"
    if result.title_source == "h1":
        inner = headline_inside(result.title or "", candidates)
        if inner:
            result.title, result.title_source = inner
    if result.title:
        result.title = headline_before_pipe(result.title)
    credits, result.authors_source = _authors(tree, article, by_id, meta, site_names)
    result.authors = [name for name, _ in credits]
    result.author_kinds = [kind for _, kind in credits]
    result.published, result.published_source = _published(tree, article, meta, url, nodes)
    result.modified = _first_date(
        [_text(article.get("dateModified")) if article else None,
         *meta_values(meta, MODIFIED_META)]
    )
    return result


# JSON-LD


def json_ld_nodes(tree: lxml_html.HtmlElement) -> list[dict[str, Any]]:
    """Every JSON-LD object of the page, with ``@graph`` members and nested lists flattened."""
    nodes: list[dict[str, Any]] = []
    for script in tree.xpath('//script[contains(translate(@type, "LDJSON", "ldjson"),'
                             ' "ld+json")]'):
        text = (script.text or "").strip()
        text = re.sub(r"^\s*(?://)?\s*<!\[CDATA\[|//\s*\]\]>\s*$", "", text)
        if not text:
            continue
        try:
            data = json.loads(text)
        except ValueError:
            try:  # control characters inside strings are common and harmless
                data = json.loads(text, strict=False)
            except ValueError:
                LOGGER.debug("unparseable JSON-LD block skipped")
                continue
        nodes.extend(_flatten(data))
    return nodes


def _flatten(data: Any) -> Iterator[dict[str, Any]]:
    """Objects of a JSON-LD document: lists and ``@graph`` unpacked."""
    if isinstance(data, list):
        for item in data:
            yield from _flatten(item)
    elif isinstance(data, dict):
        if "@graph" in data:
            yield from _flatten(data["@graph"])
        if "@type" in data:
            yield data
            # Some sites nest the article in a WebPage's mainEntity.
            for key in ("mainEntity", "mainEntityOfPage"):
                if isinstance(data.get(key), dict) and "@type" in data[key]:
                    yield from _flatten(data[key])


def _types(node: dict[str, Any]) -> set[str]:
    """The node's ``@type`` values, lower-cased."""
    value = node.get("@type")
    values = value if isinstance(value, list) else [value]
    return {v.lower() for v in values if isinstance(v, str)}


def article_node(nodes: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The node describing the article: an Article-family type, the one with most to say."""
    articles = [node for node in nodes if _types(node) & ARTICLE_TYPES]
    if not articles:
        return None
    return max(articles, key=lambda n: (bool(n.get("headline")), bool(n.get("author")),
                                        bool(n.get("datePublished")), len(n)))


def _ld_publisher(article: dict[str, Any] | None, by_id: dict[str, Any]) -> str | None:
    """The name of the article's publisher."""
    if not article:
        return None
    publisher = _resolve(article.get("publisher"), by_id)
    if isinstance(publisher, list):
        publisher = publisher[0] if publisher else None
    if isinstance(publisher, dict):
        return _text(publisher.get("name"))
    return _text(publisher)


def _resolve(value: Any, by_id: dict[str, Any]) -> Any:
    """A ``{"@id": ...}`` reference replaced by the node it names, when the page has it."""
    if isinstance(value, list):
        return [_resolve(item, by_id) for item in value]
    if isinstance(value, dict) and set(value) <= {"@id", "@type"} and value.get("@id") in by_id:
        return by_id[value["@id"]]
    return value


def _text(value: Any) -> str | None:
    """A JSON-LD or meta string, HTML entities decoded and whitespace collapsed."""
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, str) and v.strip()), None)
    if isinstance(value, dict):
        value = value.get("name") or value.get("@value")
    if not isinstance(value, str):
        return None
    text = " ".join(html.unescape(value).split())
    return text or None


# Meta tags


def meta_tags(tree: lxml_html.HtmlElement) -> dict[str, list[str]]:
    """Meta tag contents by lower-cased property, name or itemprop, in page order."""
    tags: dict[str, list[str]] = {}
    for element in tree.xpath("//meta[@content]"):
        content = " ".join(html.unescape(element.get("content") or "").split())
        if not content:
            continue
        for attribute in ("property", "name", "itemprop"):
            key = (element.get(attribute) or "").strip().lower()
            if key:
                tags.setdefault(key, []).append(content)
    return tags


def meta_values(meta: dict[str, list[str]], keys: Iterable[str]) -> list[str]:
    """The contents of the given meta keys, in key order."""
    return [value for key in keys for value in meta.get(key, [])]


def _first(values: Iterable[str | None]) -> str | None:
    """The first non-empty value."""
    return next((v for v in values if v), None)


def _canonical_link(tree: lxml_html.HtmlElement) -> str | None:
    """The absolute href of ``<link rel=canonical>``, if any."""
    for href in tree.xpath('//head/link[@rel="canonical"]/@href'):
        if href.strip().lower().startswith(("http://", "https://")):
            return href.strip()
    return None


def _declared_language(tree: lxml_html.HtmlElement, article: dict[str, Any] | None) -> str | None:
    """The ISO 639-1 code the page declares (``<html lang>``, then JSON-LD ``inLanguage``)."""
    declared = [*tree.xpath("/html/@lang"), *tree.xpath("/html/@xml:lang")]
    if article:
        declared.append(_text(article.get("inLanguage")) or "")
    for lang in declared:
        code = lang.strip().lower().replace("_", "-").split("-")[0]
        if len(code) == 2 and code.isalpha():
            return code
    return None


# Title


def _site_names(
    site_name: str | None, article: dict[str, Any] | None, by_id: dict[str, Any],
    meta: dict[str, list[str]], url: str | None,
) -> set[str]:
    """Normalised names the site goes by: og:site_name, publisher, app name, host labels."""
    names = {site_name, _ld_publisher(article, by_id), *meta_values(meta, SITE_META)}
    host = urlsplit(url).hostname if url else None
    if host:
        labels = [label for label in host.lower().split(".") if label not in ("www", "m", "amp")]
        names.update(labels[:-1] or labels)
        names.add(".".join(labels))
    return {key for key in (_name_key(n) for n in names if n) if len(key) >= 2}


def _name_key(text: str) -> str:
    """A site or author name reduced to lower-case letters and digits, without a leading "the"."""
    text = re.sub(r"^the\s+", "", text.strip().lower())
    return re.sub(r"[\W_]+", "", text)


def is_site_name(segment: str, site_names: set[str]) -> bool:
    """Tell whether a title segment names the site ("CBC News" for site "CBC")."""
    key = _name_key(segment)
    if not key or len(segment.split()) > SITE_SEGMENT_MAX_WORDS:
        return False
    # Near matches differ by a short affix only ("CBC" / "CBC News", "Mail Online" /
    # "Daily Mail Online"), so a headline that merely starts with the name is kept.
    return any(
        key == name
        or (len(name) >= 3 and abs(len(key) - len(name)) <= SITE_AFFIX_MAX_CHARS
            and (key.startswith(name) or name.startswith(key) or key.endswith(name)
                 or name.endswith(key)))
        for name in site_names
    )


def strip_site_name(title: str, site_names: set[str]) -> str:
    """Remove site-name segments ("| CBC News", "Lesotho Times - ") from a title's ends."""
    parts = TITLE_SEPARATOR.split(title)
    separators = TITLE_SEPARATOR.findall(title)
    if len(parts) < 2:
        return title
    start, end = 0, len(parts)
    while end - start > 1 and is_site_name(parts[end - 1], site_names):
        end -= 1
    while end - start > 1 and is_site_name(parts[start], site_names):
        start += 1
    if (start, end) == (0, len(parts)):
        return title
    pieces = [parts[start]]
    for idx in range(start + 1, end):
        pieces.extend((separators[idx - 1], parts[idx]))
    return "".join(pieces).strip()


def _title_candidates(
    tree: lxml_html.HtmlElement, article: dict[str, Any] | None,
    meta: dict[str, list[str]], site_names: set[str],
) -> list[tuple[str, str]]:
    """(source, title) pairs in order of trust, site names stripped."""
    raw: list[tuple[str, str | None]] = [
        ("og:title", _first(meta.get("og:title", []))),
        ("json-ld", _text(article.get("headline")) if article else None),
        ("twitter:title", _first(meta.get("twitter:title", []))),
        ("h1", _h1(tree)),
        ("title", _text(" ".join(tree.xpath("//head/title//text()")))),
    ]
    if not any(text for _, text in raw):
        raw.append(("trafilatura", trafilatura_title(tree)))
    return [(source, strip_site_name(repair_mojibake(text), site_names))
            for source, text in raw if text]


def repair_mojibake(text: str) -> str:
    """UTF-8 text that was decoded as Latin-1 or Windows-1252 ("Investorâ\x80\x99s"),
    decoded again; other text unchanged."""
    if not MOJIBAKE.search(text):
        return text
    for codec in ("latin-1", "cp1252"):
        try:
            return text.encode(codec).decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
    return text


def sole_headline(
    tree: lxml_html.HtmlElement, candidates: list[tuple[str, str]],
    site_names: set[str] = frozenset(),
) -> str | None:
    """The page's only ``<h1>``, when it reads like a headline (``SOLE_H1_MIN_WORDS``).

    A page with a single ``<h1>`` shows readers that heading as its title; the SEO
    titles (``og:title``, ``<title>``, JSON-LD) are often a rewording of it for search
    engines, so it must share ``SOLE_H1_MIN_SHARED`` of its words with one of them.
    Pages with several ``<h1>`` (logos, cards) or a short one keep the vote.
    """
    if len(tree.xpath("//h1")) != 1:
        return None
    h1 = next((text for source, text in candidates if source == "h1"), None)
    if not h1 or len(h1.split()) < SOLE_H1_MIN_WORDS or is_site_name(h1, site_names):
        return None
    # A rewording shares words with the SEO titles; an <h1> sharing none is the site's
    # tagline, a section name or markup, not the headline.
    words = set(WORD.findall(h1.lower()))
    shared = max((len(words & set(WORD.findall(text.lower()))) for source, text in candidates
                  if source != "h1"), default=0)
    return h1 if shared >= SOLE_H1_MIN_SHARED * len(words) else None


def headline_inside(h1: str, candidates: list[tuple[str, str]]) -> tuple[str, str] | None:
    """Another title candidate that the ``<h1>`` holds with furniture around it ("Blog:",
    a date, "Posted on ... by ...", a source in brackets), and its source; else None."""
    key = _title_key(h1)
    inside = [(text, source) for source, text in candidates if source != "h1"
              and len(text.split()) >= INNER_HEADLINE_MIN_WORDS
              and _title_key(text) != key and _title_key(text) in key
              and _is_furniture(key.replace(_title_key(text), " ", 1))]
    return max(inside, key=lambda item: len(item[0]), default=None)


def _is_furniture(extra: str) -> bool:
    """Tell whether text around a headline in an ``<h1>`` is page furniture: a date, a
    "Posted on" line, a source in brackets ("(latimes.com)") or a leading label ("Blog:")."""
    return bool(SHOWN_DATE.search(extra) or HEADLINE_FURNITURE.search(extra))


def headline_before_pipe(title: str) -> str:
    """The headline of a title with " | " suffixes ("Headline | Opinion | Site"): a pipe
    separates a headline from section, keyword or site names, never parts of a headline.

    A first segment under ``PIPE_HEADLINE_MIN_WORDS`` words (a kicker) keeps the title whole.
    """
    head = PIPE.split(title, maxsplit=1)[0].strip()
    return head if head != title and len(head.split()) >= PIPE_HEADLINE_MIN_WORDS else title


def _h1(tree: lxml_html.HtmlElement) -> str | None:
    """The page's visible headline: the first ``<h1>``, preferring one inside the article."""
    for xpath in ("//article//h1", "//main//h1", "//h1"):
        for element in tree.xpath(xpath):
            text = " ".join(element.text_content().split())
            if text:
                return text
    return None


def _title_key(text: str) -> str:
    """A title normalised for comparison: quotes, case, spacing and a trailing ellipsis."""
    return " ".join(ELLIPSIS.sub("", text.translate(QUOTES)).casefold().split())


def choose_title(candidates: list[tuple[str, str]]) -> tuple[str | None, str | None]:
    """The title most sources agree on, and the source it is credited to.

    Candidates are grouped by their normalised text and each source is one vote, the
    visible ``<h1>`` two (it is what readers see, independent of the SEO tags). Votes
    flow along two relations, transitively: a truncated copy (a long enough prefix not
    followed by a separator) votes for the full title, and a title with extra segments
    ("Kicker: Headline | Section") votes for the headline it contains between separators
    when that headline has at least as many votes of its own. Ties go to the group
    holding JSON-LD's ``headline``, then og:title, ...; within a group, the spelling most
    sources use (quote style, case) is kept, og:title's on a tie.

    Args:
        candidates: (source, title) pairs, most trusted first.

    Returns:
        The title and its source, or (None, None).
    """
    groups: dict[str, list[int]] = {}
    for idx, (_, text) in enumerate(candidates):
        key = _title_key(text)
        if key:
            groups.setdefault(key, []).append(idx)
    if not groups:
        return None, None
    weight = {key: sum(TITLE_WEIGHTS.get(candidates[idx][0], 1) for idx in members)
              for key, members in groups.items()}
    edges = {key: [other for other in groups
                   if other != key and _votes_for(key, other, weight[key], weight[other])]
             for key in groups}

    def reach(key: str) -> set[str]:
        seen, todo = {key}, [key]
        while todo:
            for nxt in edges[todo.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    votes = dict.fromkeys(groups, 0)
    for key in groups:
        for target in reach(key):
            votes[target] += weight[key]

    def rank(key: str) -> int:
        sources = {candidates[idx][0] for idx in groups[key]}
        return min((TITLE_TIE_ORDER.index(s) for s in sources if s in TITLE_TIE_ORDER),
                   default=len(TITLE_TIE_ORDER))

    best = max(groups, key=lambda key: (votes[key], -rank(key)))
    spellings: dict[str, list[int]] = {}
    for idx in groups[best]:
        spellings.setdefault(" ".join(candidates[idx][1].split()), []).append(idx)
    text = max(spellings, key=lambda s: (len(spellings[s]), -min(spellings[s])))
    return text, candidates[min(spellings[text])][0]


def _votes_for(key: str, other: str, key_votes: int, other_votes: int) -> bool:
    """Tell whether title ``key`` supports ``other``.

    It does when it is a truncation of ``other``, or when it is ``other`` with extra
    segments and no better attested than ``other`` (otherwise the extra segment, such as
    a kicker most sources show, is part of the title).
    """
    if other.startswith(key) and len(key) >= MIN_PREFIX_SHARE * len(other):
        return not SEGMENT_START.match(other[len(key) :])
    if len(other) >= MIN_SEGMENT_CHARS and len(key) > len(other) and key_votes <= other_votes:
        return re.search(rf"(?:^|{SEGMENT_MARK}){re.escape(other)}(?:$|{SEGMENT_MARK})",
                         key) is not None
    return False


# Authors


def _authors(
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
    value = _resolve(article.get("author"), by_id)
    entries = value if isinstance(value, list) else [value]
    names: list[str] = []
    for entry in entries:
        entry = _resolve(entry, by_id)
        name = _text(entry.get("name")) if isinstance(entry, dict) else _text(entry)
        if name:
            names.append(name)
    return names


def _ld_people(article: dict[str, Any] | None, by_id: dict[str, Any]) -> frozenset[str]:
    """Case-folded names of the article node's authors typed ``Person``."""
    if not article:
        return frozenset()
    value = _resolve(article.get("author"), by_id)
    names = set()
    for entry in value if isinstance(value, list) else [value]:
        entry = _resolve(entry, by_id)
        if isinstance(entry, dict) and "person" in _types(entry):
            name = _text(entry.get("name"))
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
              if " " in name or name[1:].islower() or _name_key(name) in site_names]
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
    key = _name_key(name)
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
    if _name_key(name) in site_names:
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
    key = _name_key(name)
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


# Dates


def normalise_date(value: str | None) -> str | None:
    """An ISO 8601 date or date-time (time zone kept) from ISO or RFC 822 text; else None."""
    if not value:
        return None
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            LOGGER.debug("unparseable date %r", value)
            return None
    if len(text) == 10 and parsed.hour == parsed.minute == 0:
        return parsed.date().isoformat()
    return parsed.isoformat()


def _first_date(values: Iterable[str | None]) -> str | None:
    """The first value that parses as a plausible publication date."""
    return next((d for d in (normalise_date(v) for v in values) if d and plausible_date(d)),
                None)


def plausible_date(iso: str) -> bool:
    """Tell whether a page date can be real: not a placeholder year, not in the future."""
    parsed = datetime.fromisoformat(iso)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    latest = datetime.now(UTC) + timedelta(days=MAX_FUTURE_DAYS)
    return parsed.year >= MIN_YEAR and parsed <= latest


def _published(
    tree: lxml_html.HtmlElement, article: dict[str, Any] | None,
    meta: dict[str, list[str]], url: str | None, nodes: Iterable[dict[str, Any]] = (),
) -> tuple[str | None, str | None]:
    """The publication date and its source.

    Structured data first: the article node's ``datePublished``, else that of the page
    node (``WebPage``: many sites describe the page, not the article); then date meta
    tags; then ``<time>`` markup marked as the publication date, else the first
    ``<time datetime>`` of the article's header; htmldate last.
    """
    page_nodes = [node for node in nodes if _types(node) & PAGE_NODE_TYPES]
    sources: list[tuple[str, list[str | None]]] = [
        ("json-ld", [_text(article.get(key)) for key in ("datePublished", "dateCreated")]
         if article else []),
        ("json-ld", [_text(node.get("datePublished")) for node in page_nodes]),
        ("meta", meta_values(meta, PUBLISHED_META)),
        ("time", [*tree.xpath('//*[@itemprop="datePublished"]/@datetime'),
                  *tree.xpath("//time[@pubdate]/@datetime")]),
        ("time", tree.xpath(HEADER_TIME_XPATH)[:1]),
    ]
    found: tuple[str | None, str | None] = (None, None)
    for source, values in sources:
        date = _first_date(values)
        if date:
            found = date, source
            break
    else:
        try:
            guess = find_date(tree, url=url, original_date=True, extensive_search=True)
        except Exception as error:  # noqa: BLE001 - htmldate's heuristics may fail on odd markup
            LOGGER.debug("htmldate failed: %s", error)
            guess = None
        date = normalise_date(guess)
        found = (date, "htmldate") if date else (None, None)
    modified = _first_date([_text(article.get("dateModified")) if article else None,
                            *meta_values(meta, MODIFIED_META)])
    shown = headline_date(tree, found[0], modified)
    return (shown, "headline") if shown else found


def headline_date(
    tree: lxml_html.HtmlElement, published: str | None, modified: str | None
) -> str | None:
    """The date printed under the headline, when it must replace the ``published`` found.

    Pages print the article's date next to the byline, right after the headline. That
    printed date wins when the date from the markup is printed nowhere on the page (a
    template's first-publication date, htmldate's guess) and the printed one is not an
    update: not labelled "Updated ...", not the page's declared modification date, and
    not a day next to a published date-time (the same moment in the site's time zone).
    """
    printed = _dates_after_headline(tree)
    if not printed:
        return None
    day, label = printed[0]
    if label or (published and published[:10] == day) or (modified and modified[:10] == day):
        return None
    if published and "T" in published and _days_apart(published, day) <= 1:
        return None  # the same moment printed in the site's time zone
    if published and published[:10] in _shown_days(" ".join(tree.xpath(_VISIBLE_TEXT))):
        return None
    return day if plausible_date(day) else None


def _days_apart(moment: str, day: str) -> int:
    """Whole days between an ISO date-time's day and an ISO day."""
    return abs((datetime.fromisoformat(moment[:10]) - datetime.fromisoformat(day)).days)


def _dates_after_headline(tree: lxml_html.HtmlElement) -> list[tuple[str, bool]]:
    """ISO days printed in the text just after the first ``<h1>``, each with whether it is
    labelled as an update."""
    heading = next((h for h in tree.xpath("//h1") if h.text_content().strip()), None)
    if heading is None:
        return []
    pieces: list[str] = []
    length = 0
    for piece in heading.xpath("following::text()[not(ancestor::script or ancestor::style"
                               " or ancestor::noscript or ancestor::template)]"):
        pieces.append(piece)
        length += len(piece)
        if length >= HEADLINE_DATE_CHARS:
            break
    text = " ".join(" ".join(pieces).split())[:HEADLINE_DATE_CHARS]
    days = []
    for match in SHOWN_DATE.finditer(text):
        day = _match_day(match)
        if day:
            before = text[max(0, match.start() - UPDATE_LABEL_CHARS) : match.start()]
            days.append((day, bool(UPDATE_LABEL.search(before))))
    return days


def _shown_days(text: str) -> set[str]:
    """The ISO days printed in a text."""
    return {day for day in (_match_day(match) for match in SHOWN_DATE.finditer(text)) if day}


def _match_day(match: re.Match[str]) -> str | None:
    """The ISO day of a ``SHOWN_DATE`` match, None for an impossible date."""
    year = match["year"] or match["year2"] or match["year3"]
    day = match["day"] or match["day2"] or match["day3"]
    month_name = (match["month"] or match["month2"] or "").lower()[:3]
    month = MONTH_NUMBERS.get(month_name) or int(match["month3"] or 0)
    try:
        return datetime(int(year), month, int(day)).date().isoformat()
    except ValueError:
        return None
