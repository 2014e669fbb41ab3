"""Cleaning: turn a raw page (HTML or plain text) into a CleanDocument of text and metadata.

HTML goes through trafilatura twice: its default mode gives the body, its precision mode
marks where the article starts and ends (measured with ``make eval``: trafilatura's
default keeps more of the article, precision mode drops more of the page around it);
``trafilatura_passes`` runs the two passes with the work they have in common done once.
Metadata comes from ``metadata``'s cascade. Plain text goes through ``textparse``. The
result is plain data (JSON-serialisable) so it can be staged in PostgreSQL between tasks.
"""

import codecs
import contextlib
import logging
import re
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import trafilatura
from charset_normalizer import from_bytes
from lxml import html as lxml_html

from newsflow import settings
from newsflow.bylines import looks_like_person, parse_byline
from newsflow.metadata import Metadata, extract_metadata
from newsflow.pagetype import page_type
from newsflow.textparse import DROP_RE, PROMO_RE, TAIL_MARKER_RE, parse_text_article
from newsflow.trafilatura_passes import default_and_precise

LOGGER = logging.getLogger(__name__)

# Precision mode marks the article's edges; when it keeps less than this share of the
# default text it has lost part of the article, and the default text stands as it is.
PRECISION_MIN_SHARE = 0.7
# Leading lines that precision mode leaves out are dropped only when they are this short
# (labels, dates, kickers, captions); a longer one is the lede and stays.
EDGE_LINE_MAX_WORDS = 12
# Repeats of the headline, bylines and date lines are looked for in the first few lines.
HEADER_LINES = 3

# Calls to click are page furniture wherever they sit ("CLICK HERE TO GET THE APP",
# "Click To Tweet"); a long paragraph that mentions clicking is left alone.
CLICK_PROMPT_RE = re.compile(r"\bclick(?:ing)?\s+(?:here|to\s+tweet)\b", re.IGNORECASE)
CLICK_PROMPT_MAX_WORDS = 25

# Prompts that close many articles: newsletter, follow, share, app and subscription
# pitches; cut while they end the body, whatever comes before them.
TRAILING_CLUTTER_RE = re.compile(
    r"^(?:(?:sign\s+up|subscribe|register)\b.{0,200}"
    r"|follow\s+(?:us|[\w@.-]+(?:\s+[\w@.-]+)?)\s+on\b.{0,150}"
    r"|(?:share|like)\s+this\s+(?:story|article|post)\b.{0,80}"
    r"|(?:please\s+)?click\s+here\b.{0,150}"
    r"|if\s+you\s+(?:enjoyed|liked|value|appreciate)\b.{0,250}"
    r"|for\s+the\s+latest\b.{0,150}(?:sign\s+up|download|follow|subscribe).{0,80}"
    r"|(?:get|download)\s+(?:the|our)\s+.{0,40}\bapp\b.{0,80}"
    r"|write\s+to\s+.{0,80}\bat\s+\S+@\S+"
    r"|this\s+(?:copy|article)\s+is\s+for\s+your\s+personal\b.{0,300}"
    r"|(?:also\s+)?read\s+(?:more|also|next)\b.{0,150}"
    r"|(?:related|more)\s+(?:stories|articles|coverage|news)\b.{0,80}"
    r"|tell\s+us\s+what\s+you\s+think\b.{0,80}"
    r"|\d*\s*comments?)\s*$",
    re.IGNORECASE,
)


class CleaningError(Exception):
    """A page holds no article we can extract; the message is the reject reason."""


class CleaningTimeout(CleaningError):
    """Cleaning one page took longer than ``settings.CLEAN_TIME_LIMIT``."""


