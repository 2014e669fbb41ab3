"""
Parse news articles saved as plain text into title, standfirst, byline and body.

The input is what a browser "save as text", a copy-paste or a wire feed produces:
blocks separated by blank lines, paragraphs possibly hard-wrapped or indented, with
section heads, embedded media captions and "related stories" clutter mixed in.
Pure standard library, no per-site rules.
"""

import logging
import re
from dataclasses import dataclass, field

from newsflow.bylines import BYLINE_PLACE_RE, BYLINE_SPLIT_RE, looks_like_person, parse_byline

LOGGER = logging.getLogger(__name__)

# A standfirst is one short paragraph; anything longer is already body text.
STANDFIRST_MAX_CHARS = 350
STANDFIRST_MIN_WORDS = 4
# Longer first lines are body paragraphs of a title-less text, not titles.
TITLE_MAX_CHARS = 300
# Bylines, datelines and standfirsts are only looked for in the first few items.
HEADER_SCAN_ITEMS = 4

# Heading/caption rule for a stand-alone body line without terminal punctuation:
# - a quoted line ('Shared goal', "Shared goal", ‘Shared goal’) of <= 8 words is a heading;
# - an unquoted line of <= 5 words is a heading;
# - an unquoted line of 6..30 words is a caption (video/photo titles read like
#   headlines and are longer than section heads), longer ones stay body text;
# - a line with a media marker ("Photo:", "WATCH:", "(Photo ...") or ending in a
#   photo credit ("(Reuters)", "Photo: AFP") is a caption whatever its punctuation.
# A heading must be followed by more body; a trailing short line is never a heading.
HEADING_MAX_WORDS = 8
UNQUOTED_HEADING_MAX_WORDS = 5
CAPTION_MAX_WORDS = 30
CREDIT_CAPTION_MAX_WORDS = 50

# Hard-wrapped paragraphs rarely exceed this width; longer lines are one paragraph each.
HARD_WRAP_MAX_WIDTH = 100
# Below this width a block of capitalised lines is a list, not a wrapped paragraph.
NARROW_WIDTH = 50
# A greedy wrap fills lines to nearly full width, so a much shorter line ends a paragraph.
SHORT_LINE_RATIO = 0.75

# Trailing headline lists: teasers are short, list lines are short and unpunctuated.
TEASER_MAX_CHARS = 150
LIST_LINE_MAX_WORDS = 12
LIST_RUN_MIN = 3

TERMINAL_PUNCT = ".!?:;,…"
CLOSING_CHARS = "'\"’”)]»"
OPENING_QUOTES = "'\"‘“«"
CLOSING_QUOTES = "'\"’”»"

# NBSP and friends become spaces, zero-width characters and stray BOMs disappear.
SPACE_TABLE = str.maketrans(
    {
        "\u00a0": " ",
        "\u2007": " ",
        "\u202f": " ",
        "\u200b": None,
        "\u200c": None,
        "\u200d": None,
        "\ufeff": None,
    }
)

_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_DATE = rf"(?:{_MONTH}\s+\d{{1,2}}|\d{{1,2}}\s+{_MONTH})(?:,?\s+\d{{4}})?"
_UPPER_WORD = r"[A-Z][A-Z'’.]+(?:-[A-Z][A-Z'’.]*)*"
_UPPER_PLACE = rf"{_UPPER_WORD}(?:[ /]{_UPPER_WORD})*"
# "AMMAN, Jordan" or "WASHINGTON, D.C.", but not the "March 3" of "LONDON, March 3".
_REGION = rf"(?:,\s+(?!{_MONTH}\s+\d)[A-Z][A-Za-z.'’-]+(?:\s+[A-Z][A-Za-z.'’-]+){{0,2}})"
_AGENCY = (
    r"(?:AFP|AP|Reuters|dpa|DPA|Xinhua|UPI|ANSA|EFE|IANS|PTI|Bloomberg|AAP|Kyodo|Yonhap"
    r"|TASS|Anadolu|IPS)"
)
_TITLE_PLACE = r"[A-Z][a-z'’.-]+(?:\s+[A-Z][a-z'’.-]+){0,2}"
# Upper-case place(s), optional region and date, optional agency, then a dash; AFP-style
# mixed-case places ("Geneva (AFP) -") are accepted only with a known agency.
DATELINE_RE = re.compile(
    rf"^(?P<dateline>{_UPPER_PLACE}{_REGION}?(?:,?\s+{_DATE})?(?:\s*\([^()]{{1,40}}\))?"
    rf"|{_TITLE_PLACE}(?:,?\s+{_DATE})?\s*\({_AGENCY}\))"
    r"\s*(?:--|[-–—])\s+"
)


