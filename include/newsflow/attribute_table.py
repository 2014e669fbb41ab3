"""The model's attribute ruler as a lookup table: the same POS, TAG and DEP for far less CPU.

spaCy's English pipelines derive each token's coarse part of speech (``pos_``) from its
fine-grained tag with an ``attribute_ruler``: about 170 Matcher patterns, nearly all of one
token, on the token's tag, lower-case form, dependency label and whether it is whitespace.
Running the Matcher over every token cost about as much CPU as the parser. A one-token
pattern's outcome depends only on those four values, so this component evaluates the ruler's
own patterns once per distinct combination (the lower-case forms no pattern names folded into
one) and caches it; the few longer patterns are matched on the doc's arrays. As in the ruler,
a later pattern overrides an earlier one.

It sets what the enrichment rules read: POS, TAG and DEP. It leaves out MORPH and LEMMA
(nothing reads them; the lemmatizer is excluded anyway), and with them the patterns that set
only those. ``AttributeTable.from_ruler`` returns None for a ruler with patterns it cannot
reproduce exactly (other attributes or operators, regular expressions), and the ruler is kept.
"""

import logging
from collections.abc import Iterable
from typing import Any, NamedTuple

import numpy as np
from spacy.attrs import DEP, IS_SPACE, LOWER, POS, TAG
from spacy.language import Language
from spacy.parts_of_speech import IDS as POS_IDS
from spacy.pipeline import AttributeRuler
from spacy.tokens import Doc
from spacy.vocab import Vocab

LOGGER = logging.getLogger(__name__)

ATTRIBUTE_TABLE = "newsflow_attribute_table"
# Token attributes a supported pattern may test, and the attributes the table sets.
TESTED = ("LOWER", "TAG", "DEP", "IS_SPACE")
SET = ("POS", "TAG", "DEP")
# Attributes the table leaves unset: nothing in enrichment reads them.
IGNORED = frozenset({"MORPH", "LEMMA"})
# A lower-case form or dependency label that no pattern names (no string hashes to it).
OTHER = -1

Key = tuple[int, int, int, int]
# Per attribute of SET: the order of the last pattern that set it and the value (None, None:
# left as the earlier pipes made it).
Outcome = tuple[tuple[int, int | None], ...]
UNSET: Outcome = ((-1, None), (-1, None), (-1, None))
COLUMNS = {"LOWER": 0, "TAG": 1, "DEP": 2, "IS_SPACE": 3}


class Rule(NamedTuple):
    """One pattern of the ruler: its place in the ruler's order, its tokens, what it sets."""

    order: int
    tokens: list[dict[str, Any]]
    index: int
    attrs: tuple[tuple[int, int], ...]  # (position in SET, value)

    def targets(self, array: np.ndarray) -> list[int]:
        """The tokens this multi-token pattern sets, in a doc's [LOWER, TAG, DEP, IS_SPACE]."""
        length = len(self.tokens)
        starts = len(array) - length + 1
        if starts <= 0:
            return []
        match = np.ones(starts, dtype=bool)
        for offset, token in enumerate(self.tokens):
            match &= _matches_array(token, array[offset : offset + starts])
        index = self.index if self.index >= 0 else length + self.index
        return (np.flatnonzero(match) + index).tolist()


class AttributeTable:
    """A pipeline component: the outcome of a ruler's patterns, looked up per token."""

    def __init__(self, vocab: Vocab, rules: list[Rule]) -> None:
        self.vocab = vocab
        self._single = [rule for rule in rules if len(rule.tokens) == 1]
        self._multi = [rule for rule in rules if len(rule.tokens) > 1]
        self._named_lowers = _named_values(rules, "LOWER")
        self._named_deps = _named_values(rules, "DEP")
        self._outcomes: dict[Key, Outcome] = {}

    @classmethod
    def from_ruler(cls, ruler: AttributeRuler) -> "AttributeTable | None":
        """The table of a ruler's patterns, or None if it cannot reproduce them exactly."""
        strings = ruler.vocab.strings
        rules = []
        for order, entry in enumerate(ruler.patterns):
            attrs = {name: value for name, value in entry["attrs"].items() if name not in IGNORED}
            if not attrs:
                continue  # lemmas or morphology only
            if not set(attrs) <= set(SET):
                return _unsupported(f"sets {sorted(attrs)}")
            values = tuple((SET.index(name), POS_IDS[value] if name == "POS" else
                            strings.add(value)) for name, value in attrs.items())
            for pattern in entry["patterns"]:
                tokens = [_hashed(token, strings) for token in pattern]
                if any(token is None for token in tokens):
                    return _unsupported(f"tests {pattern}")
                rules.append(Rule(order, tokens, entry["index"], values))
        return cls(ruler.vocab, rules)

    def __call__(self, doc: Doc) -> Doc:
        if not len(doc):
            return doc
        array = doc.to_array([LOWER, TAG, DEP, IS_SPACE])
        outcomes = [self._lookup(*row) for row in array.tolist()]
        for rule in self._multi:
            for i in rule.targets(array):
                outcomes[i] = _override(outcomes[i], rule)
        pos = doc.to_array([POS])
        for i, (row, outcome) in enumerate(zip(array.tolist(), outcomes, strict=True)):
            (_, new_pos), (_, new_tag), (_, new_dep) = outcome
            if new_pos is not None:
                pos[i] = new_pos
            if new_tag is not None and new_tag != row[1]:
                doc[i].tag = new_tag
            if new_dep is not None and new_dep != row[2]:
                doc[i].dep = new_dep
        doc.from_array([POS], pos.reshape(-1, 1).astype(np.uint64))
        return doc

    def _lookup(self, lower: int, tag: int, dep: int, space: int) -> Outcome:
        """The outcome of the one-token patterns for a token's values (cached)."""
        key = (lower if lower in self._named_lowers else OTHER, tag,
               dep if dep in self._named_deps or dep == 0 else OTHER, space)
        outcome = self._outcomes.get(key)
        if outcome is None:
            values = (lower, tag, dep, bool(space))
            outcome = UNSET
            for rule in self._single:
                if _matches(rule.tokens[0], values):
                    outcome = _override(outcome, rule)
            self._outcomes[key] = outcome
        return outcome


