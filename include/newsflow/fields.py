"""Field extraction: from a CleanDocument (plus discovery hints) to the article's stored fields."""

import logging
import re
from typing import Any

from newsflow.cleaning import CleanDocument, clean_document, detect_format
from newsflow.fetching import canonicalize_url
from newsflow.language import article_language
from newsflow.publication_dates import normalise_date

__all__ = ["ARTICLE_KEYS", "build_fields", "extract_article", "normalise_date", "reject_reason"]

LOGGER = logging.getLogger(__name__)

# The keys of one article, in the order the CLI prints them (the CLI contract).
# The *_source keys name the evidence each value came from (see cleaning.CleanDocument).
ARTICLE_KEYS = (
    "input", "url", "title", "title_source", "subtitle", "authors", "author_kinds",
    "authors_source", "published_at", "published_source", "modified_at", "site_name", "source",
    "language", "page_type", "language_source", "dateline", "headings", "body", "word_count",
    "entities", "quotes", "numbers", "dates",
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
        The ``ARTICLE_KEYS`` fields plus ``article_key``, ``canonical_url`` and
        ``captions`` (media captions, for enrichment) and ``standfirst`` (the subtitle when the
        page showed it above the body, which leaves it out; else None).
    """
    hints = hints or {}
    canonical_url = _canonical(document.canonical_url or url)
    body = "\n\n".join(document.paragraphs)
    title, title_source = document.title, document.title_source
    if not title and hints.get("title"):
        title, title_source = hints["title"], "feed"
    authors, kinds = _dedupe(document.authors, document.author_kinds)
    authors_source = document.authors_source
    if not authors and hints.get("authors"):
        authors, kinds = _dedupe(list(hints["authors"]), [])
        authors_source = "feed"
    published_at, published_source = _best_date(
        (normalise_date(document.published), document.published_source),
        (normalise_date(hints.get("published")), "feed"),
    )
    language, language_source = article_language(body, document.language)
    fields: dict[str, Any] = {
        "input": input_,
        "url": url or document.canonical_url,
        "title": title,
        "title_source": title_source if title else None,
        "subtitle": document.subtitle,
        "authors": authors,
        "author_kinds": kinds,
        "authors_source": authors_source if authors else None,
        "published_at": published_at,
        "published_source": published_source,
        "modified_at": normalise_date(document.modified),
        "site_name": document.site_name,
        "source": document.source,
        "language": language,
        "page_type": document.page_type,
        "language_source": language_source,
        "dateline": document.dateline,
        "headings": document.headings,
        "body": body,
        "word_count": len(WORD.findall(body)),
        "entities": [],
        "quotes": [],
        "numbers": [],
        "dates": [],
    }
    # Not printed or stored as a column, but read by enrichment (people named in captions).
    fields["captions"] = list(document.captions)
    # Nor this: the standfirst the page shows above the body, which the body leaves out
    # (the subtitle holds it); the article's full text is this plus the body.
    fields["standfirst"] = document.subtitle if document.standfirst else None
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


def reject_reason(fields: dict[str, Any], accept: str = "article") -> str | None:
    """Why the extract stage does not load these fields as an article, or None.

    Args:
        fields: the article fields (``build_fields``).
        accept: the source's ``accept`` option: ``article`` (the default) loads articles
            only; ``any`` loads every page whatever its type.

    Returns:
        ``not an article (<page_type>)`` for another page type, else None.
    """
    page_type = fields.get("page_type")
    if accept == "any" or page_type in (None, "article"):
        return None
    return f"not an article ({page_type})"


def _best_date(
    page: tuple[str | None, str | None], hint: tuple[str | None, str | None]
) -> tuple[str | None, str | None]:
    """The page's date, or the feed's when it is the same day with a time of day added.

    Args:
        page: the page's normalised date and its source.
        hint: the feed's normalised date and its source.

    Returns:
        The date and the source it came from, (None, None) when neither has one.
    """
    page_date, hint_date = page[0], hint[0]
    if page_date and hint_date and len(page_date) == 10 and hint_date.startswith(page_date):
        return hint
    if page_date:
        return page
    return hint if hint_date else (None, None)


def _canonical(url: str | None) -> str | None:
    """The canonical form of an http(s) URL, else None."""
    if not url or not url.lower().startswith(("http://", "https://")):
        return None
    return canonicalize_url(url)


def _dedupe(names: list[str], kinds: list[str]) -> tuple[list[str], list[str]]:
    """Names in order without repeats (case-insensitive), and each one's kind.

    A name without a known kind (plain text bylines, feeds, documents staged before
    kinds existed) is a person's.
    """
    seen: set[str] = set()
    unique: list[str] = []
    unique_kinds: list[str] = []
    for idx, name in enumerate(names):
        if name.lower() not in seen:
            seen.add(name.lower())
            unique.append(name)
            unique_kinds.append(kinds[idx] if idx < len(kinds) else "person")
    return unique, unique_kinds