SOURCE_RE = re.compile(r"^(?:SOURCE|Source)\s*:\s*(?P<source>\S.*)$")
CREDIT_RE = re.compile(
    r"^(?:\((?:additional\s+)?(?:reporting|writing|editing|compiled|research)\b[^()]*\)"
    r"|(?:additional\s+)?reporting\s+by\b[^.]*;\s*(?:editing|writing)\s+by\b.*)$",
    re.IGNORECASE,
)
# The reporters of a wire credit; "additional reporting" names contributors, not authors.
REPORTERS_RE = re.compile(
    r"(?<!additional )\breporting\s+by\s+(?P<names>[^;()]+?)\s*(?:[;)]|$)", re.IGNORECASE
)
CREDIT_START_RE = re.compile(
    r"^\((?:additional\s+)?(?:reporting|writing|editing)\s+by\b", re.IGNORECASE
)

# Bare section markers that introduce the site's link lists: the article is over.
TAIL_MARKER_RE = re.compile(
    r"^(?:related(?:\s+(?:stories|articles|content|coverage|news|reading|links))?"
    r"|read\s+more|more\s+(?:from|on|stories\s+from)\b[^.!?]{0,60}|more\s+stories"
    r"|you\s+(?:may|might)\s+(?:also\s+)?like|recommended(?:\s+(?:for\s+you|stories|reading))?"
    r"|most\s+(?:read|popular|viewed)|sign\s+up\s+(?:for|to)\b[^.!?]{0,80}"
    r"|share\s+(?:this|the)\s+(?:article|story)|follow\s+us\s+on\b[^.!?]{0,80}|see\s+also"
    r"|trending(?:\s+now)?)\s*[:.!]?$",
    re.IGNORECASE,
)
# Inline promotions of another story: dropped, but the article goes on after them.
PROMO_RE = re.compile(
    r"^(?:read\s+more|related|also\s+read|see\s+also|more\s+on\s+this|read\s+also)\s*:\s*\S.{0,150}$",
    re.IGNORECASE,
)
# Page furniture that survives a text export anywhere in the article.
DROP_RE = re.compile(
    r"^(?:advertisement|advertising|story\s+continues\s+below(?:\s+advertisement)?"
    r"|continue\s+reading(?:\s+below)?|scroll\s+(?:down\s+)?to\s+continue.{0,30}"
    r"|skip\s+(?:to\s+content|advertisement)|(?:©|copyright\b).{0,100}"
    r"|all\s+rights\s+reserved\.?)$",
    re.IGNORECASE,
)
DATE_LINE_RE = re.compile(
    rf"^(?:(?:published|updated|posted|last\s+updated)\b.{{0,80}}"
    rf"|(?:\w+day,?\s+)?{_DATE}(?:\s*[-–|,]?\s*\d{{1,2}}[:.]\d{{2}}.{{0,12}})?"
    r"|\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}.{0,10})?)$",
    re.IGNORECASE,
)

CAPTION_PREFIX_RE = re.compile(
    r"^(?:\(\s*(?:photo|pictured|image|video|file)\b"
    r"|(?:photo|photograph|video|watch|image|picture|pictured|gallery|graphic|infographic"
    r"|listen|audio|file\s+photo)\s*[:|–—-])",
    re.IGNORECASE,
)
CAPTION_CREDIT_RE = re.compile(
    r"(?:\((?:Reuters|AP|AFP|EPA|EPA-EFE|Getty(?:\s+Images)?|Anadolu|Xinhua|Bloomberg"
    r"|Shutterstock|Al Jazeera|AP Photo[^()]{0,40}|Reuters/[^()]{1,40}|[^()]{1,40}/(?:AFP|AP"
    r"|Reuters|Getty Images|EPA))\)"
    r"|(?:Photo|Photograph|Image|Picture)(?:\s+credit)?\s*:\s*[^.:;]{2,60})$"
)
BULLET_RE = re.compile(r"^[-*•·▪]\s+")
# Quote marks inside a quoted line ('Shared' and 'goal', "Yes," he said "no") mean it is
# not one quoted heading; apostrophes between letters (Assad’s) are fine.
INNER_QUOTE_RE = re.compile(r"[\"“”«»]|(?:^|\s)['‘]|['’](?:\s|$)")


