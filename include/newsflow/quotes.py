"""Direct quotations of one article, each with its speaker, speech verb and offsets.

Quote marks are paired per paragraph (straight and curly, double and single); a quotation
of one or two words is a scare quote or a title, not a quote. The speaker is the subject of
the speech verb right after the quote (``"…," Kerry told reporters``) or, failing that,
before it in the same sentence (``Lavrov said … that "…"``); a pronoun subject means the
most recent person named outside quotes. A quote split around its attribution
(``"…," he said, "…"``) is one quote.
"""

import logging
import re
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from spacy.attrs import LOWER
from spacy.strings import get_string_id
from spacy.tokens import Doc, Token

from newsflow.entities import Entity, entity_at, entity_named

LOGGER = logging.getLogger(__name__)

MIN_QUOTE_WORDS = 3
# How far after a quote its attribution may start, in tokens ("," said the foreign minister).
TAIL_TOKENS = 10
SPEAKER_TYPES = frozenset({"PERSON", "ORG", "GPE"})
PERSON_PRONOUNS = frozenset({"he", "she"})

_REGULAR = [
    "add", "admit", "announce", "answer", "argue", "ask", "assert", "boast", "claim", "comment",
    "complain", "conclude", "confirm", "continue", "declare", "deny", "describe", "emphasise",
    "emphasize", "explain", "insist", "joke", "note", "observe", "post", "predict", "promise",
    "recall", "remark", "repeat", "reply", "respond", "say", "stress", "suggest", "tweet",
    "underline", "underscore", "urge", "vow", "warn", "write", "call", "acknowledge", "state",
    "caution", "concede"
]
_IRREGULAR = [
    "said", "says", "saying", "told", "tells", "telling", "wrote", "writing", "written", "according"
]


def _forms(verb: str) -> set[str]:
    """The inflected forms of a regular verb (enough for speech verbs)."""
    if verb.endswith("e"):
        return {verb, verb + "s", verb + "d", verb[:-1] + "ing"}
    if verb.endswith("y") and verb not in ("say",):
        return {verb, verb[:-1] + "ies", verb[:-1] + "ied", verb + "ing"}
    if verb.endswith("ss"):
        return {verb, verb + "es", verb + "ed", verb + "ing"}
    stem = verb + "t" if verb == "admit" else verb
    return {verb, verb + "s", stem + "ed", stem + "ing"}


SPEECH_VERBS = frozenset(set(_IRREGULAR).union(*(_forms(v) for v in _REGULAR)))
SPEECH_VERB_IDS = np.array(sorted(get_string_id(verb) for verb in SPEECH_VERBS), dtype=np.uint64)
DOUBLE_OPEN = "“«"
DOUBLE_CLOSE = "”»"
SINGLE_QUOTE = re.compile(r"(?<![\w'’])['‘](?=[^\s'’])(.+?)(?<=\S)['’](?!\w)")
SENTENCE_END = re.compile(r"[.!?](?=\s|$)")
STATEMENT = re.compile(r"\bstatement\s+(?:from|by|issued by)\s+(?:the\s+)?", re.IGNORECASE)
WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class QuoteSpan:
    """The quoted text of one pair of quote marks, and the marks' positions."""

    start: int
    end: int
    open_mark: int
    close_mark: int
    paragraph: int


