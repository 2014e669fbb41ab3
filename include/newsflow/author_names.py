"""Author names: one raw author value ("By Jane Doe and John Roe, Reuters", "TOM KRISHER",
"Jane Doe Senior Analyst") made into clean credits, each a person or an organisation (a wire
service, a desk, a declared company). Used by the author cascade (``authors``).

Pure standard library and regular expressions; no per-site rules.
"""

import html
import logging
import re
from collections.abc import Iterable

from newsflow.bylines import BYLINE_ORG_WORDS, NAME_PARTICLES
from newsflow.titles import name_key

LOGGER = logging.getLogger(__name__)

# Author names: words that make a "name" an organisation, a desk or a job title.
ORG_NAME_WORDS = BYLINE_ORG_WORDS | frozenset(
    {"newsroom", "team", "editorial", "media", "online", "service", "services", "bureau",
     "network", "channel", "magazine", "company", "inc", "ltd", "llc", "group", "digital",
     "times", "post", "herald", "tribune", "journal", "gazette", "daily", "weekly", "radio",
     "tv", "television", "newspaper", "admin", "administrator", "webmaster", "guest",
     "redaktion", "rédaction", "redacción", "redazione", "verlag", "gmbh", "ag", "sa", "srl",
     "profile", "video", "videos", "theme"}
)
# Wire services and news agencies: credited as authors, of kind "organisation", so that
# analysts find wire copy (lower-case full names and the initials they sign with).
WIRE_SERVICES = frozenset(
    {"associated press", "the associated press", "ap", "reuters", "thomson reuters", "afp",
     "agence france-presse", "agence france presse", "bloomberg", "bloomberg news", "dpa",
     "upi", "united press international", "pa", "pa media", "press association", "ansa",
     "efe", "xinhua", "kyodo", "kyodo news", "anadolu", "anadolu agency", "aap",
     "australian associated press", "the canadian press", "canadian press", "pti",
     "press trust of india", "ians", "tass", "yonhap", "aa", "apa", "ana", "belga", "anp",
     "ntb", "tt", "sda", "ritzau", "epa", "cna"}
)
# A credit ending in one of these words is a desk or a team of the publication ("Gear
# Team", "Reuters Staff", "Politics Desk"): an organisation, not a person.
DESK_WORDS = frozenset({"team", "staff", "desk", "newsroom", "editors", "editorial",
                        "reporters", "writers", "correspondents", "redaktion", "rédaction"})
MAX_DESK_WORDS = 4
# Organisation words a declared author may hold (a company credited as the author).
DECLARED_ORG_WORDS = frozenset({"inc", "ltd", "llc", "group", "company", "media", "digital",
                                "services", "service", "network"})
PERSON, ORGANISATION = "person", "organisation"
# The site's own accounts, never a person's name even when typed Person ("admin").
SITE_ACCOUNTS = frozenset({"admin", "administrator", "webmaster", "root", "user", "guest"})
AUTHOR_SPLIT = re.compile(r"\s*(;|\||/|,|&|\band\b|\bund\b|\bet\b|\by\b)\s*", re.IGNORECASE)
# Post-nominal credentials after a comma ("Jane Doe, MD, FACP", "Jo Roe, Ph.D.") belong to
# the name before them: they are not another author.
CREDENTIAL = re.compile(
    r"(?:[A-Z]{2,6}|(?:[A-Z][a-z]{0,2}\.){2,3}|Ph\.?\s?D\.?|[JS]r\.?|I{2,3}|IV)"
)
AUTHOR_PREFIX = re.compile(
    r"^(?:(?:posted|written|published|words|text|reporting|reviewed|edited|story)\s+by"
    r"|(?:artikel|geschrieben|ein\s+beitrag)\s+von"
    r"|by|von|par|por|door|authors?|autor|autorin|autoren|auteur|autore|text|texto"
    r"|written|contributors?)\b[:\s]*",
    re.IGNORECASE,
)
# What trails a name in widgets: "(Content Manager", "- Product marketer", "Updated Jan 5",
# "Published on ...".
AUTHOR_TAIL = re.compile(
    r"\s*[(\[|•·●▪⋅].*$|\s+[-–—]\s.*$"
    r"|\s+(?:last\s+)?(?:updated|published|posted|reviewed|modified|on)\b.*$",
    re.IGNORECASE,
)
# Job titles that trail a name in author boxes ("Jane Doe Senior Analyst").
ROLE_WORDS = frozenset(
    {"senior", "junior", "chief", "lead", "principal", "associate", "analyst", "editor",
     "manager", "writer", "contributor", "director", "expert", "reporter", "correspondent",
     "columnist", "founder", "co-founder", "ceo", "cto", "head", "content", "marketing",
     "specialist", "strategist", "consultant", "journalist", "producer", "researcher",
     "copywriter", "blogger", "officer", "president", "coordinator", "intern", "former",
     "contributing", "staff", "certified", "licensed", "reviewer"}
)
MONTH_WORDS = frozenset({"january", "february", "march", "april", "june", "july", "august",
                         "september", "october", "november", "december"})
