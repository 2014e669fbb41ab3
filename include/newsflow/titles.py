"""An article's title from its title candidates: site names stripped, a vote among JSON-LD
``headline``, ``og:title``, ``twitter:title``, the visible ``<h1>`` and ``<title>``, and
the page's only ``<h1>`` when it reads like a headline (see ``newsflow.metadata``).

Pure functions over an lxml tree; no network, no per-site rules.
"""

import logging
import re
from typing import Any
from urllib.parse import urlsplit

from lxml import html as lxml_html
from trafilatura.metadata import extract_title as trafilatura_title

from newsflow.publication_dates import SHOWN_DATE
from newsflow.structured_data import SITE_META, first_value, ld_publisher, ld_text, meta_values

LOGGER = logging.getLogger(__name__)

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



def site_name_keys(
    site_name: str | None, article: dict[str, Any] | None, by_id: dict[str, Any],
    meta: dict[str, list[str]], url: str | None,
) -> set[str]:
    """Normalised names the site goes by: og:site_name, publisher, app name, host labels."""
    names = {site_name, ld_publisher(article, by_id), *meta_values(meta, SITE_META)}
    host = url_host(url)
    if host:
        labels = [label for label in host.lower().split(".") if label not in ("www", "m", "amp")]
        names.update(labels[:-1] or labels)
        names.add(".".join(labels))
    return {key for key in (name_key(n) for n in names if n) if len(key) >= 2}


def url_host(url: str | None) -> str | None:
    """The host of a URL; None without one or when the URL does not parse (a malformed page
    or canonical URL, such as "https://[::1", is no evidence rather than an error)."""
    if not url:
        return None
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


def name_key(text: str) -> str:
    """A site or author name reduced to lower-case letters and digits, without a leading "the"."""
    text = re.sub(r"^the\s+", "", text.strip().lower())
    return re.sub(r"[\W_]+", "", text)


def is_site_name(segment: str, site_names: set[str]) -> bool:
    """Tell whether a title segment names the site ("CBC News" for site "CBC")."""
    key = name_key(segment)
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


def title_candidates(
    tree: lxml_html.HtmlElement, article: dict[str, Any] | None,
    meta: dict[str, list[str]], site_names: set[str],
) -> list[tuple[str, str]]:
    """(source, title) pairs in order of trust, site names stripped."""
    raw: list[tuple[str, str | None]] = [
        ("og:title", first_value(meta.get("og:title", []))),
        ("json-ld", ld_text(article.get("headline")) if article else None),
        ("twitter:title", first_value(meta.get("twitter:title", []))),
        ("h1", _h1(tree)),
        ("title", ld_text(" ".join(tree.xpath("//head/title//text()")))),
    ]
    if not any(text for _, text in raw):
        raw.append(("trafilatura", trafilatura_title(tree)))
    # An all-capitals <h1> is display styling; the other sources keep the page's casing.
    if any(text for source, text in raw if source != "h1"):
        raw = [(source, text) for source, text in raw
               if not (source == "h1" and text and text.isupper())]
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
    key = title_key(h1)
    inside = [(text, source) for source, text in candidates if source != "h1"
              and len(text.split()) >= INNER_HEADLINE_MIN_WORDS
              and title_key(text) != key and title_key(text) in key
              and _is_furniture(key.replace(title_key(text), " ", 1))]
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


def title_key(text: str) -> str:
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
        key = title_key(text)
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