@dataclass(frozen=True)
class Quote:
    """A direct quotation with its speaker (an entity of the article when resolved)."""

    text: str
    start: int
    end: int
    speaker: str | None = None
    speaker_type: str | None = None
    speaker_text: str | None = None
    verb: str | None = None
    paragraph: int = 0
    verb_at: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form printed by ``newsflow extract`` and staged for loading."""
        return {
            "text": self.text,
            "speaker": self.speaker,
            "speaker_type": self.speaker_type,
            "speaker_text": self.speaker_text,
            "verb": self.verb,
            "start": self.start,
            "end": self.end,
        }


def find_quote_spans(text: str) -> list[QuoteSpan]:
    """The quotations of a text, paragraph by paragraph, without scare quotes.

    Args:
        text: the article body (paragraphs separated by newlines).

    Returns:
        The spans of quoted text of at least ``MIN_QUOTE_WORDS`` words, in order.
    """
    spans: list[QuoteSpan] = []
    for number, paragraph in enumerate(re.finditer(r"[^\n]+", text)):
        doubles = _double_quotes(paragraph.group(), paragraph.start(), number)
        singles = [
            QuoteSpan(paragraph.start() + m.start(1), paragraph.start() + m.end(1),
                      paragraph.start() + m.start(), paragraph.start() + m.end() - 1, number)
            for m in SINGLE_QUOTE.finditer(paragraph.group())
        ]
        singles = [s for s in singles if not any(_inside(s.open_mark, d) for d in doubles)]
        spans.extend(doubles + singles)
    trimmed = (_trim(text, span) for span in sorted(spans, key=lambda s: s.start))
    return [s for s in trimmed if len(WORD.findall(text[s.start : s.end])) >= MIN_QUOTE_WORDS]


def _double_quotes(paragraph: str, offset: int, number: int) -> list[QuoteSpan]:
    """Pairs of double quote marks in a paragraph; an unclosed quote runs to its end."""
    spans = []
    opened: int | None = None
    for i, char in enumerate(paragraph):
        if opened is None and (char in DOUBLE_OPEN or char == '"'):
            opened = i
        elif opened is not None and (char in DOUBLE_CLOSE or char == '"'):
            spans.append(QuoteSpan(offset + opened + 1, offset + i, offset + opened, offset + i,
                                   number))
            opened = None
    if opened is not None:
        end = offset + len(paragraph)
        spans.append(QuoteSpan(offset + opened + 1, end, offset + opened, end, number))
    return spans


def _inside(position: int, span: QuoteSpan) -> bool:
    """Whether a position lies between a span's quote marks."""
    return span.open_mark < position < span.close_mark


def _trim(text: str, span: QuoteSpan) -> QuoteSpan:
    """The span without surrounding spaces and a trailing comma."""
    start, end = span.start, span.end
    while start < end and text[start].isspace():
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] == ","):
        end -= 1
    return replace(span, start=start, end=end)


def find_quotes(doc: Doc, entities: list[Entity], text: str | None = None) -> list[Quote]:
    """The attributed quotations of a parsed article body.

    Args:
        doc: the body parsed by spaCy.
        entities: the article's entities (``entities.find_entities``).
        text: the body as written when spaCy was given a variant of the same length
            (apostrophes straightened); quotes are found and copied from it.

    Returns:
        One ``Quote`` per quotation, split quotes joined, in order.
    """
    if text is None:
        text = doc.text  # rebuilt from every token on each access: only when not given
    elif len(text) != _parsed_length(doc):
        raise ValueError("text and parsed text differ in length")
    spans = find_quote_spans(text)
    verbs = _speech_verbs(doc, spans)
    quotes: list[Quote] = []
    for index, span in enumerate(spans):
        quote = _attribute(doc, text, span, spans, verbs, entities)
        if quote.speaker_text is None:
            quote = _statement_source(text, span, entities, quote) or quote
        if quote.speaker_text is None and quotes:
            quote = _continued(text, span, quotes[-1], quote)
        if quotes and _is_split(text, spans[index - 1], span, quotes[-1]):
            quotes[-1] = _join(quotes[-1], quote)
        else:
            quotes.append(quote)
    return quotes


def _parsed_length(doc: Doc) -> int:
    """The length of the text spaCy parsed, without building it."""
    return doc[-1].idx + len(doc[-1].text_with_ws) if len(doc) else 0


