"""Numeric facts of one article: counts, percentages, money and quantities, with what they count.

spaCy tags the numbers (CARDINAL, PERCENT, MONEY, QUANTITY); this module reads their value
("1,429" -> 1429, "two million" -> 2000000, "hundreds" -> 200 as an approximate lower
bound), their unit, the object counted ("people") and, when the sentence says it, the event
("killing").
"""

import logging
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from spacy.tokens import Doc, Span, Token

LOGGER = logging.getLogger(__name__)

KINDS = {"CARDINAL": "count", "PERCENT": "percent", "MONEY": "money", "QUANTITY": "quantity"}

SMALL = {
    word: n for n, word in enumerate(
        [
            "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
            "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
            "eighteen", "nineteen"
        ]
    )
}
TENS = {w: 10 * n for n, w in enumerate([
    "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"
], start=2)}
SCALES = {
    "hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000,
    "trillion": 1_000_000_000_000, "crore": 10_000_000, "lakh": 100_000,
}
# Abbreviated scales written against the digits: 5k, 1.2m, $3bn.
SCALE_SUFFIX = re.compile(r"(?<=\d)(k|m|mn|bn|b|tn)\b")
SUFFIX_WORDS = {"k": "thousand", "m": "million", "mn": "million", "b": "billion",
                "bn": "billion", "tn": "trillion"}
# Plural scale words name a vague amount, at least two of the scale: "hundreds" is 200+.
VAGUE = {"dozens": 12, "scores": 20, "tens": 10, "hundreds": 100, "thousands": 1_000,
         "millions": 1_000_000, "billions": 1_000_000_000}
QUALIFIERS = (
    "about", "around", "approximately", "roughly", "nearly", "almost", "some", "over", "more than",
    "less than", "fewer than", "at least", "at most", "up to", "as many as", "an estimated",
    "estimated", "close to", "just over", "just under", "under", "upwards of", "several",
    "a few",
)
CURRENCY_SYMBOLS = {
    "US$": "USD", "A$": "AUD", "C$": "CAD", "HK$": "HKD", "NZ$": "NZD", "S$": "SGD", "$": "USD",
    "£": "GBP", "€": "EUR", "¥": "JPY", "₹": "INR", "₽": "RUB", "₩": "KRW", "Rs": "INR",
}
CURRENCY_WORDS = {
    "dollar": "USD", "euro": "EUR", "pound": "GBP", "sterling": "GBP", "yen": "JPY",
    "yuan": "CNY", "renminbi": "CNY", "rupee": "INR", "rouble": "RUB", "ruble": "RUB",
    "franc": "CHF", "peso": "MXN", "real": "BRL", "rand": "ZAR", "lira": "TRY", "won": "KRW",
}
# Verbs too general to be the event a number belongs to.
LIGHT_VERBS = frozenset(
    [
        "be", "is", "are", "was", "were", "been", "being", "have", "has", "had", "having", "do",
        "does", "did", "get", "got", "gets", "make", "made", "take", "took", "include", "includes",
        "included", "including", "say", "says", "said", "see", "saw"
    ]
)
NUMBER = re.compile(r"\d+(?:[,\u00a0]\d{3})*(?:\.\d+)?|\.\d+")
YEAR_LIKE = re.compile(r"^(1[89]|20)\d\d$")


