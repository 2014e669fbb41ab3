"""Full-text search over the stored articles: ranked hits with highlighted snippets.

The SQL function ``search_articles`` (migration 006) does the work: ``websearch_to_tsquery``
(quoted phrases, ``or``, ``-word``) in each article's own language configuration, the GIN
index on ``articles.search_vector``, ``ts_rank_cd`` with title matches weighted highest,
and ``ts_headline`` snippets.
"""

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class Hit:
    """One matching article."""

    article_id: int
    rank: float
    source_name: str
    published_at: datetime | None
    title: str | None
    canonical_url: str | None
    language: str | None
    headline: str


def search(
    conn: Any,
    query: str,
    *,
    since: datetime | None = None,
    source: str | None = None,
    limit: int = 20,
    marks: tuple[str, str] = ("«", "»"),
) -> list[Hit]:
    """Articles matching a web-search style query, best first.

    Args:
        conn: an open connection.
        query: e.g. ``kerry "peace talks" -iran``.
        since: only articles published at or after this time.
        source: only this source's articles.
        limit: the most hits returned.
        marks: what goes around each matched word in the headline.

    Returns:
        The hits, highest rank first (ties: newest first).
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    with conn.cursor() as cur:
        cur.execute(
            "SELECT article_id, rank, source_name, published_at, title, canonical_url,"
            " language, headline FROM search_articles(%s, %s, %s, %s, %s, %s)",
            (query, since, source, limit, *marks),
        )
        rows = cur.fetchall()
    return [Hit(*row[:7], _one_line(row[7] or "")) for row in rows]


def _one_line(text: str) -> str:
    """A headline on one line: paragraph breaks and runs of spaces become one space."""
    return re.sub(r"\s+", " ", text).strip()