def _attribute(
    doc: Doc,
    text: str,
    span: QuoteSpan,
    spans: list[QuoteSpan],
    verbs: list[Token],
    entities: list[Entity],
) -> Quote:
    """The quote with the speaker of the nearest speech verb after it, else before it."""
    quote = Quote(text[span.start : span.end], span.start, span.end, paragraph=span.paragraph)
    verb = _tail_verb(doc, text, span, spans, verbs) or _head_verb(text, span, spans, verbs)
    if verb is None:
        return quote
    subject = _subject(verb)
    if subject is None or any(_inside(subject.idx, s) for s in spans):
        return replace(quote, verb=verb.lower_, verb_at=verb.idx)
    speaker_text = _phrase(subject, text)
    entity = _speaker_entity(subject, entities, spans)
    return replace(
        quote, verb=verb.lower_, verb_at=verb.idx, speaker_text=speaker_text,
        speaker=entity.name if entity else None, speaker_type=entity.type if entity else None,
    )


def _paragraph_bounds(text: str, position: int) -> tuple[int, int]:
    """The start and end of the paragraph holding ``position``."""
    start = text.rfind("\n", 0, position) + 1
    end = text.find("\n", position)
    return start, len(text) if end < 0 else end


def _outside(position: int, spans: list[QuoteSpan]) -> bool:
    """Whether a position is outside every quotation (marks included)."""
    return not any(s.open_mark <= position <= s.close_mark for s in spans)


def _speech_verbs(doc: Doc, spans: list[QuoteSpan]) -> list[Token]:
    """The speech verbs of a text outside its quotations."""
    candidates = np.flatnonzero(np.isin(doc.to_array(LOWER), SPEECH_VERB_IDS)).tolist()
    tokens = (doc[i] for i in candidates)  # Token objects only for the words in the list
    return [
        t for t in tokens
        if (t.tag_.startswith("VB") or t.lower_ == "according") and _outside(t.idx, spans)
    ]


def _tail_verb(
    doc: Doc, text: str, span: QuoteSpan, spans: list[QuoteSpan], verbs: list[Token]
) -> Token | None:
    """A speech verb just after the quote, within its sentence."""
    _, paragraph_end = _paragraph_bounds(text, span.close_mark)
    after = [s.open_mark for s in spans if s.open_mark > span.close_mark]
    end = min([paragraph_end, *after])
    if text[span.close_mark + 1 : end].rstrip().endswith(":"):
        return None  # "… and added:" introduces the next quote
    sentence_end = SENTENCE_END.search(text, span.close_mark + 1, end)
    end = sentence_end.end() if sentence_end else end
    candidates = [v for v in verbs if span.close_mark < v.idx < end]
    if not candidates:
        return None
    first = candidates[0].i
    while first > 0 and doc[first - 1].idx > span.close_mark:
        first -= 1
    near = [t.i for t in doc[first : first + 2 * TAIL_TOKENS] if not t.is_space][:TAIL_TOKENS]
    return next((v for v in candidates if v.i in near), None)


def _head_verb(
    text: str, span: QuoteSpan, spans: list[QuoteSpan], verbs: list[Token]
) -> Token | None:
    """The last speech verb before the quote in the same sentence."""
    start, _ = _paragraph_bounds(text, span.open_mark)
    for match in SENTENCE_END.finditer(text, start, span.open_mark):
        if _outside(match.start(), spans):
            start = match.end()
    candidates = [v for v in verbs if start <= v.idx < span.open_mark]
    return candidates[-1] if candidates else None


def _subject(verb: Token) -> Token | None:
    """The subject of a speech verb, climbing coordinated and subordinate verbs."""
    if verb.lower_ == "according":
        for child in verb.children:
            objects = [c for c in child.children if c.dep_ == "pobj"]
            if objects:
                return objects[0]
        return None
    token = verb
    for _ in range(4):
        subjects = [c for c in token.children if c.dep_ in ("nsubj", "nsubjpass")]
        if subjects:
            return subjects[0]
        if token.dep_ not in ("conj", "advcl", "xcomp") or token.head is token:
            return None
        token = token.head
    return None


