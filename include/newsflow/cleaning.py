"""Cleaning: turn a raw page (HTML or plain text) into a CleanDocument of text and raw metadata.

HTML goes through trafilatura; plain text through ``textparse``. The result is plain
data (JSON-serialisable) so it can be staged in PostgreSQL between tasks.
"""

import codecs
import contextlib
import logging
from dataclasses import asdict, dataclass, field
from typing import Any

import trafilatura
from charset_normalizer import from_bytes
from lxml import html as lxml_html

from newsflow.textparse import parse_text_article

LOGGER = logging.getLogger(__name__)

# Trafilatura settings chosen for news: precision over recall, no comment sections.
EXTRACTION_OPTIONS: dict[str, Any] = {
    "favor_precision": True,
    "include_comments": False,
    "include_tables": True,
    "with_metadata": True,
}

# Block elements of trafilatura's output tree that carry body text.
BODY_TAGS = ("p", "list", "quote", "table", "code")


class CleaningError(Exception):
    """A page holds no article we can extract; the message is the reject reason."""


@dataclass
class CleanDocument:
    """The text of one page and the metadata found alongside it, not yet normalised."""

    format: str  # "html" or "text"
    paragraphs: list[str]
    headings: list[str] = field(default_factory=list)
    title: str | None = None
    subtitle: str | None = None
    authors: list[str] = field(default_factory=list)
    published: str | None = None
    site_name: str | None = None
    source: str | None = None
    language: str | None = None
    dateline: str | None = None
    canonical_url: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain data for staging."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "CleanDocument":
        """Rebuild from staged plain data."""
        return cls(**data)


def detect_format(content_type: str | None, content: bytes) -> str:
    """``text`` for plain-text articles, ``html`` otherwise; sniffs when the type is unknown."""
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type == "text/plain":
        return "text"
    if media_type in ("text/html", "application/xhtml+xml"):
        return "html"
    head = content[:2048].removeprefix(codecs.BOM_UTF8).lstrip().lower()
    return "html" if head.startswith((b"<!doctype html", b"<html", b"<?xml")) else "text"


def decode_text(content: bytes) -> str:
    """Decode plain text: UTF-8 (with or without BOM), then cp1252 if plausible, then detection.

    Detection alone often picks another single-byte code page for short Western text,
    turning curly quotes and accents into mojibake; cp1252 is what such files usually are.
    """
    # PostgreSQL text and jsonb cannot hold NUL; stray NULs in saved files carry no meaning.
    return _decode_bytes(content).replace("\x00", "")


def _decode_bytes(content: bytes) -> str:
    """Decode with the first charset that fits, as ``decode_text`` describes."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    matches = from_bytes(content)
    if any("cp1252" in match.could_be_from_charset for match in matches):
        with contextlib.suppress(UnicodeDecodeError):
            return content.decode("cp1252")
    best = matches.best()
    if best is None:
        raise CleaningError("undecodable text: no charset fits")
    return str(best)


def clean_document(content: bytes, fmt: str, url: str | None = None) -> CleanDocument:
    """Clean one raw page.

    Args:
        content: the page as fetched or read.
        fmt: ``html`` or ``text`` (see ``detect_format``).
        url: the page's URL when known; helps trafilatura's metadata.

    Returns:
        The cleaned document.

    Raises:
        CleaningError: nothing article-like could be extracted.
    """
    document = clean_text(decode_text(content)) if fmt == "text" else clean_html(content, url)
    if not document.paragraphs:
        raise CleaningError("no article text found")
    return document


def clean_text(text: str) -> CleanDocument:
    """A plain-text article, split into its parts by ``textparse``."""
    article = parse_text_article(text)
    return CleanDocument(
        format="text",
        paragraphs=list(article.paragraphs),
        headings=list(article.headings),
        title=article.title,
        subtitle=article.subtitle,
        authors=list(article.authors),
        source=article.source,
        dateline=article.dateline,
    )


def clean_html(content: bytes | str, url: str | None = None) -> CleanDocument:
    """An HTML page through trafilatura, with the page's canonical link and language."""
    tree = trafilatura.load_html(content)
    if tree is None:
        raise CleaningError("unparseable HTML")
    canonical = _canonical_link(tree)
    language = _html_language(tree)
    extracted = trafilatura.bare_extraction(tree, url=url, **EXTRACTION_OPTIONS)
    if extracted is None or extracted.body is None:
        raise CleaningError("trafilatura found no main text")
    paragraphs, headings = _body_blocks(extracted.body)
    authors = [a.strip() for a in (extracted.author or "").split(";") if a.strip()]
    return CleanDocument(
        format="html",
        paragraphs=paragraphs,
        headings=headings,
        title=extracted.title,
        subtitle=extracted.description,
        authors=authors,
        published=extracted.date,
        site_name=extracted.sitename,
        language=language,
        canonical_url=canonical or extracted.url,
    )


def _body_blocks(body: Any) -> tuple[list[str], list[str]]:
    """Paragraph texts and heading texts of trafilatura's body tree, in document order."""
    paragraphs: list[str] = []
    headings: list[str] = []
    for element in body:
        text = " ".join("".join(element.itertext()).split())
        if not text:
            continue
        if element.tag == "head":
            headings.append(text)
        elif element.tag in BODY_TAGS:
            paragraphs.append(text)
    return paragraphs, headings


def _canonical_link(tree: lxml_html.HtmlElement) -> str | None:
    """The absolute href of ``<link rel=canonical>``, if any."""
    for href in tree.xpath('//head/link[@rel="canonical"]/@href'):
        if href.strip().lower().startswith(("http://", "https://")):
            return href.strip()
    return None


def _html_language(tree: lxml_html.HtmlElement) -> str | None:
    """The ISO 639-1 code from ``<html lang>``, if declared."""
    for lang in tree.xpath("/html/@lang"):
        code = lang.strip().lower().replace("_", "-").split("-")[0]
        if len(code) == 2 and code.isalpha():
            return code
    return None
