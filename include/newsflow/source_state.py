"""What runs remember of their sources in PostgreSQL (migrations 003, 014).

Feed and sitemap copies, host slots, robots.txt, a batch's sources, the inputs each
window took and where drop-folder scans stopped.

Functions take an open DB-API connection (see ``storage``); callers own transactions.
"""

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class SourceDocument:
    """The last good copy of a feed or sitemap, with its validators."""

    etag: str | None
    last_modified: str | None
    content_type: str | None
    body: bytes


def source_document(conn: Any, url: str) -> SourceDocument | None:
    """The stored copy of a feed or sitemap URL, if any."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT etag, last_modified, content_type, body FROM source_documents WHERE url = %s",
            (url,),
        )
        row = cur.fetchone()
    return SourceDocument(row[0], row[1], row[2], bytes(row[3])) if row else None


def save_source_document(conn: Any, url: str, document: SourceDocument) -> None:
    """Store a fresh copy of a feed or sitemap (after a 200)."""
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO source_documents (url, etag, last_modified, content_type, body)"
            " VALUES (%s, %s, %s, %s, %s)"
            " ON CONFLICT (url) DO UPDATE SET etag = EXCLUDED.etag,"
            " last_modified = EXCLUDED.last_modified, content_type = EXCLUDED.content_type,"
            " body = EXCLUDED.body, fetched_at = now(), checked_at = now()",
            (url, document.etag, document.last_modified, document.content_type, document.body),
        )


def touch_source_document(conn: Any, url: str) -> None:
    """Record that a stored copy was confirmed current (a 304)."""
    with conn.cursor() as cur:
        cur.execute("UPDATE source_documents SET checked_at = now() WHERE url = %s", (url,))


def claim_host_slot(conn: Any, host: str, interval: float) -> float:
    """Reserve the next request slot of ``host``; returns seconds until it starts. Commits.

    The slot is the later of now and the host's ``next_at``; ``next_at`` moves on by
    ``interval``. One statement, so concurrent claimers queue on the row lock and each
    gets its own slot; PostgreSQL's clock is the only one used.
    """
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO host_slots AS h (host, next_at)"
            " VALUES (%s, clock_timestamp() + make_interval(secs => %s))"
            " ON CONFLICT (host) DO UPDATE"
            " SET next_at = greatest(h.next_at, clock_timestamp()) + make_interval(secs => %s)"
            " RETURNING extract(epoch FROM"
            "  h.next_at - make_interval(secs => %s) - clock_timestamp())::float8",
            (host, interval, interval, interval),
        )
        wait = cur.fetchone()[0]
    conn.commit()
    return max(0.0, wait)


def robots_file(conn: Any, batch_key: str, robots_url: str) -> tuple | None:
    """(status, body, error) of a robots.txt already fetched in this batch, if any."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT status, body, error FROM robots_files WHERE batch_key = %s AND robots_url = %s",
            (batch_key, robots_url),
        )
        return cur.fetchone()


def save_robots_file(
    conn: Any, batch_key: str, robots_url: str, status: int | None, body: str, error: str | None
) -> tuple:
    """Keep the first robots.txt fetched for this batch; returns the one kept. Commits."""
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO robots_files (batch_key, robots_url, status, body, error)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (batch_key, robots_url, status, body, error),
        )
    conn.commit()
    return robots_file(conn, batch_key, robots_url)


def save_batch_sources(
    conn: Any, batch_key: str, sources: Iterable[Any], window_start: Any, window_end: Any
) -> None:
    """Record the sources (name, kind, location, options) and interval a batch runs with."""
    records = [
        {"source_name": s.name, "kind": s.kind, "location": s.location, "options": s.options}
        for s in sources
    ]
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO batch_sources (batch_key, source_name, kind, location, options,"
            " window_start, window_end)"
            " SELECT %s, r.source_name, r.kind, r.location, coalesce(r.options, '{}'), %s, %s"
            " FROM jsonb_to_recordset(%s::jsonb)"
            "  AS r(source_name text, kind text, location text, options jsonb)"
            " ON CONFLICT (batch_key, source_name) DO UPDATE SET kind = EXCLUDED.kind,"
            " location = EXCLUDED.location, options = EXCLUDED.options,"
            " window_start = EXCLUDED.window_start, window_end = EXCLUDED.window_end",
            (batch_key, window_start, window_end, json.dumps(records, default=str)),
        )


def batch_source_options(conn: Any, batch_key: str) -> dict[str, dict[str, Any]]:
    """The options of each source of a batch, by source name."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT source_name, options FROM batch_sources WHERE batch_key = %s", (batch_key,)
        )
        return {name: options for name, options in cur.fetchall()}


def kept_by_other_windows(
    conn: Any, source_name: str, keys: list[str], window_key: str
) -> set[str]:
    """Of ``keys``, those another window took and keeps (``take_inputs`` leaves them out)."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT t.input_key FROM taken_inputs t"
            " WHERE t.source_name = %s AND t.input_key = ANY(%s) AND t.window_key <> %s"
            " AND NOT (t.input ~ '^https?://' AND EXISTS (SELECT 1 FROM rejects r"
            "  WHERE r.source_name = t.source_name AND r.input = t.input"
            "  AND r.stage = 'fetch' AND r.batch_key = t.batch_key))",
            (source_name, keys, window_key),
        )
        return {row[0] for row in cur.fetchall()}


