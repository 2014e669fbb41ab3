"""Near-duplicate detection: MinHash signatures of article bodies and their clusters.

A body's signature is the MinHash of its word 5-gram shingles. Articles are compared only
when they share an LSH band (rows of the signature hashed together), and an article joins
the cluster of its most similar earlier article when the estimated Jaccard similarity of
their shingles reaches the threshold; otherwise it starts a cluster of its own.
"""

import hashlib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

LOGGER = logging.getLogger(__name__)

# Changing any of these invalidates stored signatures (re-enrich every article after).
NUM_PERM = 128
SHINGLE_WORDS = 5
SEED = 1
# 42 bands of 3 rows: an article pair at similarity 0.4 shares a band with probability
# 0.94, at 0.5 with 0.996, at 0.1 with 0.04; thresholds from 0.4 up are served well.
ROWS_PER_BAND = 3
BANDS = NUM_PERM // ROWS_PER_BAND
WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Signature:
    """The MinHash of a body and its LSH band keys."""

    hashvalues: list[int]
    bands: list[int]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form staged for loading: the values as hex (PostgreSQL decodes it cheaply)."""
        return {"signature": pack(self.hashvalues).hex(), "bands": self.bands}


def pack(values: Sequence[int] | np.ndarray) -> bytes:
    """MinHash values as stored: little-endian uint32 (datasketch's values fit 32 bits)."""
    return np.asarray(values, dtype="<u4").tobytes()


def unpack(data: bytes) -> np.ndarray:
    """MinHash values from their stored bytes."""
    return np.frombuffer(data, dtype="<u4").astype(np.uint64)


@dataclass(frozen=True)
class Member:
    """An article as clustering sees it: its id, date, signature and current cluster."""

    article_id: int
    published_at: datetime | None
    hashvalues: Sequence[int]
    bands: Sequence[int]
    cluster_id: int | None = None


@dataclass(frozen=True)
class Assignment:
    """The cluster an article joins, the article it matched and their similarity."""

    cluster_id: int
    matched_article_id: int | None
    similarity: float | None


def shingles(text: str) -> set[bytes]:
    """The lower-cased word 5-grams of a text (the whole text when it is shorter)."""
    words = WORD.findall(text.lower())
    if len(words) < SHINGLE_WORDS:
        return {" ".join(words).encode()} if words else set()
    return {
        " ".join(words[i : i + SHINGLE_WORDS]).encode()
        for i in range(len(words) - SHINGLE_WORDS + 1)
    }


def signature(text: str) -> Signature | None:
    """The MinHash signature and band keys of a body; None for a body without words.

    Args:
        text: the article body.

    Returns:
        A ``Signature``, or None when there is nothing to compare.
    """
    from datasketch import MinHash  # here: importing it takes a second, DAG parsing need not

    grams = shingles(text)
    if not grams:
        return None
    minhash = MinHash(num_perm=NUM_PERM, seed=SEED)
    minhash.update_batch(list(grams))
    values = minhash.hashvalues
    return Signature([int(v) for v in values], band_keys(values))


def band_keys(values: Sequence[int] | np.ndarray) -> list[int]:
    """One signed 64-bit key per band, the band's number hashed in so bands never collide."""
    array = np.asarray(values, dtype=np.uint64)
    keys = []
    for band in range(BANDS):
        rows = array[band * ROWS_PER_BAND : (band + 1) * ROWS_PER_BAND]
        digest = hashlib.blake2b(bytes([band]) + rows.tobytes(), digest_size=8).digest()
        keys.append(int.from_bytes(digest, "big", signed=True))
    return keys


def similarity(a: Sequence[int], b: Sequence[int]) -> float:
    """The Jaccard similarity estimated from two signatures: the share of equal values."""
    return float(np.mean(np.asarray(a, dtype=np.uint64) == np.asarray(b, dtype=np.uint64)))


def assign_clusters(
    new: list[Member], existing: list[Member], threshold: float
) -> dict[int, Assignment]:
    """Put each new article in the cluster of its most similar article, or a cluster of its own.

    New articles are taken oldest first, so within one batch the later copies join the
    earlier one's cluster. Ties go to the earliest published match.

    Args:
        new: articles to assign (new or re-enriched).
        existing: stored articles sharing a band with some new one, with their clusters.
        threshold: the least estimated Jaccard similarity of the same story.

    Returns:
        Per new article id, its ``Assignment``; a new cluster's id is the article's own id.
    """
    index = _BandIndex()
    for member in existing:
        index.add(member)
    assignments: dict[int, Assignment] = {}
    for member in sorted(new, key=_age):
        candidates = [c for c in index.candidates(member) if c.article_id != member.article_id]
        assignment = Assignment(member.article_id, None, None)
        if candidates:
            candidates.sort(key=_age)
            scores = _similarities(member.hashvalues, [c.hashvalues for c in candidates])
            best = int(np.argmax(scores))  # the first, i.e. earliest published, of the best
            if scores[best] >= threshold:
                match = candidates[best]
                assignment = Assignment(match.cluster_id or match.article_id, match.article_id,
                                        round(float(scores[best]), 4))
        assignments[member.article_id] = assignment
        index.add(Member(member.article_id, member.published_at, member.hashvalues,
                         member.bands, assignment.cluster_id))
    return assignments


class _BandIndex:
    """Articles by band key, at most ``PER_CLUSTER`` of one cluster under each key.

    The cap keeps a story copied a thousand times from making every new copy compare
    with every old one; a few members stand for the cluster.
    """

    PER_CLUSTER = 4

    def __init__(self) -> None:
        self._members: dict[int, list[Member]] = {}
        self._counts: dict[tuple[int, int | None], int] = {}

    def add(self, member: Member) -> None:
        for key in member.bands:
            slot = (key, member.cluster_id)
            if self._counts.get(slot, 0) < self.PER_CLUSTER:
                self._counts[slot] = self._counts.get(slot, 0) + 1
                self._members.setdefault(key, []).append(member)

    def candidates(self, member: Member) -> list[Member]:
        found = {m.article_id: m for key in member.bands for m in self._members.get(key, ())}
        return list(found.values())


def _similarities(values: Sequence[int], others: list[Sequence[int]]) -> np.ndarray:
    """The estimated Jaccard similarity of one signature with each of several."""
    matrix = np.asarray(others, dtype=np.uint64)
    return (matrix == np.asarray(values, dtype=np.uint64)).mean(axis=1)


def _age(member: Member) -> tuple[bool, datetime | str, int]:
    """Sort key: published articles oldest first, then undated ones, then by id."""
    return (member.published_at is None, member.published_at or "", member.article_id)
