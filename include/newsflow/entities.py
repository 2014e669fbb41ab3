"""Named entities of one article: people, organisations, places and groups, merged per article.

spaCy finds the mentions; this module cleans each mention ("the", possessives, honorifics),
drops what is not a name, and merges the mentions of one article into entities: a surname
after a full name is that person, and an entity tagged differently in different places
takes the type most of its mentions have.
"""

import logging
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from spacy.tokens import Doc, Span

LOGGER = logging.getLogger(__name__)

# spaCy labels kept as entities: people, organisations, places, nationalities/groups, events.
ENTITY_TYPES = ("PERSON", "ORG", "GPE", "LOC", "FAC", "NORP", "EVENT")
# Mentions tagged one of these may be the surname of a person named in full (the small
# model tags a lone surname as an organisation or even a place now and then).
SURNAME_LABELS = frozenset({"PERSON", "ORG", "NORP", "GPE", "LOC"})
LEADING_WORDS = frozenset({"the", "mr", "mr.", "mrs", "mrs.", "ms", "ms.", "dr", "dr.", "sir"})
POSSESSIVES = frozenset({"'s", "'", "’s", "’"})
# A capitalised title word followed by "of" makes the next word part of a title, not a name.
TITLE_OF = re.compile(r"\b(?:Secretary|Minister|Ministry|Department|Secretary-General) of\s+$")
MONTH_OR_DAY = re.compile(
    r"^(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec|Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*\.?"
    r"(?:\s+\d{1,2}(?:st|nd|rd|th)?)?$"
)
# Names news writes in several ways, by their case-folded form.
ALIASES = {
    "us": "United States", "usa": "United States", "united states of america": "United States",
    "uk": "United Kingdom", "britain": "United Kingdom", "great britain": "United Kingdom",
    "un": "United Nations", "eu": "European Union",
}
TRIM = " \t\n\"'“”‘’()[]-–—,;:"


@dataclass(frozen=True)
class Mention:
    """One cleaned entity mention: where it is, as written, and how spaCy tagged it."""

    start: int
    end: int
    text: str
    label: str
    possessive: bool = False


