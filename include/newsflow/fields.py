"""Field extraction: from a CleanDocument (plus discovery hints) to the article's stored fields."""

import logging
import re
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

from newsflow.cleaning import CleanDocument, clean_document, detect_format
from newsflow.fetching import canonicalize_url

LOGGER = logging.getLogger(__name__)

# The keys of one article, in the order the CLI prints them (the CLI contract).
ARTICLE_KEYS = (
    "input", "url", "title", "subtitle", "authors", "published_at", "site_name", "source",
    "language", "dateline", "headings", "body", "word_count", "entities", "quotes",
    "numbers", "dates",
)

WORD = re.compile(r"\w+")


def build_fields(
    document: CleanDocument,
    *,
    input_: str,
    url: str | None = None,
    page_key: str | None = None,
    hints: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Decide an article's fields from its cleaned page and what discovery knew.

    Args:
        document: the cleaned page.
        input_: the URL or file path the article came from.
        url: the URL the page was fetched from (after redirects), if any.
        page_key: the stored page's key, the article key of last resort.
        hints: discovery's hints (feed title, date, author).

    Returns:
        The ``ARTICLE_KEYS`` fields plus ``article_key`` and ``canonical_url``.
    """
    hints = hints or {}
    canonical_url = _canonical(document.canonical_url or url)
    body = "\n\n".join(document.paragraphs)
    authors = document.authors or list(hints.get("authors") or [])
    fields: dict[str, Any] = {
        "input": input_,
        "url": url or document.canonical_url,
        "title": document.title or hints.get("title"),
        "subtitle": document.subtitle,
        "authors": _dedupe(authors),
        "published_at": _best_date(
            normalise_date(document.published), normalise_date(hints.get("published"))
        ),
        "site_name": document.site_name,
        "source": document.source,
        "language": document.language,
        "dateline": document.dateline,
        "headings": document.headings,
        "body": body,
        "word_count": len(WORD.findall(body)),
        "entities": [],
        "quotes": [],
        "numbers": [],
        "dates": [],
    }
    fields["canonical_url"] = canonical_url
    fields["article_key"] = canonical_url or page_key or input_
    return fields


def extract_article(
    content: bytes, *, input_: str, url: str | None = None, fmt: str = "auto",
    content_type: str | None = None,
) -> dict[str, Any]:
    """Clean and extract one raw page in a single call (what ``newsflow extract`` runs).

    Args:
        content: raw page bytes.
        input_: where they came from, echoed in the result.
        url: the page's URL when known.
        fmt: ``auto``, ``html`` or ``text``.
        content_type: a media type to guide ``auto``.

    Returns:
        The article fields (see ``build_fields``).
    """
    if fmt == "auto":
        fmt = detect_format(content_type, content)
    document = clean_document(content, fmt, url)
    return build_fields(document, input_=input_, url=url)


def normalise_date(value: str | None) -> str | None:
    """An ISO 8601 date or date-time from ISO or RFC 822 text; None if it is neither."""
    if not value:
        return None
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            LOGGER.debug("unparseable date %r", value)
            return None
    if len(text) == 10 and parsed.hour == parsed.minute == 0:
        return parsed.date().isoformat()
    return parsed.isoformat()


def _best_date(page_date: str | None, hint_date: str | None) -> str | None:
    """The page's date, or the feed's when it is the same day with a time of day added."""
    if page_date and hint_date and len(page_date) == 10 and hint_date.startswith(page_date):
        return hint_date
    return page_date or hint_date


def _canonical(url: str | None) -> str | None:
    """The canonical form of an http(s) URL, else None."""
    if not url or not url.lower().startswith(("http://", "https://")):
        return None
    return canonicalize_url(url)


def _dedupe(names: list[str]) -> list[str]:
    """Names in order, without repeats (case-insensitive)."""
    seen: set[str] = set()
    unique = []
    for name in names:
        if name.lower() not in seen:
            seen.add(name.lower())
            unique.append(name)
    return unique
