"""Retention: drop the stored content of pages fetched too long ago, and forget the
remembered keys of drop-folder files that are gone.

The page rows stay (articles keep their ``page_id``, re-extraction can count what is
gone); only the raw bytes go, and ``content_pruned_at`` says when.
"""

import json
import logging
import os
from collections import Counter
from pathlib import Path
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


# Rows examined per query: memory stays bounded however many files were ever read.
_KEYS_PER_QUERY = 10_000


def prune_drop_file_keys(conn: Any, drop_root: Path) -> dict[str, int]:
    """Forget the remembered keys of drop-folder files that are gone; commits.

    ``drop_file_keys`` holds a row per file a run read (``source_state.record_file_keys``);
    nothing else removes the row of a file deleted from its folder. A row whose path is no
    longer there, or lies outside ``drop_root`` (where no source may list it), is deleted,
    unless a run read the file again meanwhile. Only metadata is looked at (``lstat``);
    keys are forgotten only while ``drop_root`` is a folder here, so a worker that does
    not see the drop folders forgets nothing. Forgetting costs at most one more read of a
    file that comes back.

    Args:
        conn: an open connection.
        drop_root: the folder every drop folder lies under (``settings.drop_root()``).

    Returns:
        Keys forgotten per source name (empty when none was due or the root is not here).
    """
    if not drop_root.is_dir():
        LOGGER.warning("drop root %s is not a folder here: no drop-file key forgotten",
                       drop_root)
        return {}
    root = os.path.realpath(drop_root)
    forgotten: Counter[str] = Counter()
    after = ("", "")
    while True:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT source_name, path, read_at FROM drop_file_keys"
                " WHERE (source_name, path) > (%s, %s) ORDER BY source_name, path LIMIT %s",
                (*after, _KEYS_PER_QUERY),
            )
            batch = cur.fetchall()
        gone = [{"source_name": s, "path": p, "read_at": r.isoformat()}
                for s, p, r in batch if not _present_under(root, p)]
        if gone:
            with conn.cursor() as cur:
                # As seen: a row a run wrote again since (the file is back) stays.
                cur.execute(
                    "DELETE FROM drop_file_keys k USING jsonb_to_recordset(%s::jsonb)"
                    "  AS g(source_name text, path text, read_at timestamptz)"
                    " WHERE k.source_name = g.source_name AND k.path = g.path"
                    "  AND k.read_at = g.read_at RETURNING k.source_name",
                    (json.dumps(gone),),
                )
                forgotten.update(row[0] for row in cur.fetchall())
        conn.commit()
        if len(batch) < _KEYS_PER_QUERY:
            break
        after = batch[-1][:2]
    counts = dict(sorted(forgotten.items()))
    LOGGER.info("forgot the keys of %d drop-folder files no longer there: %s",
                forgotten.total(), counts or "none")
    return counts


def _present_under(root: str, path: str) -> bool:
    """Whether ``path`` lies under ``root`` and something is there (links not followed)."""
    if os.path.commonpath([root, os.path.abspath(path)]) != root:
        return False
    try:
        os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError:
        return True  # unreadable or a component not a folder now: decided another day
    return True