@dataclass(frozen=True)
class TextArticle:
    """Structured view of a plain-text news article."""

    title: str | None
    subtitle: str | None  # standfirst
    dateline: str | None  # "GENEVA (Reuters)", without the dash
    authors: list[str]
    headings: list[str]
    paragraphs: list[str]
    source: str | None
    captions: list[str]
    # Section headings and paragraphs in reading order: the article's text as stored.
    blocks: list[str] = field(default_factory=list)

    @property
    def body(self) -> str:
        """Body paragraphs joined by blank lines."""
        return "\n\n".join(self.paragraphs)


def _normalise(text: str) -> list[str]:
    """Split text into lines with line ends, odd spaces and trailing blanks normalised."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(SPACE_TABLE)
    return [line.rstrip().expandtabs(4) for line in text.split("\n")]


def _split_blocks(lines: list[str]) -> list[list[str]]:
    """Group lines into blocks separated by blank lines."""
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in lines:
        if line.strip():
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def _clean(text: str) -> str:
    """Collapse runs of whitespace into single spaces."""
    return " ".join(text.split())


def _indent(line: str) -> int:
    """Count the leading spaces of a line."""
    return len(line) - len(line.lstrip(" "))


def _word_count(text: str) -> int:
    """Count whitespace-separated words."""
    return len(text.split())


def _ends_sentence(text: str) -> bool:
    """Tell whether text ends in sentence punctuation, looking through closing quotes."""
    stripped = text.rstrip(CLOSING_CHARS + " ")
    return bool(stripped) and stripped[-1] in TERMINAL_PUNCT


def _is_prose(text: str) -> bool:
    """Tell whether text reads like a body sentence rather than a label or headline."""
    return _word_count(text) >= 6 and _ends_sentence(text)


def _is_byline(text: str) -> bool:
    """Tell whether a line is a byline."""
    return parse_byline(text) is not None


def _is_attribution(text: str) -> bool:
    """Tell whether a line is a SOURCE: line or a wire-style reporting credit."""
    return bool(SOURCE_RE.match(text) or CREDIT_RE.match(text))


def _starts_own_item(line: str) -> bool:
    """Tell whether a line inside a block must start a new item."""
    return bool(
        _is_byline(line)
        or _is_attribution(line)
        or CREDIT_START_RE.match(line)
        or TAIL_MARKER_RE.match(line)
        or PROMO_RE.match(line)
        or CAPTION_PREFIX_RE.match(line)
        or BULLET_RE.match(line)
    )


def _ends_own_item(line: str) -> bool:
    """Tell whether a line inside a block is complete on its own."""
    return bool(
        _is_byline(line)
        or _is_attribution(line)
        or TAIL_MARKER_RE.match(line)
        or PROMO_RE.match(line)
    )


def _block_items(block: list[str]) -> list[str]:
    """Turn a block into items, joining hard-wrapped lines and keeping stand-alone lines apart."""
    stripped = [line.strip() for line in block]
    if len(stripped) == 1:
        return [_clean(stripped[0])]
    width = max(len(line) for line in stripped)
    # Lines wider than any wrap width: the export put one paragraph per line.
    if width > HARD_WRAP_MAX_WIDTH:
        return [_clean(line) for line in stripped]
    narrow = width < NARROW_WIDTH
    base_indent = min(_indent(line) for line in block)
    items: list[str] = []
    current: list[str] = []
    for idx, line in enumerate(stripped):
        # First-line indentation marks a new paragraph inside a block; so does a short
        # unpunctuated line after a sentence end, which no greedy wrap produces mid-paragraph.
        short = len(line) < SHORT_LINE_RATIO * width
        new_par = (
            _indent(block[idx]) > base_indent
            or (narrow and not line[0].islower())
            or (short and current and _ends_sentence(current[-1]) and not _ends_sentence(line))
        )
        if current and (new_par or _starts_own_item(line)):
            items.append(_clean(" ".join(current)))
            current = []
        current.append(line)
        nxt = stripped[idx + 1] if idx + 1 < len(stripped) else ""
        if _ends_own_item(line) or (nxt and short and not nxt[0].islower()):
            items.append(_clean(" ".join(current)))
            current = []
    if current:
        items.append(_clean(" ".join(current)))
    return items


def _take_title(blocks: list[list[str]]) -> str | None:
    """Remove and return the first line as title unless it is a byline or body text."""
    first = blocks[0][0].strip()
    if _is_byline(first) or DATELINE_RE.match(first) or len(first) > TITLE_MAX_CHARS:
        return None
    blocks[0] = blocks[0][1:]
    if not blocks[0]:
        del blocks[0]
    return _clean(first)


def _cut_attribution(items: list[str]) -> tuple[list[str], str | None, list[str]]:
    """Drop attribution lines, keep the SOURCE text and cut everything after the first one.

    Returns the kept items, the SOURCE text and the reporters a wire credit names
    ("Reporting by Jane Doe in London; Editing by ..." gives Jane Doe).
    """
    kept: list[str] = []
    source: str | None = None
    reporters: list[str] = []
    for item in items:
        if not _is_attribution(item):
            kept.append(item)
            continue
        if (match := SOURCE_RE.match(item)) and source is None:
            source = match["source"].strip()
        if (match := REPORTERS_RE.search(item)) and not reporters:
            names = BYLINE_SPLIT_RE.split(BYLINE_PLACE_RE.sub("", match["names"].strip()))
            reporters = [name for name in names if looks_like_person(name)]
        # An attribution at the top (before any body) does not end the article.
        if any(_is_prose(prev) for prev in kept):
            LOGGER.debug("cutting text after attribution line %r", item)
            break
    return kept, source, reporters


def _is_list_line(item: str) -> bool:
    """Tell whether an item could be a headline in a link list."""
    return _word_count(item) <= LIST_LINE_MAX_WORDS and not _ends_sentence(item)


def _cut_tail(items: list[str]) -> list[str]:
    """Cut the trailing link lists (related stories, teasers, headline runs) off the body."""
    kept: list[str] = []
    for idx, item in enumerate(items):
        prose_before = any(_is_prose(prev) for prev in kept)
        if TAIL_MARKER_RE.match(item):
            # Share/follow widgets can also sit above the article: drop them there.
            if prose_before:
                LOGGER.debug("cutting tail at marker %r", item)
                break
            continue
        if PROMO_RE.match(item):
            continue
        # A teaser headline shown twice in a row is a card, never prose.
        nxt = items[idx + 1] if idx + 1 < len(items) else None
        if prose_before and item == nxt and len(item) <= TEASER_MAX_CHARS:
            LOGGER.debug("cutting tail at repeated teaser %r", item)
            break
        kept.append(item)
    run = 0
    while run < len(kept) and _is_list_line(kept[-1 - run]):
        run += 1
    if run >= LIST_RUN_MIN and any(_is_prose(item) for item in kept[:-run]):
        LOGGER.debug("cutting trailing headline list of %d lines", run)
        kept = kept[:-run]
    return kept


def _is_standfirst(item: str, rest: list[str]) -> bool:
    """Tell whether the item after the title is a standfirst rather than body."""
    return (
        len(item) <= STANDFIRST_MAX_CHARS
        and _word_count(item) >= STANDFIRST_MIN_WORDS
        and not DATELINE_RE.match(item)
        and not CAPTION_PREFIX_RE.match(item)
        and any(_is_prose(other) for other in rest)
    )


def _read_header(
    items: list[str], title: str | None
) -> tuple[str | None, list[str], list[str]]:
    """Take standfirst and byline(s) off the top of the items; return them and the rest."""
    subtitle: str | None = None
    authors: list[str] = []
    idx = 0
    while idx < len(items) and idx < HEADER_SCAN_ITEMS:
        item = items[idx]
        names = parse_byline(item)
        if names is not None:
            authors.extend(names)
        elif item == title or DATE_LINE_RE.match(item):
            pass  # a repeated title or a publication date is not body
        elif title is not None and subtitle is None and _is_standfirst(item, items[idx + 1 :]):
            subtitle = item
        else:
            break
        idx += 1
    return subtitle, list(dict.fromkeys(authors)), items[idx:]


def _unquote(text: str) -> str | None:
    """Return the inside of a fully quoted short line, None if it is not one."""
    if len(text) < 3 or text[0] not in OPENING_QUOTES or text[-1] not in CLOSING_QUOTES:
        return None
    inner = text[1:-1].strip()
    if INNER_QUOTE_RE.search(inner):
        return None
    return inner or None


def _classify(item: str, has_next: bool) -> tuple[str, str]:
    """Classify a body item as "heading", "caption" or "paragraph", returning its text."""
    words = _word_count(item)
    if CAPTION_PREFIX_RE.match(item) or (
        words <= CREDIT_CAPTION_MAX_WORDS and CAPTION_CREDIT_RE.search(item)
    ):
        return "caption", item
    inner = _unquote(item)
    if inner is not None:
        if has_next and _word_count(inner) <= HEADING_MAX_WORDS and not _ends_sentence(inner):
            return "heading", inner
        return "paragraph", item
    # A closing quote after an opening one mid-line ends reported speech, i.e. a sentence.
    quoted_end = item[-1] in CLOSING_QUOTES and any(q in item[1:-1] for q in OPENING_QUOTES)
    if _ends_sentence(item) or quoted_end or not item[0].isupper():
        return "paragraph", item
    if words <= UNQUOTED_HEADING_MAX_WORDS:
        return ("heading" if has_next else "paragraph"), item
    if words <= CAPTION_MAX_WORDS:
        return "caption", item
    return "paragraph", item


def parse_text_article(text: str) -> TextArticle:
    """Parse a plain-text news article into its parts.

    Args:
        text: The article as plain text: title on the first line, then blocks
            separated by blank lines (CRLF endings, a BOM, indentation and
            hard-wrapped lines are tolerated).

    Returns:
        A TextArticle with title, standfirst, dateline, authors, section headings,
        body paragraphs, attribution source and media captions. Trailing clutter
        (related stories, teaser lists) is dropped; if the rules leave no body,
        every non-title block becomes a paragraph.
    """
    blocks = _split_blocks(_normalise(text.lstrip("\ufeff")))
    if not blocks:
        return TextArticle(None, None, None, [], [], [], None, [])
    title = _take_title(blocks)
    all_items = [item for block in blocks for item in _block_items(block) if item]
    items = [item for item in all_items if not DROP_RE.match(item)]
    items, source, reporters = _cut_attribution(items)
    items = _cut_tail(items)
    subtitle, authors, body_items = _read_header(items, title)
    if not authors:
        authors = reporters

    headings: list[str] = []
    captions: list[str] = []
    blocks: list[tuple[str, str]] = []  # (kind, text) of headings and paragraphs, in order
    for idx, item in enumerate(body_items):
        kind, value = _classify(item, has_next=idx + 1 < len(body_items))
        if kind == "heading":
            headings.append(value)
            blocks.append((kind, value))
        elif kind == "caption":
            captions.append(value)
        elif _is_byline(value) and not any(k == "paragraph" for k, _ in blocks):
            authors.extend(name for name in parse_byline(value) or [] if name not in authors)
        else:
            blocks.append(("paragraph", value))

    dateline: str | None = None
    first = next((idx for idx, (kind, _) in enumerate(blocks) if kind == "paragraph"), None)
    if first is not None and (match := DATELINE_RE.match(blocks[first][1])):
        dateline = match["dateline"].strip()
        remainder = blocks[first][1][match.end() :].strip()
        blocks[first : first + 1] = [("paragraph", remainder)] if remainder else []

    paragraphs = [text for kind, text in blocks if kind == "paragraph"]
    if not paragraphs:
        LOGGER.debug("no body paragraphs left, falling back to all non-title blocks")
        paragraphs = list(all_items)
        blocks = [("paragraph", text) for text in paragraphs]

    return TextArticle(
        title=title,
        subtitle=subtitle,
        dateline=dateline,
        authors=authors,
        headings=headings,
        paragraphs=paragraphs,
        source=source,
        captions=captions,
        blocks=[text for _, text in blocks],
    )
