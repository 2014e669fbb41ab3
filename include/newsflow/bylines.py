"""Bylines: the author names of a "By ..." line ("By Jane Doe and John Roe, Reuters") or a
"Name | Title" line, and whether a name reads like a person's. Shared by the plain-text
parser (``textparse``), the HTML cleaner (``cleaning``) and the author cascade (``authors``).

Pure standard library, no per-site rules.
"""

import logging
import re

LOGGER = logging.getLogger(__name__)

BYLINE_MAX_CHARS = 120
BYLINE_RE = re.compile(r"^[Bb][Yy]:?\s+(?P<names>[A-ZÀ-Þ].*)$")
PIPE_BYLINE_RE = re.compile(
    r"^(?P<names>[A-ZÀ-Þ][\w.'’-]+(?:\s+[A-ZÀ-Þ][\w.'’-]+){1,3})\s*\|\s*[^|]{2,60}$"
)
BYLINE_PLACE_RE = re.compile(r"\s+(?:in|for)\s+[A-ZÀ-Þ][\w .'’-]*$")
BYLINE_SPLIT_RE = re.compile(r"\s+(?:and|&)\s+|\s*,\s*")
# A by-line may end in an initial or a suffix ("Jr."), never in a full stop otherwise.
INITIAL_END_RE = re.compile(r"(?:\b[A-Z]|Jr|Sr)\.$")
NAME_PARTICLES = frozenset(
    {"al", "bin", "bint", "da", "de", "del", "della", "der", "di", "dos", "du", "el", "la",
     "le", "ten", "ter", "van", "von"}
)
# Wire services and job titles that trail a byline after a comma ("By Jane Doe, Reuters").
BYLINE_ORG_WORDS = frozenset(
    {"afp", "agencies", "agency", "ap", "associated", "bbc", "bloomberg", "cnn", "contributor",
     "correspondent", "correspondents", "desk", "editor", "editors", "jazeera", "news",
     "press", "reporter", "reporters", "reuters", "staff", "wire", "writer", "writers"}
)


def looks_like_person(name: str) -> bool:
    """Tell whether name is 2-5 capitalised words, allowing particles like "van" or "al"."""
    tokens = name.split()
    if not 2 <= len(tokens) <= 5 or not tokens[0][0].isupper() or not tokens[-1][0].isupper():
        return False
    if _is_org(name):
        return False
    return all(token[0].isupper() or token.lower() in NAME_PARTICLES for token in tokens)


def _is_org(name: str) -> bool:
    """Tell whether a byline part names a wire service or a job title."""
    return any(token.lower().strip(".") in BYLINE_ORG_WORDS for token in name.split())


def parse_byline(text: str) -> list[str] | None:
    """Return the author names of a byline, [] for a name-less byline, None otherwise.

    Parts after the first comma are kept only when they look like people, so that
    "By Jane Doe, Reuters" or "By Jane Doe, Staff Writer" yield just "Jane Doe".
    """
    if len(text) > BYLINE_MAX_CHARS:
        return None
    if match := PIPE_BYLINE_RE.match(text):
        name = match["names"]
        return [name] if looks_like_person(name) else None
    match = BYLINE_RE.match(text)
    if not match:
        return None
    names_text = match["names"].split("|")[0].strip()
    if names_text[-1] in "!?:;,":
        return None
    if names_text[-1] == "." and not INITIAL_END_RE.search(names_text):
        return None
    names_text = BYLINE_PLACE_RE.sub("", names_text)
    head, _, tail = names_text.partition(",")
    names = [part for part in BYLINE_SPLIT_RE.split(head) if part]
    # Commas also separate co-authors ("By A, B and C"): keep those parts that are people.
    names += [part for part in BYLINE_SPLIT_RE.split(tail) if part and looks_like_person(part)]
    people = [name.strip() for name in names if looks_like_person(name.strip())]
    if people:
        return list(dict.fromkeys(people))
    # "By Reuters Staff" or "BY AL JAZEERA STAFF": a byline, just without people in it.
    if all(token[0].isupper() for token in head.split()) and (_is_org(head) or head.isupper()):
        return []
    return None