# Month abbreviations that trail a name in a byline's date ("Gary Marcus Dec 19"); "May"
# is left out (a name).
MONTH_ABBREVIATIONS = frozenset({"jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep",
                                 "sept", "oct", "nov", "dec"})
# Words of interface text that bylines pick up ("Sign In", "Top Hybrids", "Read More").
WIDGET_WORDS = frozenset(
    {"sign", "login", "logout", "log", "subscribe", "menu", "search", "share", "follow",
     "home", "read", "view", "more", "contact", "about", "top", "updated", "posted",
     "published", "reviewed", "comments", "comment", "reply", "click", "privacy", "policy",
     "terms", "cookie", "cookies", "account", "register", "newsletter", "latest", "best",
     "skip", "content", "toggle", "close", "open", "back", "next", "previous", "download",
     "bio", "author", "authors", "layout", "posts", "profile", "certified", "licensed",
     "sponsored", "spotlight", "featured", "partner", "authorization", "authorize"}
)
AUTHOR_PLACE = re.compile(r"\s+(?:in|for|at)\s+[A-ZÀ-Þ][\w .'’-]*$")
NON_NAME = re.compile(r"https?://|www\.|[@:_»«|#©!?<>=\"]|\d|\.[a-z]{2,4}\b", re.IGNORECASE)
MARKUP = re.compile(r"<[^>]*>")
MAX_NAME_WORDS = 5
MAX_NAME_CHARS = 60


def clean_authors(names: Iterable[str], site_names: set[str] = frozenset()) -> list[str]:
    """People's names from raw author values: split lists, drop "By", URLs, organisations, repeats.

    Args:
        names: raw values ("By Jane Doe and John Roe", "Jane Doe | Reuters", ...).
        site_names: normalised names of the site; a "person" called like the site is not one.

    Returns:
        Unique names in order.
    """
    return [name for name, kind in author_credits(names, site_names) if kind == PERSON]


def author_credits(
    names: Iterable[str], site_names: set[str] = frozenset(), *, declared: bool = False,
    people: frozenset[str] = frozenset(),
) -> list[tuple[str, str]]:
    """People and credited organisations from raw author values, each with its kind.

    Lists are split, "By", places, URLs, handles and repeats dropped; a wire service
    ("Associated Press", "AFP") or a desk ("Gear Team") is kept as an organisation; an
    all-capitals name of more than three letters is title-cased ("TOM KRISHER"), other
    names keep the page's casing.

    Args:
        names: raw values ("By Jane Doe and John Roe", "Jane Doe | Reuters", ...).
        site_names: normalised names of the site; a "person" called like the site is not one.
        declared: the values are declared as the author (JSON-LD, meta tags), so the site
            named as author is kept, as an organisation, and a one-word name as a person.
        people: case-folded names that structured data types as a ``Person``: kept as
            people in the page's spelling even when lower-case or one word ("jdoe").

    Returns:
        Unique (name, kind) pairs in order, kind ``person`` or ``organisation``.
    """
    credits: list[tuple[str, str]] = []
    seen: set[str] = set()
    for raw in names:
        text = " ".join(MARKUP.sub(" ", html.unescape(raw or "")).split())
        if text.lower().startswith(("http://", "https://", "www.")):
            continue
        text = AUTHOR_PREFIX.sub("", text)
        pieces = AUTHOR_SPLIT.split(text)  # names at even indexes, separators between
        last: int | None = None  # where this value's previous name is in ``credits``
        for idx in range(0, len(pieces), 2):
            part = pieces[idx].strip()
            if last is not None and pieces[idx - 1] == "," and _is_credential(part):
                name, kind = credits[last]
                credits[last] = (f"{name}, {part}", kind)
                continue
            last = None
            name = _clean_name(part)
            if name and name.isupper() and len(name) > 3:
                name = name.title()  # wire style "TOM KRISHER" reads as "Tom Krisher"
            kind = author_kind(name, site_names, declared=declared) if name else None
            if name and not kind and name.casefold() in people \
                    and _plausible_person(name, site_names):
                kind = PERSON
            if name and kind and name.casefold() not in seen:
                seen.add(name.casefold())
                credits.append((name, kind))
                last = len(credits) - 1
    return credits


