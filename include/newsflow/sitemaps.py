"""Sitemaps: XML sitemaps, sitemap indexes, Google News sitemaps and plain-text sitemaps.

Parsing is safe by construction: lxml with entity resolution, DTD loading and network
access off and the huge-tree limits on, so billion-laughs and XXE documents yield nothing
but their literal text. Namespaces are matched by local name, as real sitemaps get them
wrong often enough.
"""

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from lxml import etree

from newsflow.safetext import scrub
from newsflow.weburls import http_url, join_url

LOGGER = logging.getLogger(__name__)

# The protocol's limit (sitemaps.org): a sitemap or an index lists at most 50,000 URLs.
# Past it the rest are not read: one reject names how many were left.
MAX_ENTRIES = 50_000


class SitemapError(ValueError):
    """The document is not a sitemap we can read."""


@dataclass(frozen=True)
class SitemapEntry:
    """One ``<url>`` of a sitemap, with its dates and Google News fields."""

    loc: str
    lastmod: datetime | None = None
    news_published: datetime | None = None
    news_title: str | None = None
    news_publication: str | None = None
    news_language: str | None = None

    @property
    def dated(self) -> datetime | None:
        """The date that places the entry in an interval: publication, else lastmod."""
        return self.news_published or self.lastmod


@dataclass(frozen=True)
class Sitemap:
    """A parsed sitemap: an index of child sitemaps, or a set of page entries."""

    is_index: bool
    children: list[SitemapEntry] = field(default_factory=list)
    entries: list[SitemapEntry] = field(default_factory=list)
    # (input, reason) of <url>/<sitemap> elements without a usable http(s) <loc>.
    invalid: list[tuple[str, str]] = field(default_factory=list)


def _parser() -> etree.XMLParser:
    """An XML parser that expands no entities, loads no DTD and reads no network."""
    return etree.XMLParser(
        resolve_entities=False, load_dtd=False, no_network=True, huge_tree=False,
        dtd_validation=False, remove_comments=True, remove_pis=True, recover=True,
    )


def parse_sitemap(content: bytes, base_url: str) -> Sitemap:
    """Parse a sitemap document (already gunzipped).

    Args:
        content: the XML (or plain-text, one URL per line) sitemap.
        base_url: where it was fetched from; relative locations resolve against it.

    Returns:
        The index's children or the urlset's entries, in document order; elements
        without a usable http(s) ``<loc>`` are in ``invalid`` with the reason, named by
        their ``<loc>`` or, without one, ``<base_url>#url-<n>``.

    Raises:
        SitemapError: neither a urlset, a sitemap index, nor a text sitemap.
    """
    stripped = content.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped.startswith(b"<"):
        return _parse_text(stripped, base_url)
    try:
        root = etree.fromstring(stripped, _parser())
    except etree.XMLSyntaxError as error:
        raise SitemapError(f"not a sitemap: {error}") from error
    if root is None:
        raise SitemapError("not a sitemap: no XML root element")
    name = etree.QName(root).localname
    if name == "sitemapindex":
        children, invalid = _entries(root, "sitemap", base_url)
        return Sitemap(True, children=children, invalid=invalid)
    if name == "urlset":
        entries, invalid = _entries(root, "url", base_url)
        return Sitemap(False, entries=entries, invalid=invalid)
    raise SitemapError(f"not a sitemap: root element <{name}>")


def _parse_text(content: bytes, base_url: str) -> Sitemap:
    """A text sitemap: one absolute URL per line (sitemaps.org allows it)."""
    lines = content.decode("utf-8", errors="replace").splitlines()
    urls = [line.strip() for line in lines if line.strip()]
    if not urls or not all(http_url(u) for u in urls):
        raise SitemapError("not a sitemap: neither XML nor a list of URLs")
    invalid = _over_limit(base_url, "url", len(urls))
    return Sitemap(False, entries=[SitemapEntry(u) for u in urls[:MAX_ENTRIES]], invalid=invalid)


def _over_limit(base_url: str, tag: str, count: int) -> list[tuple[str, str]]:
    """The reject for the entries of a sitemap past ``MAX_ENTRIES``, if any."""
    if count <= MAX_ENTRIES:
        return []
    return [(f"{base_url}#{tag}-over-{MAX_ENTRIES}",
             f"sitemap lists {count} <{tag}> entries; the {count - MAX_ENTRIES} past the"
             f" protocol's {MAX_ENTRIES} were not read")]


def _entries(
    root: etree._Element, tag: str, base_url: str
) -> tuple[list[SitemapEntry], list[tuple[str, str]]]:
    """The ``<url>`` or ``<sitemap>`` children of the root, as entries, and the unusable."""
    found: list[SitemapEntry] = []
    invalid: list[tuple[str, str]] = []
    number = 0
    for element in root:
        if not isinstance(element.tag, str) or etree.QName(element).localname != tag:
            continue
        number += 1
        if number > MAX_ENTRIES:
            continue  # counted only: a document this long is cut at the protocol's limit
        values = scrub(_child_texts(element))
        loc = values.get("loc")
        url = http_url(loc, base_url) if loc else None
        if url is None:
            named = (join_url(base_url, loc) if loc else None) or f"{base_url}#{tag}-{number}"
            invalid.append((named, f"sitemap <{tag}> {number} has no http(s) <loc>"))
            continue
        found.append(SitemapEntry(
            loc=url,
            lastmod=parse_w3c_date(values.get("lastmod")),
            news_published=parse_w3c_date(values.get("publication_date")),
            news_title=values.get("title"),
            news_publication=values.get("name"),
            news_language=values.get("language"),
        ))
    return found, invalid + _over_limit(base_url, tag, number)


def _child_texts(element: etree._Element) -> dict[str, str]:
    """Text of every descendant by local name (first wins): loc, lastmod, news:title, ..."""
    texts: dict[str, str] = {}
    for child in element.iterdescendants():
        if isinstance(child.tag, str) and child.text and child.text.strip():
            texts.setdefault(etree.QName(child).localname, child.text.strip())
    return texts


def parse_w3c_date(value: str | None) -> datetime | None:
    """A W3C datetime (YYYY, YYYY-MM, YYYY-MM-DD or full ISO 8601) as an aware UTC datetime.

    Naive times are taken as UTC; unreadable values give None.
    """
    if not value:
        return None
    text = value.strip()
    for pattern, length in (("%Y", 4), ("%Y-%m", 7)):
        if len(text) == length:
            try:
                return datetime.strptime(text, pattern).replace(tzinfo=UTC)
            except ValueError:
                return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        try:  # an offset that moves the time out of datetime's range (year 1 or 9999)
            parsed.astimezone(UTC)
        except OverflowError:
            return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