@dataclass
class CleanDocument:
    """The text of one page and the metadata found alongside it, with where each came from.

    ``paragraphs`` are the body's blocks in reading order, section headings included
    (they are part of the text a reader sees); ``headings`` lists those headings again.
    The ``*_source`` fields name the evidence that won: ``json-ld``, ``og:title``,
    ``meta``, ``byline``, ``htmldate``, ``text`` (the plain-text parser), ...
    """

    format: str  # "html" or "text"
    paragraphs: list[str]
    headings: list[str] = field(default_factory=list)
    title: str | None = None
    subtitle: str | None = None
    authors: list[str] = field(default_factory=list)
    published: str | None = None
    site_name: str | None = None
    source: str | None = None
    language: str | None = None  # declared by the page, not detected
    dateline: str | None = None
    canonical_url: str | None = None
    title_source: str | None = None
    authors_source: str | None = None
    published_source: str | None = None
    modified: str | None = None
    captions: list[str] = field(default_factory=list)
    author_kinds: list[str] = field(default_factory=list)  # "person"/"organisation" per author
    page_type: str | None = None  # see pagetype.PAGE_TYPES; None for plain text (an article)
    # Whether the subtitle is the standfirst the page shows above the body (and took out of
    # it), not only a description in its metadata: the article's text is subtitle + body.
    standfirst: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain data for staging."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "CleanDocument":
        """Rebuild from staged plain data (keys staged by older versions are ignored)."""
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})


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
        url: the page's URL when known; helps metadata and date extraction.

    Returns:
        The cleaned document.

    Raises:
        CleaningError: nothing article-like could be extracted, or the page is over
            the limits (``settings.MAX_HTML_ELEMENTS``, ``settings.CLEAN_TIME_LIMIT``).
    """
    with time_limit(settings.CLEAN_TIME_LIMIT):
        document = clean_text(decode_text(content)) if fmt == "text" else clean_html(content, url)
    if not document.paragraphs:
        raise CleaningError("no article text found")
    return document


def clean_text(text: str) -> CleanDocument:
    """A plain-text article, split into its parts by ``textparse``."""
    article = parse_text_article(text)
    return CleanDocument(
        format="text",
        paragraphs=list(article.blocks),
        headings=list(article.headings),
        title=article.title,
        subtitle=article.subtitle,
        authors=list(article.authors),
        source=article.source,
        dateline=article.dateline,
        title_source="text" if article.title else None,
        authors_source="byline" if article.authors else None,
        captions=list(article.captions),
        page_type="article",  # a saved text file is an article by its author's choice
        standfirst=article.subtitle is not None,
    )


def clean_html(content: bytes | str, url: str | None = None) -> CleanDocument:
    """An HTML page: body through trafilatura, metadata through ``metadata``'s cascade."""
    tree = trafilatura.load_html(content)
    if tree is None:
        raise CleaningError("unparseable HTML")
    elements = count_elements(tree, settings.MAX_HTML_ELEMENTS)
    if elements > settings.MAX_HTML_ELEMENTS:
        raise CleaningError(
            f"page too large to clean: more than {settings.MAX_HTML_ELEMENTS} HTML elements"
        )
    meta = extract_metadata(tree, url)
    kind = page_type(tree, meta, url)
    main, precise = default_and_precise(tree, url)
    if main is None or main.body is None:
        raise CleaningError("trafilatura found no main text")
    lines = _text_lines(main.text)
    if precise is not None:
        lines = trim_to_edges(lines, _text_lines(precise.text))
    lines, byline = _strip_header(lines, meta)
    body_lines = len(lines)
    lines, subtitle = split_standfirst(lines, meta.description)
    standfirst = len(lines) < body_lines
    lines = cut_clutter(lines)
    authors, kinds, authors_source = meta.authors, meta.author_kinds, meta.authors_source
    if byline and authors_source not in ("json-ld", "meta"):
        authors, kinds, authors_source = byline, ["person"] * len(byline), "byline"
    kept = set(lines)
    headings = [text for text in _heading_texts(main.body) if text in kept]
    return CleanDocument(
        format="html",
        paragraphs=lines,
        headings=headings,
        title=meta.title,
        title_source=meta.title_source,
        subtitle=subtitle,
        authors=authors,
        author_kinds=kinds,
        authors_source=authors_source,
        published=meta.published,
        published_source=meta.published_source,
        modified=meta.modified,
        site_name=meta.site_name,
        language=meta.language,
        canonical_url=meta.canonical_url,
        page_type=kind,
        standfirst=standfirst,
    )