def _plausible_person(name: str, site_names: set[str]) -> bool:
    """A name structured data types as a Person: not the site, a URL, widget text or a
    sentence."""
    key = name_key(name)
    if key in site_names or any(len(site) >= 4 and site in key for site in site_names):
        return False
    words = name.lower().split()
    tokens = set(re.split(r"[\W_]+", name.lower()))
    return (not NON_NAME.search(name.replace("_", "")) and len(words) <= MAX_NAME_WORDS
            and len(name) <= MAX_NAME_CHARS and not tokens & (WIDGET_WORDS | SITE_ACCOUNTS))


def _is_credential(part: str) -> bool:
    """Tell whether a comma-separated part is a post-nominal credential ("MD", "Ph.D.")."""
    return bool(CREDENTIAL.fullmatch(part)) and part.lower() not in WIRE_SERVICES


def author_kind(
    name: str, site_names: set[str] = frozenset(), *, declared: bool = False
) -> str | None:
    """``person``, ``organisation`` (a wire service, a desk) or None (not an author).

    With ``declared`` (the page's structured data names it as the author), the site's
    own name is an organisation and a single capitalised word ("Susan") a person.
    """
    key = " ".join(name.lower().split())
    if key in WIRE_SERVICES:
        return ORGANISATION
    words = key.split()
    if 2 <= len(words) <= MAX_DESK_WORDS and words[-1] in DESK_WORDS \
            and not NON_NAME.search(name):
        return ORGANISATION
    if is_person_name(name, site_names):
        return PERSON
    if not declared or NON_NAME.search(name) or len(words) > MAX_NAME_WORDS or any(
            word in ORG_NAME_WORDS - DECLARED_ORG_WORDS or word in WIDGET_WORDS
            for word in words):
        return None
    if name_key(name) in site_names:
        return ORGANISATION
    if len(words) == 1 and name[0].isupper() and name.isalpha() and len(name) >= 3:
        return PERSON
    return None


def _clean_name(part: str) -> str | None:
    """One name with a "By" prefix, a trailing place ("in Geneva") and stray marks removed."""
    name = AUTHOR_PREFIX.sub("", part.strip(" .,:;-–—()[]\"'…"))
    name = AUTHOR_TAIL.sub("", name)
    name = AUTHOR_PLACE.sub("", name).strip(" .,:;-–—")
    words = name.split()
    # An avatar's initials before the name ("CM Craig McCarthy").
    if len(words) >= 3 and words[0].isupper() and words[0] == "".join(w[0] for w in words[1:]):
        words = words[1:]
    # A job title, interface text or the date after the name ("Jane Doe Former Editor",
    # "A. J. Neal View In Digital Edition", "Jane Doe December", "Gary Marcus Dec").
    cut = next((idx for idx in range(1, len(words))
                if (idx >= 2 and words[idx].lower().strip(".,") in ROLE_WORDS | WIDGET_WORDS)
                or words[idx].lower().strip(".,") in MONTH_WORDS | MONTH_ABBREVIATIONS),
               len(words))
    return " ".join(words[:cut]) or None


def is_person_name(name: str, site_names: set[str]) -> bool:
    """Tell whether a name reads like a person's, not a site, desk or organisation."""
    words = name.split()
    if not 1 <= len(words) <= MAX_NAME_WORDS or len(name) > MAX_NAME_CHARS:
        return False
    if NON_NAME.search(name):
        return False
    parts = [part.lower().strip(".'’") for word in words for part in word.split("-")]
    if any(part in ORG_NAME_WORDS or part in WIDGET_WORDS for part in parts):
        return False
    if all(part in ROLE_WORDS for part in parts):
        return False  # a job title alone ("Lead Reviewer")
    if not any(len(word.strip(".")) >= 2 for word in words):
        return False
    if name_key(name) in site_names:
        return False
    latin = all(re.fullmatch(r"[A-Za-zÀ-ÿĀ-ž'’.\-]+", word) for word in words)
    # One-word Latin "names" are user handles ("admin", "jdoe"); other scripts may write
    # full names without spaces.
    if latin and len(words) < 2:
        return False
    # Latin-script names are capitalised but for particles ("Ann van der Berg").
    return not latin or (words[-1][0].isupper() and all(
        word[0].isupper() or word.lower() in NAME_PARTICLES for word in words))