@dataclass
class Entity:
    """All mentions of one entity in an article, with its display name and majority type."""

    name: str
    type: str
    mentions: list[Mention] = field(default_factory=list)

    @property
    def spans(self) -> list[tuple[int, int]]:
        """The character offsets of the mentions, in the article body."""
        return [(m.start, m.end) for m in self.mentions]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form printed by ``newsflow extract`` and staged for loading."""
        return {
            "name": self.name,
            "type": self.type,
            "mentions": len(self.mentions),
            "spans": [list(span) for span in self.spans],
        }


def find_entities(doc: Doc, text: str | None = None) -> list[Entity]:
    """The merged entities of a parsed article body, in order of first mention.

    Args:
        doc: the body parsed by spaCy (NER and parser).
        text: ``doc.text`` when the caller has it (spaCy rebuilds it from every token).

    Returns:
        One ``Entity`` per person, organisation, place or group, each with its mentions.
    """
    text = doc.text if text is None else text
    mentions = [m for m in (clean_mention(span, text) for span in doc.ents) if m is not None]
    return merge_mentions(mentions)


def clean_mention(span: Span, doc_text: str | None = None) -> Mention | None:
    """A mention without "the", honorifics and possessives; None if it is not a usable name."""
    if span.label_ not in ENTITY_TYPES:
        return None
    tokens = list(span)
    while tokens and (tokens[0].lower_ in LEADING_WORDS or tokens[0].is_punct):
        tokens = tokens[1:]
    possessive = False
    while tokens and (tokens[-1].lower_ in POSSESSIVES or tokens[-1].is_punct):
        possessive = possessive or tokens[-1].lower_ in ("'s", "’s")
        tokens = tokens[:-1]
    if not tokens:
        return None
    doc_text = span.doc.text if doc_text is None else doc_text
    start = tokens[0].idx
    end = tokens[-1].idx + len(tokens[-1].text)
    text = doc_text[start:end].strip(TRIM)
    if not text:
        return None
    start = doc_text.index(text, start)
    end = start + len(text)
    possessive = possessive or doc_text[end : end + 2] in ("'s", "’s")
    if _not_a_name(text, doc_text[max(start - 40, 0) : start], span.label_):
        return None
    return Mention(start, end, normalise_name(text), span.label_, possessive)


def _not_a_name(text: str, before: str, label: str) -> bool:
    """Lower-case words, dates tagged as events, and the tail of a title are not names."""
    if not any(ch.isupper() for ch in text) or not any(ch.isalpha() for ch in text):
        return True
    if MONTH_OR_DAY.match(text):
        return True
    return label != "PERSON" and " " not in text and bool(TITLE_OF.search(before[-40:]))


def normalise_name(text: str) -> str:
    """One spelling per name: single spaces, straight apostrophes, dotless initialisms, and
    the full name of a few places and bodies news writes in several ways (U.S., US, USA)."""
    text = re.sub(r"\s+", " ", text).replace("’", "'")
    if re.fullmatch(r"(?:[A-Z]\.){2,}", text):
        text = text.replace(".", "")
    return ALIASES.get(text.casefold(), text)


def merge_mentions(mentions: list[Mention]) -> list[Entity]:
    """Group an article's mentions into entities.

    A one-word mention equal to the last word of a person's full name in the article is
    that person (the nearest full name before it, else the first after it), whatever spaCy
    tagged it. Mentions with the same name are one entity whatever their tags; its type is
    the most frequent tag, ties going to the tag of its longest mention.
    """
    full_names = [m for m in mentions if m.label == "PERSON" and " " in m.text]
    groups: dict[str, list[Mention]] = {}
    for mention in mentions:
        key = mention.text.casefold()
        if mention.label in SURNAME_LABELS and " " not in mention.text:
            person = _full_name_for(mention, full_names)
            if person is not None:
                key = person.text.casefold()
                mention = replace(mention, label="PERSON")
        groups.setdefault(key, []).append(mention)
    entities = [_entity(group) for group in groups.values()]
    return sorted(entities, key=lambda e: e.mentions[0].start)


def _full_name_for(mention: Mention, full_names: list[Mention]) -> Mention | None:
    """The full name whose last word is this mention: the nearest before, else the first after."""
    matches = [m for m in full_names if m.text.split()[-1].casefold() == mention.text.casefold()]
    before = [m for m in matches if m.start < mention.start]
    if before:
        return before[-1]
    return matches[0] if matches else None


def _entity(mentions: list[Mention]) -> Entity:
    """One entity from its mentions: the longest name, the majority type."""
    mentions = sorted(mentions, key=lambda m: m.start)
    longest = max(mentions, key=lambda m: (len(m.text.split()), len(m.text), -m.start))
    counts = Counter(m.label for m in mentions)
    top = max(counts.values())
    tied = {label for label, count in counts.items() if count == top}
    label = longest.label if longest.label in tied else next(
        m.label for m in mentions if m.label in tied
    )
    return Entity(longest.text, label, mentions)


def entity_at(entities: list[Entity], start: int, end: int) -> Entity | None:
    """The entity with a mention overlapping the character range [start, end)."""
    for entity in entities:
        for mention in entity.mentions:
            if mention.start < end and start < mention.end:
                return entity
    return None


def entity_named(entities: list[Entity], word: str) -> Entity | None:
    """The entity whose name, or a person's last name, is ``word`` (for untagged mentions)."""
    folded = word.casefold()
    for entity in entities:
        names = {entity.name.casefold(), *(m.text.casefold() for m in entity.mentions)}
        if entity.type == "PERSON":
            names.add(entity.name.split()[-1].casefold())
        if folded in names:
            return entity
    return None