def take_inputs(
    conn: Any, batch_key: str, source_name: str, inputs: dict[str, str], window_key: str
) -> set[str]:
    """Of ``inputs`` (input key -> input), the keys that belong to this window.

    A new key is recorded for this window. A key first taken by a run of another
    window is left out, so a later interval does not fetch it again, while re-running
    the same interval takes it again; except a URL whose fetch was rejected in that
    run, which moves to this window and is tried again.
    """
    if not inputs:
        return set()
    keys = sorted(inputs)
    records = json.dumps([{"input_key": k, "input": inputs[k]} for k in keys])
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO taken_inputs (source_name, input_key, input, window_key, batch_key)"
            " SELECT %s, r.input_key, r.input, %s, %s"
            " FROM jsonb_to_recordset(%s::jsonb) AS r(input_key text, input text)"
            " ON CONFLICT DO NOTHING",
            (source_name, window_key, batch_key, records),
        )
        cur.execute(
            "UPDATE taken_inputs t SET window_key = %s, batch_key = %s, taken_at = now()"
            " WHERE t.source_name = %s AND t.input_key = ANY(%s) AND t.window_key <> %s"
            " AND t.input ~ '^https?://' AND EXISTS (SELECT 1 FROM rejects r"
            "  WHERE r.source_name = t.source_name AND r.input = t.input"
            "  AND r.stage = 'fetch' AND r.batch_key = t.batch_key)",
            (window_key, batch_key, source_name, keys, window_key),
        )
        cur.execute(
            "SELECT input_key FROM taken_inputs"
            " WHERE source_name = %s AND input_key = ANY(%s) AND window_key = %s",
            (source_name, keys, window_key),
        )
        return {row[0] for row in cur.fetchall()}


def folder_scan_start(conn: Any, source_name: str, window_key: str) -> str:
    """Where this window's scan of a folder starts: where it started before (a re-run),
    else where the source's latest scan stopped (``''``: the first name)."""
    with conn.cursor() as cur:
        cur.execute("SELECT start_after FROM folder_scans"
                    " WHERE source_name = %s AND window_key = %s", (source_name, window_key))
        row = cur.fetchone()
        if row is None:
            cur.execute("SELECT next_after FROM folder_scans WHERE source_name = %s"
                        " ORDER BY scanned_at DESC LIMIT 1", (source_name,))
            row = cur.fetchone()
    return row[0] if row else ""


def record_folder_scan(
    conn: Any, source_name: str, window_key: str, start_after: str, next_after: str
) -> None:
    """Record a window's first scan of a folder; a re-run of the window changes nothing
    (it examined the same names, and the scans after it go on from where it stopped)."""
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO folder_scans (source_name, window_key, start_after, next_after)"
            " VALUES (%s, %s, %s, %s) ON CONFLICT (source_name, window_key) DO NOTHING",
            (source_name, window_key, start_after, next_after),
        )


# A file whose inode changed less than this before a run read it may have changed after
# that read (and the database's and the file server's clocks may differ): read again.
UNCHANGED_MARGIN = timedelta(seconds=60)


def unchanged_files(
    conn: Any, source_name: str, changed: dict[str, datetime]
) -> dict[str, str]:
    """Of the files ``changed`` names (path -> inode change time), the input keys of
    those read since their last change (``record_file_keys``): no need to read them again.

    A key's ``read_at`` is its transaction's start, which discovery begins before it reads
    a file (``folder_scan_start``); the inode change time (``ctime``) moves on any write,
    rename or replacement, and no ``touch`` or ``cp -p`` can set it back.
    """
    if not changed:
        return {}
    with conn.cursor() as cur:
        cur.execute(
            "SELECT path, input_key, read_at FROM drop_file_keys"
            " WHERE source_name = %s AND path = ANY(%s)",
            (source_name, sorted(changed)),
        )
        rows = cur.fetchall()
    return {path: key for path, key, read_at in rows
            if changed[path] < read_at - UNCHANGED_MARGIN}


def record_file_keys(conn: Any, source_name: str, keys: dict[str, str]) -> None:
    """Remember the input key of each file just read (path -> ``sha256:...``, or the path
    itself for a file that could not be read), as of this transaction's start."""
    if not keys:
        return
    records = json.dumps([{"path": path, "input_key": key} for path, key in sorted(keys.items())])
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO drop_file_keys (source_name, path, input_key)"
            " SELECT %s, r.path, r.input_key"
            " FROM jsonb_to_recordset(%s::jsonb) AS r(path text, input_key text)"
            " ON CONFLICT (source_name, path) DO UPDATE"
            " SET input_key = EXCLUDED.input_key, read_at = now()",
            (source_name, records),
        )
