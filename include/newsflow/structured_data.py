"""Structured data of an HTML page: JSON-LD nodes, meta tags, the canonical link and the
declared language, read as the metadata cascade (``newsflow.metadata``) needs them.

Pure functions over an lxml tree; no network.
"""

import html
import json
import logging
import re
from collections.abc import Iterable, Iterator
from typing import Any

from lxml import html as lxml_html

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


def node_types(node: dict[str, Any]) -> set[str]:
    """The node's ``@type`` values, lower-cased."""
    value = node.get("@type")
    values = value if isinstance(value, list) else [value]
    return {v.lower() for v in values if isinstance(v, str)}


def article_node(nodes: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The node describing the article: an Article-family type, the one with most to say."""
    articles = [node for node in nodes if node_types(node) & ARTICLE_TYPES]
    if not articles:
        return None
    return max(articles, key=lambda n: (bool(n.get("headline")), bool(n.get("author")),
                                        bool(n.get("datePublished")), len(n)))


def ld_publisher(article: dict[str, Any] | None, by_id: dict[str, Any]) -> str | None:
    """The name of the article's publisher."""
    if not article:
        return None
    publisher = resolve_reference(article.get("publisher"), by_id)
    if isinstance(publisher, list):
        publisher = publisher[0] if publisher else None
    if isinstance(publisher, dict):
        return ld_text(publisher.get("name"))
    return ld_text(publisher)


def resolve_reference(value: Any, by_id: dict[str, Any]) -> Any:
    """A ``{"@id": ...}`` reference replaced by the node it names, when the page has it."""
    if isinstance(value, list):
        return [resolve_reference(item, by_id) for item in value]
    if isinstance(value, dict) and set(value) <= {"@id", "@type"} and value.get("@id") in by_id:
        return by_id[value["@id"]]
    return value


def ld_text(value: Any) -> str | None:
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


def first_value(values: Iterable[str | None]) -> str | None:
    """The first non-empty value."""
    return next((v for v in values if v), None)


def canonical_link(tree: lxml_html.HtmlElement) -> str | None:
    """The absolute href of ``<link rel=canonical>``, if any."""
    for href in tree.xpath('//head/link[@rel="canonical"]/@href'):
        if href.strip().lower().startswith(("http://", "https://")):
            return href.strip()
    return None


def declared_language(tree: lxml_html.HtmlElement, article: dict[str, Any] | None) -> str | None:
    """The ISO 639-1 code the page declares (``<html lang>``, then JSON-LD ``inLanguage``)."""
    declared = [*tree.xpath("/html/@lang"), *tree.xpath("/html/@xml:lang")]
    if article:
        declared.append(ld_text(article.get("inLanguage")) or "")
    for lang in declared:
        code = lang.strip().lower().replace("_", "-").split("-")[0]
        if len(code) == 2 and code.isalpha():
            return code
    return None