@Language.factory(ATTRIBUTE_TABLE)
def make_attribute_table(nlp: Language, name: str) -> AttributeTable:
    """The pipeline's ``attribute_ruler`` as a table (see ``AttributeTable``)."""
    table = AttributeTable.from_ruler(nlp.get_pipe("attribute_ruler"))
    if table is None:
        raise ValueError("the attribute_ruler's patterns cannot be made a table")
    return table


def replace_attribute_ruler(nlp: Language) -> bool:
    """Put a table in place of the pipeline's attribute ruler if it reproduces it exactly."""
    if "attribute_ruler" not in nlp.pipe_names:
        return False
    if AttributeTable.from_ruler(nlp.get_pipe("attribute_ruler")) is None:
        return False
    nlp.add_pipe(ATTRIBUTE_TABLE, before="attribute_ruler")
    nlp.remove_pipe("attribute_ruler")
    return True


def _hashed(token: dict[str, Any], strings: Any) -> dict[str, Any] | None:
    """A token pattern with string values hashed; None if it tests anything unsupported."""
    hashed: dict[str, Any] = {}
    for name, value in token.items():
        if name not in TESTED:
            return None
        if name == "IS_SPACE":
            if not isinstance(value, bool):
                return None
            hashed[name] = value
        elif isinstance(value, str):
            hashed[name] = strings.add(value)
        elif isinstance(value, dict) and set(value) <= {"IN", "NOT_IN"} and len(value) == 1:
            [(operator, items)] = value.items()
            hashed[name] = (operator, frozenset(strings.add(item) for item in items))
        else:
            return None
    return hashed


def _matches(token: dict[str, Any], values: tuple[int, int, int, bool]) -> bool:
    """Whether a token's (LOWER, TAG, DEP, IS_SPACE) pass every test of a pattern token."""
    for name, test in token.items():
        value = values[COLUMNS[name]]
        if isinstance(test, tuple):
            operator, items = test
            if (value in items) != (operator == "IN"):
                return False
        elif value != test:
            return False
    return True


def _matches_array(token: dict[str, Any], array: np.ndarray) -> np.ndarray:
    """``_matches`` for every row of a [LOWER, TAG, DEP, IS_SPACE] array."""
    match = np.ones(len(array), dtype=bool)
    for name, test in token.items():
        column = array[:, COLUMNS[name]]
        if isinstance(test, tuple):
            operator, items = test
            inside = np.isin(column, np.array(sorted(items), dtype=np.uint64))
            match &= inside if operator == "IN" else ~inside
        else:
            match &= column == np.uint64(int(test))
    return match


def _override(outcome: Outcome, rule: Rule) -> Outcome:
    """The outcome after a matching rule, unless a later rule already set the attribute."""
    updated = list(outcome)
    for position, value in rule.attrs:
        if updated[position][0] < rule.order:
            updated[position] = (rule.order, value)
    return tuple(updated)


def _named_values(rules: Iterable[Rule], name: str) -> set[int]:
    """The hashes of every value the patterns compare an attribute with."""
    named: set[int] = set()
    for rule in rules:
        for token in rule.tokens:
            test = token.get(name)
            if isinstance(test, tuple):
                named.update(test[1])
            elif test is not None and not isinstance(test, bool):
                named.add(test)
    return named


def _unsupported(why: str) -> None:
    LOGGER.info("keeping the attribute_ruler: one of its patterns %s", why)
    return None