@dataclass(frozen=True)
class NumericFact:
    """A number in the text with its value, unit, counted object and event."""

    text: str
    start: int
    end: int
    kind: str
    value: float | None
    unit: str | None = None
    approximate: bool = False
    object: str | None = None
    event: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form printed by ``newsflow extract`` and staged for loading."""
        value = self.value
        if value is not None and float(value).is_integer():
            value = int(value)
        return {
            "text": self.text, "value": value, "kind": self.kind, "unit": self.unit,
            "approximate": self.approximate, "object": self.object, "event": self.event,
            "start": self.start, "end": self.end,
        }


def find_numbers(doc: Doc, skip: list[tuple[int, int]] | None = None) -> list[NumericFact]:
    """The numeric facts of a parsed article body.

    Args:
        doc: the body parsed by spaCy (NER and parser).
        skip: character ranges already taken (mentioned dates), whose numbers are not facts.

    Returns:
        One ``NumericFact`` per number with a readable value, in order.
    """
    facts = []
    for span in doc.ents:
        if span.label_ not in KINDS:
            continue
        if any(span.start_char < end and start < span.end_char for start, end in skip or ()):
            continue
        fact = read_number(span)
        if fact is not None:
            facts.append(fact)
    return facts


def read_number(span: Span) -> NumericFact | None:
    """The fact of one number entity; None for years and numbers without a value."""
    kind = KINDS[span.label_]
    span = _with_currency(span)
    if span.label_ == "MONEY":
        kind = "money"
    text = span.text.strip()
    if kind == "count" and YEAR_LIKE.match(text):
        return None
    value, approximate = parse_value(text, suffixes=kind != "quantity")
    if value is None:
        return None
    unit = _unit(kind, text)
    counted = _counted(span) if kind in ("count", "quantity") else None
    return NumericFact(
        text, span.start_char, span.start_char + len(text), kind, value, unit, approximate,
        object=_noun_phrase(counted) if counted is not None else None,
        event=_event(span, counted),
    )


def _with_currency(span: Span) -> Span:
    """The span with the currency symbol, scale or currency word the model left out of it."""
    doc = span.doc
    start, end, label = span.start, span.end, span.label_
    if label not in ("CARDINAL", "MONEY"):
        return span
    if start > 0 and doc[start - 1].text in CURRENCY_SYMBOLS:
        start, label = start - 1, "MONEY"
    if label == "MONEY" and end < len(doc) and doc[end].lower_ in SCALES:
        end += 1  # "Rs 24 lakh", where the model stops before the scale
    if end < len(doc) and doc[end].lower_.rstrip("s") in CURRENCY_WORDS and not any(
        t.text in CURRENCY_SYMBOLS for t in doc[start:end]
    ):
        end, label = end + 1, "MONEY"
    if (start, end, label) == (span.start, span.end, span.label_):
        return span
    return Span(doc, start, end, label=label)


def parse_value(text: str, *, suffixes: bool = True) -> tuple[float | None, bool]:
    """The value of a number as written, and whether the text makes it approximate.

    "1,429" -> 1429; "2.5 million" -> 2500000; "two million" -> 2000000; "$3bn" -> 3e9;
    "hundreds" -> 200 (approximate); "a dozen" -> 12. With ``suffixes`` off (quantities),
    "5m" is five of a unit, not five million.
    """
    lowered = text.lower().replace("\u00a0", " ")
    if suffixes:
        lowered = SCALE_SUFFIX.sub(lambda m: " " + SUFFIX_WORDS[m.group(1)], lowered)
    approximate = any(re.search(rf"\b{q}\b", lowered) for q in QUALIFIERS)
    words = re.findall(r"\d+(?:,\d{3})*(?:\.\d+)?|\.\d+|[a-z]+", lowered)
    total = Decimal(0)
    current: Decimal | None = None
    for word in words:
        number = _word_value(word)
        if number is not None:
            current = (current or 0) + number
        elif word in SCALES and (current is not None or word == "hundred"):
            current = (current or Decimal(1)) * SCALES[word]
            if SCALES[word] >= 1000:
                total, current = total + current, None
        elif word in VAGUE:
            current = current * VAGUE[word] if current is not None else Decimal(2 * VAGUE[word])
            approximate = True
        elif word == "dozen":
            current = (current or Decimal(1)) * 12
        elif word == "half" and current is None:
            current = Decimal("0.5")
    if current is not None:
        total += current
    if current is None and total == 0 and not any(_word_value(w) == 0 for w in words):
        return None, approximate
    return float(total), approximate


def _word_value(word: str) -> Decimal | None:
    """The value of a digit string or a number word below a hundred."""
    if word[0].isdigit() or word[0] == ".":
        try:
            return Decimal(word.replace(",", ""))
        except InvalidOperation:
            return None
    if word in SMALL:
        return Decimal(SMALL[word])
    if word in TENS:
        return Decimal(TENS[word])
    return None


def _unit(kind: str, text: str) -> str | None:
    """The unit of a percentage, amount of money or quantity."""
    lowered = text.lower()
    if kind == "percent":
        return "percentage points" if "point" in lowered else "%"
    if kind == "money":
        for symbol, code in CURRENCY_SYMBOLS.items():
            if symbol in text:
                return code
        for word, code in CURRENCY_WORDS.items():
            if re.search(rf"\b{word}s?\b", lowered):
                return code
        return None
    if kind == "quantity":
        rest = NUMBER.sub(" ", lowered)
        words = [w for w in re.findall(r"[a-z]+\.?", rest) if w not in SCALES and w not in SMALL
                 and w not in TENS and w not in QUALIFIERS and w not in SUFFIX_WORDS]
        return words[-1] if words else None
    return None


def _counted(span: Span) -> Token | None:
    """The noun a count counts: its head ("1,429 people") or its of-object ("hundreds of X")."""
    root = span.root
    if root.dep_ == "nummod" and root.head.pos_ in ("NOUN", "PROPN") and root.head not in span:
        return root.head
    for child in root.children:
        if child.lower_ == "of":
            objects = [c for c in child.children if c.dep_ == "pobj" and c.pos_ in ("NOUN",)]
            if objects:
                return objects[0]
    if root.pos_ == "NOUN" and root.ent_type_ in ("QUANTITY", "CARDINAL") and root not in span:
        return root
    return None


def _noun_phrase(noun: Token) -> str:
    """A counted noun with its compound modifiers, as written ("weapons inspectors")."""
    compounds = [c for c in noun.lefts if c.dep_ == "compound" and c.i == noun.i - 1]
    words = [*(c.text for c in compounds), noun.text]
    text = " ".join(words)
    return text if noun.pos_ == "PROPN" else text.lower()


def _event(span: Span, counted: Token | None) -> str | None:
    """The verb whose object or subject is the counted thing ("killing 1,429 people")."""
    anchor = counted if counted is not None else span.root
    if anchor.dep_ not in ("dobj", "nsubjpass", "nsubj", "attr", "obj"):
        return None
    verb = anchor.head
    if verb.pos_ != "VERB" or verb.lower_ in LIGHT_VERBS:
        return None
    return verb.lower_
