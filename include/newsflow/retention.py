"""Retention of raw pages: drop the stored content of pages fetched too long ago.

The page rows stay (articles keep their ``page_id``, re-extraction can count what is
gone); only the raw bytes go, and ``content_pruned_at`` says when.
"""

import logging
from typing import Any

LOGGER = logging.getLogger(__name__)


def prune_raw_pages(conn: Any, retention_days: int) -> dict[str, int]:
    """Drop the content of pages fetched more than ``retention_days`` days ago; commits.

    Args:
        conn: an open connection.
        retention_days: days raw pages are kept; 0 or less keeps them forever.

    Returns:
        Pages pruned per source name (empty when nothing was due or retention is off).
    """
    if retention_days <= 0:
        LOGGER.info("raw page retention is off: every page is kept")
        return {}
    with conn.cursor() as cur:
        cur.execute(
            "UPDATE pages SET content = NULL, content_pruned_at = now()"
            " WHERE content IS NOT NULL AND fetched_at < now() - make_interval(days => %s)"
            " RETURNING source_name",
            (retention_days,),
        )
        names = [row[0] for row in cur.fetchall()]
    conn.commit()
    pruned = {name: names.count(name) for name in sorted(set(names))}
    LOGGER.info("pruned the raw content of %d pages fetched over %d days ago: %s",
                len(names), retention_days, pruned or "none due")
    return pruned
