"""The measures ``make eval`` scores with: the article-extraction-benchmark's body metric
(4-token shingles), snippet precision and recall, word F1, and the title, author and date
comparisons against the annotators' ground truth. Pure functions over strings.
"""

import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime

LOGGER = logging.getLogger(__name__)

SHINGLE_SIZE = 4
TOKEN = re.compile(r"\w+")


def shingles(text: str, size: int = SHINGLE_SIZE) -> Counter[str]:
    """The multiset of ``size``-token shingles of ``\\w+`` tokens (one shingle if shorter)."""
    tokens = TOKEN.findall(text or "")
    if not tokens:
        return Counter()
    return Counter(
        " ".join(tokens[i : i + size]) for i in range(max(1, len(tokens) - size + 1))
    )


def body_scores(pairs: Iterable[tuple[str, str]]) -> dict[str, float]:
    """Precision, recall, F1 and accuracy over (predicted, true) body pairs.

    Args:
        pairs: the predicted and the true text of each page.

    Returns:
        ``precision``, ``recall``, ``f1`` and ``accuracy`` as the article-extraction-benchmark
        defines them (means over pages, F1 of the two means), and ``pages``.
    """
    precisions: list[float] = []
    recalls: list[float] = []
    identical = pages = 0
    for predicted, true in pairs:
        pages += 1
        identical += TOKEN.findall(predicted or "") == TOKEN.findall(true or "")
        ours, theirs = shingles(predicted), shingles(true)
        tp = sum((ours & theirs).values())
        fp = sum(ours.values()) - tp
        fn = sum(theirs.values()) - tp
        if fp == fn == 0:
            precisions.append(1.0)
            recalls.append(1.0)
            continue
        if tp + fp:
            precisions.append(tp / (tp + fp))
        if tp + fn:
            recalls.append(tp / (tp + fn))
    precision = sum(precisions) / len(precisions) if precisions else 0.0
    recall = sum(recalls) / len(recalls) if recalls else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    accuracy = identical / pages if pages else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "accuracy": accuracy,
            "pages": pages}


def snippet_scores(outcomes: Iterable[tuple[str, list[str], list[str]]]) -> dict[str, float]:
    """Micro precision, recall and F1 of must-have and must-not-have snippets.

    Args:
        outcomes: per page, the extracted text and its ``with`` and ``without`` snippets.

    Returns:
        ``precision``, ``recall``, ``f1`` and the ``tp``/``fp``/``fn``/``tn`` counts.
    """
    tp = fp = fn = tn = 0
    for text, wanted, unwanted in outcomes:
        normalised = " ".join((text or "").split())
        for snippet in wanted:
            found = bool(normalised) and " ".join(snippet.split()) in normalised
            tp += found
            fn += not found
        for snippet in unwanted:
            found = bool(normalised) and " ".join(snippet.split()) in normalised
            fp += found
            tn += not found
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "fp": fp,
            "fn": fn, "tn": tn}


def same_title(predicted: str | None, true: str | None) -> bool:
    """Titles match exactly, up to runs of whitespace."""
    return " ".join((predicted or "").split()) == " ".join((true or "").split())


def same_authors(predicted: Sequence[str] | None, true: Sequence[str] | None) -> bool:
    """Author lists match exactly (order included), up to runs of whitespace."""
    def norm(names: Sequence[str] | None) -> list[str]:
        return [" ".join(name.split()) for name in names or []]

    return norm(predicted) == norm(true)


def word_f1(predicted: str | None, true: str | None) -> float:
    """The wcxb benchmark's word F1 of one page: bags of lower-case ``\\w+`` words."""
    ours = Counter(TOKEN.findall((predicted or "").lower()))
    theirs = Counter(TOKEN.findall((true or "").lower()))
    overlap = sum((ours & theirs).values())
    if not overlap:
        return 1.0 if not ours and not theirs else 0.0
    precision = overlap / sum(ours.values())
    recall = overlap / sum(theirs.values())
    return 2 * precision * recall / (precision + recall)


def title_key(text: str | None) -> str:
    """A title as wcxb compares it: NFKC, straight quotes, collapsed spaces, case-folded."""
    text = unicodedata.normalize("NFKC", text or "")
    text = text.translate(STRAIGHT_QUOTES)
    return " ".join(text.split()).casefold()


STRAIGHT_QUOTES = str.maketrans({"‘": "'", "’": "'", "‚": "'", "‛": "'", "“": '"', "”": '"',
                                 "„": '"', "‟": '"', "«": '"', "»": '"', "′": "'", "″": '"'})
AUTHOR_FILLERS = frozenset({"by", "and"})


def author_tokens(names: str | Sequence[str] | None) -> set[str]:
    """The set of lower-case ``\\w+`` tokens of author names, without "by" and "and"."""
    if isinstance(names, str):
        names = [names]
    tokens = {token for name in names or [] for token in TOKEN.findall(name.lower())}
    return tokens - AUTHOR_FILLERS


def same_day(predicted: str | None, true: str | None) -> bool:
    """The publication day matches, read in the time zone each date was given in."""
    if not predicted or not true:
        return not predicted and not true
    return predicted.strip()[:10] == true.strip()[:10]


def same_instant(predicted: str | None, true: str | None) -> bool:
    """Date and time of day match (a date without time never does)."""
    if not predicted or not true or len(predicted.strip()) <= 10:
        return False
    try:
        ours = datetime.fromisoformat(predicted.strip())
        theirs = datetime.fromisoformat(true.strip())
    except ValueError:
        return False
    if (ours.tzinfo is None) != (theirs.tzinfo is None):
        ours, theirs = ours.replace(tzinfo=None), theirs.replace(tzinfo=None)
    return ours.replace(microsecond=0) == theirs.replace(microsecond=0)
