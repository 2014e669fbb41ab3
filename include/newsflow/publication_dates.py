"""An article's publication date: JSON-LD ``datePublished`` -> date meta tags -> ``<time>``
markup -> htmldate, then the date printed under the headline when the markup's date is
printed nowhere; and the parsing and plausibility of page dates.

Pure functions over an lxml tree; no network, no per-site rules.
"""

import logging
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from htmldate import find_date
from lxml import html as lxml_html
from lxml.etree import XPath

from newsflow.structured_data import MODIFIED_META, PUBLISHED_META, ld_text, meta_values, node_types

LOGGER = logging.getLogger(__name__)

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
_NOT_CODE = "not(ancestor::script or ancestor::style or ancestor::noscript or ancestor::template)"
# Plain strings: the texts are only joined (lxml's default "smart" strings each make an
# element object of their parent, half the cost of these two queries).
_VISIBLE_TEXT = XPath(f"//body//text()[{_NOT_CODE}]", smart_strings=False)
_TEXT_AFTER = XPath(f"following::text()[{_NOT_CODE}]", smart_strings=False)
# Page dates outside these bounds are placeholders ("0001-01-01") or mistakes.
MIN_YEAR = 1990
MAX_FUTURE_DAYS = 2


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


def first_date(values: Iterable[str | None]) -> str | None:
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


def published_date(
    tree: lxml_html.HtmlElement, article: dict[str, Any] | None,
    meta: dict[str, list[str]], url: str | None, nodes: Iterable[dict[str, Any]] = (),
) -> tuple[str | None, str | None]:
    """The publication date and its source.

    Structured data first: the article node's ``datePublished``, else that of the page
    node (``WebPage``: many sites describe the page, not the article); then date meta
    tags; then ``<time>`` markup marked as the publication date, else the first
    ``<time datetime>`` of the article's header; htmldate last.
    """
    page_nodes = [node for node in nodes if node_types(node) & PAGE_NODE_TYPES]
    sources: list[tuple[str, list[str | None]]] = [
        ("json-ld", [ld_text(article.get(key)) for key in ("datePublished", "dateCreated")]
         if article else []),
        ("json-ld", [ld_text(node.get("datePublished")) for node in page_nodes]),
        ("meta", meta_values(meta, PUBLISHED_META)),
        ("time", [*tree.xpath('//*[@itemprop="datePublished"]/@datetime'),
                  *tree.xpath("//time[@pubdate]/@datetime")]),
        ("time", tree.xpath(HEADER_TIME_XPATH)[:1]),
    ]
    found: tuple[str | None, str | None] = (None, None)
    for source, values in sources:
        date = first_date(values)
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
    modified = first_date([ld_text(article.get("dateModified")) if article else None,
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
    if published and published[:10] in _shown_days(" ".join(_VISIBLE_TEXT(tree))):
        return None
    return day if plausible_date(day) else None


def _days_apart(moment: str, day: str) -> int:
    """Whole days between an ISO date-time's day and an ISO day."""
    return abs((datetime.fromisoformat(moment[:10]) - datetime.fromisoformat(day)).days)


def _dates_after_headline(tree: lxml_html.HtmlElement) -> list[tuple[str, bool]]:
    """ISO days printed in the text just after the headline (``headline_element``), each
    with whether it is labelled as an update."""
    heading = headline_element(tree)
    if heading is None:
        return []
    pieces: list[str] = []
    length = 0
    for piece in _TEXT_AFTER(heading):
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


def headline_element(tree: lxml_html.HtmlElement) -> lxml_html.HtmlElement | None:
    """The article's headline: the first ``<h1>`` with text inside ``<article>``, else inside
    ``<main>``, else anywhere (a site logo is often the page's first ``<h1>``)."""
    for xpath in ("//article//h1", "//main//h1", "//h1"):
        for element in tree.xpath(xpath):
            if element.text_content().strip():
                return element
    return None


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