def count_elements(tree: lxml_html.HtmlElement, limit: int) -> int:
    """The number of nodes in the tree other than text (elements, comments, processing
    instructions: what ``tree.iter()`` walks), at most ``limit + 1``.

    Counted by libxml2 in one XPath call: walking the tree from Python made a proxy object
    of every element, about 2 % of cleaning's CPU.
    """
    count = int(tree.xpath("count(descendant-or-self::node()[not(self::text())])"))
    return min(count, limit + 1)


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise ``CleaningTimeout`` in the block after ``seconds`` (0 or less: no limit).

    Uses a SIGALRM interval timer, so it applies in the main thread of a Unix process
    (where Airflow runs a task); elsewhere the block runs unlimited and only the element
    cap bounds it. A timer that was already set (Airflow's execution_timeout uses one) is
    left to fire first if it is due sooner, and re-armed with its remaining time after.
    """
    usable = (
        seconds > 0
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    outer_remaining = signal.getitimer(signal.ITIMER_REAL)[0] if usable else 0.0
    if not usable or (outer_remaining and outer_remaining <= seconds):
        yield
        return

    armed = [True]

    def _expired(signum: int, frame: object) -> None:
        if armed[0]:  # a signal that arrives while the block is being left changes nothing
            raise CleaningTimeout(f"cleaning took longer than the {seconds:g} s time limit")

    previous = signal.signal(signal.SIGALRM, _expired)
    started = time.monotonic()
    try:
        signal.setitimer(signal.ITIMER_REAL, seconds)
        yield
    finally:
        armed[0] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer_remaining:
            left = outer_remaining - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(left, 0.001))


def _text_lines(text: str | None) -> list[str]:
    """The non-empty lines of trafilatura's text output, whitespace collapsed."""
    lines = (" ".join(line.split()) for line in (text or "").split("\n"))
    return [line for line in lines if line]


def _line_key(text: str) -> str:
    """A line reduced to lower-case word characters, for comparing two extractions."""
    return " ".join(re.findall(r"\w+", text.lower()))


def trim_to_edges(lines: list[str], precise: list[str]) -> list[str]:
    """Cut the default extraction to the article's edges as precision mode sees them.

    Lines after precision mode's last line are dropped; lines before its first line are
    dropped only when all of them are short (kickers, dates, captions), since precision
    mode also loses ledes set apart from the body. When precision mode kept too little
    of the text, or nothing in common, the default lines stand.

    Args:
        lines: the default extraction's lines.
        precise: precision mode's lines.

    Returns:
        The trimmed lines.
    """
    if not lines or not precise:
        return lines
    keys = [_line_key(line) for line in lines]
    wanted = {_line_key(line) for line in precise} - {""}
    inside = [idx for idx, key in enumerate(keys) if key in wanted]
    if not inside:
        return lines
    first, last = inside[0], inside[-1]
    if any(len(line.split()) > EDGE_LINE_MAX_WORDS for line in lines[:first]):
        first = 0
    trimmed = lines[first : last + 1]
    if sum(map(len, trimmed)) < PRECISION_MIN_SHARE * sum(map(len, lines)):
        return lines
    return trimmed


def _strip_header(lines: list[str], meta: Metadata) -> tuple[list[str], list[str]]:
    """Drop repeats of the headline and byline lines off the top; return the byline's names."""
    titles = {_line_key(text) for text in [meta.title or "", *meta.title_candidates]} - {""}
    names: list[str] = []
    idx = 0
    while idx < min(len(lines), HEADER_LINES):
        line = lines[idx]
        found = byline_names(line)
        if _line_key(line) in titles:
            pass
        elif found is not None:
            names.extend(found)
        else:
            break
        idx += 1
    # A line-sized byline after the lede paragraph's kicker still belongs to the header.
    rest = lines[idx:]
    for pos, line in enumerate(rest[:HEADER_LINES]):
        found = byline_names(line)
        if found:
            names.extend(found)
            rest = rest[:pos] + rest[pos + 1 :]
            break
    return rest, list(dict.fromkeys(names))


def split_standfirst(lines: list[str], description: str | None) -> tuple[list[str], str | None]:
    """The body without its standfirst, and the subtitle: no text is said twice.

    The page's description is the subtitle. When the body opens with it (same words), the
    standfirst under the headline, that line leaves the body and becomes the subtitle as
    the page shows it. When the description only quotes the body (the start of its first
    line cut short, or a later line of its opening: the lead's second paragraph, a pull
    quote), there is no subtitle and the body keeps its text. Plain-text articles follow
    the same rule (``textparse`` takes the standfirst out of the body).
    """
    if not description:
        return lines, description
    # Only the body's first line can be the standfirst: a later one is body text.
    key = _line_key(description)
    if len(lines) > 1 and _line_key(lines[0]) == key:
        return lines[1:], lines[0]  # as the page shows it
    excerpt = _line_key(description.rstrip().removesuffix("...").rstrip(" .…"))
    if any(_line_key(line) == key for line in lines[1:HEADER_LINES]) or (
            lines and len(excerpt) >= 40 and _line_key(lines[0]).startswith(excerpt)):
        return lines, None
    return lines, description


def byline_names(line: str) -> list[str] | None:
    """The names of a byline line ("By Jane Doe", "Jane Doe/John Roe"); None if it is not one."""
    names = parse_byline(line)
    if names is not None:
        return names
    if len(line) > 80 or line[-1:] in ".!?:;,":
        return None
    parts = [part.strip() for part in re.split(r"\s*(?:/|\||&|\band\b|,)\s*", line)]
    if parts and all(looks_like_person(part) for part in parts) and len(parts) <= 4 \
            and any(sep in line for sep in ("/", "|", "&", " and ", ",")):
        return parts
    return None


def cut_clutter(lines: list[str]) -> list[str]:
    """Drop inline promotions anywhere and the prompts and widgets that close the body."""
    kept = [
        line for line in lines
        if not PROMO_RE.match(line)
        and not (CLICK_PROMPT_RE.search(line) and len(line.split()) <= CLICK_PROMPT_MAX_WORDS)
    ]
    while len(kept) > 1 and (
        TRAILING_CLUTTER_RE.match(kept[-1]) or TAIL_MARKER_RE.match(kept[-1])
        or DROP_RE.match(kept[-1])
    ):
        LOGGER.debug("cutting trailing clutter %r", kept[-1])
        kept.pop()
    return kept


def _heading_texts(body: Any) -> list[str]:
    """Texts of the heading elements of trafilatura's body tree, in document order."""
    texts = (" ".join("".join(element.itertext()).split()) for element in body.iter("head"))
    return [text for text in texts if text]