def _phrase(subject: Token, text: str) -> str:
    """The subject's phrase as written, cut at the first comma or dash after its head."""
    tokens = [t for t in subject.subtree if not t.is_space]
    kept = []
    for token in tokens:
        if token.i > subject.i and (token.text in (",", "—", "–", "(") or token.is_quote):
            break
        kept.append(token)
    while kept and (kept[0].is_punct or kept[0].is_quote):
        kept = kept[1:]
    if not kept:
        return subject.text
    return text[kept[0].idx : kept[-1].idx + len(kept[-1].text)]


def _speaker_entity(
    subject: Token, entities: list[Entity], spans: list[QuoteSpan]
) -> Entity | None:
    """The article entity a subject names or, for he/she, the most recent person named."""
    if subject.lower_ in PERSON_PRONOUNS:
        return _recent_person(entities, subject.idx, spans)
    for token in (subject, *(c for c in subject.children if c.dep_ == "appos")):
        entity = entity_at(entities, token.idx, token.idx + len(token.text))
        if entity is not None and entity.type in SPEAKER_TYPES:
            return entity
    if subject.pos_ == "PROPN":
        entity = entity_named(entities, subject.text)
        if entity is not None and entity.type in SPEAKER_TYPES:
            return entity
    return None


def _recent_person(entities: list[Entity], before: int, spans: list[QuoteSpan]) -> Entity | None:
    """The person whose last non-possessive mention outside quotes comes last before ``before``."""
    best: tuple[int, Entity] | None = None
    for entity in entities:
        if entity.type != "PERSON":
            continue
        for mention in entity.mentions:
            if (
                mention.end <= before and not mention.possessive
                and _outside(mention.start, spans)
                and (best is None or mention.start > best[0])
            ):
                best = (mention.start, entity)
    return best[1] if best else None


def _statement_source(
    text: str, span: QuoteSpan, entities: list[Entity], quote: Quote
) -> Quote | None:
    """For an unattributed quote: the organisation of "a statement from X" just before it."""
    paragraph_start, _ = _paragraph_bounds(text, span.open_mark)
    previous_start, _ = _paragraph_bounds(text, max(paragraph_start - 2, 0))
    for match in STATEMENT.finditer(text, previous_start, span.open_mark):
        entity = entity_at(entities, match.end(), match.end() + 1)
        if entity is not None and entity.type in SPEAKER_TYPES:
            mention = next(m for m in entity.mentions if m.start <= match.end() < m.end)
            return replace(quote, speaker=entity.name, speaker_type=entity.type,
                           speaker_text=text[mention.start : mention.end], verb="statement")
    return None


def _continued(text: str, span: QuoteSpan, previous: Quote, quote: Quote) -> Quote:
    """A paragraph that opens with a quote continues the previous paragraph's speaker."""
    paragraph_start, _ = _paragraph_bounds(text, span.open_mark)
    if (
        span.open_mark == paragraph_start
        and previous.paragraph == span.paragraph - 1
        and previous.speaker_text is not None
    ):
        return replace(quote, speaker=previous.speaker, speaker_type=previous.speaker_type,
                       speaker_text=previous.speaker_text, verb=previous.verb)
    return quote


def _is_split(text: str, first: QuoteSpan, second: QuoteSpan, quote: Quote) -> bool:
    """Whether ``second`` continues ``first`` after an attribution: ``"…," he said, "…"``."""
    if first.paragraph != second.paragraph or quote.verb_at is None:
        return False
    gap = text[first.close_mark + 1 : second.open_mark]
    ends_with_comma = text[first.start : first.close_mark].rstrip().endswith(",") or (
        gap.lstrip().startswith(",")
    )
    return (
        ends_with_comma
        and first.close_mark < quote.verb_at < second.open_mark
        and len(WORD.findall(gap)) <= 10
        and gap.rstrip()[-1:] in (",", ".")
    )


def _join(first: Quote, second: Quote) -> Quote:
    """One quote from the two parts of a split quote; a new sentence gets its full stop back."""
    separator = " "
    if second.text[:1].isupper() and first.text[-1:] not in (".", "!", "?"):
        separator = ". "
    return replace(first, text=f"{first.text}{separator}{second.text}", end=second.end)
