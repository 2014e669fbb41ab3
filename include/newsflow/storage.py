"""PostgreSQL storage: migrations, the per-run staging table, pages, rejects and article upserts.

Functions take an open DB-API connection and use only what psycopg2 and psycopg 3 share
(``%s`` parameters, ``::jsonb`` casts of JSON text), so the same code runs on the
connection Airflow's PostgresHook hands out and on a plain psycopg2 one. Callers own
transactions except where a function documents that it commits.
"""

import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from typing import Any

import psycopg2

from newsflow.fetching import FetchedPage
from newsflow.sources import Discovery

LOGGER = logging.getLogger(__name__)

# Serialises migrations when several workers start at once.
MIGRATION_LOCK_ID = 0x6E657773

# Article columns filled from a batch item's extracted fields, with their SQL types.
ARTICLE_FIELDS = {
    "article_key": "text", "canonical_url": "text", "url": "text", "title": "text",
    "subtitle": "text", "authors": "text[]", "published_at": "timestamptz",
    "site_name": "text", "source": "text", "language": "text", "dateline": "text",
    "headings": "text[]", "body": "text", "word_count": "integer", "entities": "jsonb",
    "quotes": "jsonb", "numbers": "jsonb", "dates": "jsonb",
}


@dataclass(frozen=True)
class BatchItem:
    """One discovered input of a batch, with whatever earlier stages stored for it."""

    batch_key: str
    input: str
    source_name: str
    hints: dict[str, Any]
    page_id: int | None
    cleaned: dict[str, Any] | None
    fields: dict[str, Any] | None


@dataclass(frozen=True)
class StoredPage:
    """A page as stored: its key, where it was fetched from, and (if loaded) its content."""

    page_key: str
    final_url: str | None
    content_type: str | None
    content: bytes | None


def connect(dsn: str) -> Any:
    """Open a psycopg2 connection to ``dsn`` (a libpq URI or key=value string)."""
    return psycopg2.connect(dsn)


def migration_files() -> list[tuple[str, str]]:
    """The bundled migrations as (version, sql), in order."""
    folder = resources.files("newsflow") / "sql"
    files = sorted(f for f in folder.iterdir() if f.name.endswith(".sql"))
    return [(f.name.removesuffix(".sql"), f.read_text(encoding="utf-8")) for f in files]


def apply_migrations(conn: Any) -> list[str]:
    """Apply the migrations not yet recorded in ``schema_migrations``; commits.

    Args:
        conn: an open connection.

    Returns:
        The versions applied by this call (empty when the schema was current).
    """
    applied: list[str] = []
    with conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_ID,))
        cur.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        cur.execute("SELECT version FROM schema_migrations")
        done = {row[0] for row in cur.fetchall()}
        for version, sql in migration_files():
            if version in done:
                continue
            LOGGER.info("applying migration %s", version)
            cur.execute(sql)
            cur.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (version,))
            applied.append(version)
    conn.commit()
    return applied


def stage_discoveries(conn: Any, batch_key: str, discoveries: Iterable[Discovery]) -> int:
    """Record discovered inputs for a batch in one statement; staged inputs keep their progress."""
    records = [
        {"input": d.input, "source_name": d.source_name, "hints": d.hints} for d in discoveries
    ]
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO batch_items (batch_key, input, source_name, hints)"
            " SELECT %s, r.input, r.source_name, coalesce(r.hints, '{}')"
            " FROM jsonb_to_recordset(%s::jsonb) AS r(input text, source_name text, hints jsonb)"
            " ON CONFLICT (batch_key, input) DO NOTHING",
            (batch_key, json.dumps(records)),
        )
    return len(records)


def items_at_stage(conn: Any, batch_key: str, stage: str) -> list[BatchItem]:
    """The items of a batch that reached ``stage`` and went no further."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT batch_key, input, source_name, hints, page_id, cleaned, fields"
            " FROM batch_items WHERE batch_key = %s AND stage = %s ORDER BY input",
            (batch_key, stage),
        )
        return [BatchItem(*row) for row in cur.fetchall()]


def stored_pages(
    conn: Any, page_ids: list[int], *, with_content: bool = False
) -> dict[int, StoredPage]:
    """Stored pages by page id; their raw content only when asked for."""
    content = "content" if with_content else "NULL"
    with conn.cursor() as cur:
        cur.execute(
            f"SELECT page_id, page_key, final_url, content_type, {content} FROM pages"
            " WHERE page_id = ANY(%s)",
            (page_ids,),
        )
        return {
            row[0]: StoredPage(row[1], row[2], row[3], None if row[4] is None else bytes(row[4]))
            for row in cur.fetchall()
        }


def save_page(conn: Any, batch_key: str, page: FetchedPage) -> int:
    """Upsert a fetched page by its key, mark its batch item fetched; returns the page id."""
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO pages (page_key, source_name, input, final_url, http_status,"
            " content_type, content, content_sha256)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (page_key) DO UPDATE SET source_name = EXCLUDED.source_name,"
            " input = EXCLUDED.input, final_url = EXCLUDED.final_url,"
            " http_status = EXCLUDED.http_status, content_type = EXCLUDED.content_type,"
            " content = EXCLUDED.content, content_sha256 = EXCLUDED.content_sha256,"
            " fetched_at = now()"
            " RETURNING page_id",
            (
                page.page_key, page.source_name, page.input, page.final_url, page.http_status,
                page.content_type, page.content, page.content_sha256,
            ),
        )
        page_id = cur.fetchone()[0]
        cur.execute(
            "UPDATE batch_items SET page_id = %s, stage = 'fetched', updated_at = now()"
            " WHERE batch_key = %s AND input = %s",
            (page_id, batch_key, page.input),
        )
    return page_id


def save_stage_results(
    conn: Any, batch_key: str, stage: str, column: str, results: dict[str, dict[str, Any]]
) -> None:
    """Store a JSON result per input in ``column`` and move those items to ``stage``."""
    if column not in ("cleaned", "fields"):
        raise ValueError(f"not a result column: {column}")
    records = [{"input": key, "result": value} for key, value in results.items()]
    with conn.cursor() as cur:
        cur.execute(
            f"UPDATE batch_items b SET {column} = r.result, stage = %s, updated_at = now()"
            " FROM jsonb_to_recordset(%s::jsonb) AS r(input text, result jsonb)"
            " WHERE b.batch_key = %s AND b.input = r.input",
            (stage, json.dumps(records), batch_key),
        )


def record_reject(
    conn: Any, batch_key: str, source_name: str, input_: str, stage: str, reason: str
) -> None:
    """Record why an input did not become an article and take it out of the batch's flow."""
    LOGGER.warning("rejected %s at %s: %s", input_, stage, reason)
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO rejects (source_name, input, stage, reason, batch_key)"
            " VALUES (%s, %s, %s, %s, %s)"
            " ON CONFLICT (source_name, input, stage) DO UPDATE SET reason = EXCLUDED.reason,"
            " batch_key = EXCLUDED.batch_key, attempts = rejects.attempts + 1,"
            " last_seen_at = now()",
            (source_name, input_, stage, reason, batch_key),
        )
        cur.execute(
            "UPDATE batch_items SET stage = 'rejected', updated_at = now()"
            " WHERE batch_key = %s AND input = %s",
            (batch_key, input_),
        )


def log_fetch(
    conn: Any,
    batch_key: str,
    source_name: str,
    url: str,
    *,
    status: int | None,
    size: int | None,
    elapsed_ms: int,
    error: str | None,
) -> None:
    """Append one HTTP attempt to the fetch log."""
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO fetch_log (batch_key, source_name, url, status, bytes, elapsed_ms, error)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (batch_key, source_name, url, status, size, elapsed_ms, error),
        )


def upsert_articles(conn: Any, batch_key: str) -> dict[str, int]:
    """Upsert the batch's extracted items into ``articles`` by article key; commits.

    One statement, in one transaction: a failed load leaves no half batch. An article
    reached several ways in the batch is written once, from its first input in input
    order, so re-running the batch writes the same row; a row whose fields did not
    change is not touched at all (its ``updated_at`` neither).

    Args:
        conn: an open connection.
        batch_key: the batch to load.

    Returns:
        Loaded item counts per source name.
    """
    names = ", ".join(ARTICLE_FIELDS)
    record = ", ".join(f"{name} {sql_type}" for name, sql_type in ARTICLE_FIELDS.items())
    defaults = {"authors": "'{}'", "headings": "'{}'", "entities": "'[]'", "quotes": "'[]'",
                "numbers": "'[]'", "dates": "'[]'"}
    values = ", ".join(
        f"coalesce(f.{name}, {defaults[name]})" if name in defaults else f"f.{name}"
        for name in ARTICLE_FIELDS
    )
    updates = ", ".join(
        f"{name} = EXCLUDED.{name}"
        for name in (*list(ARTICLE_FIELDS)[1:], "page_id", "source_name", "fields_sha256")
    )
    with conn.cursor() as cur:
        cur.execute(
            f"INSERT INTO articles ({names}, page_id, source_name, fields_sha256)"
            f" SELECT DISTINCT ON (f.article_key) {values}, b.page_id, b.source_name,"
            "  encode(sha256(convert_to(b.fields::text, 'UTF8')), 'hex')"
            f" FROM batch_items b CROSS JOIN LATERAL jsonb_to_record(b.fields) AS f({record})"
            " WHERE b.batch_key = %s AND b.stage = 'extracted'"
            " ORDER BY f.article_key, b.input"
            f" ON CONFLICT (article_key) DO UPDATE SET {updates}, updated_at = now()"
            " WHERE articles.fields_sha256 IS DISTINCT FROM EXCLUDED.fields_sha256",
            (batch_key,),
        )
        cur.execute(
            "UPDATE batch_items SET stage = 'loaded', updated_at = now()"
            " WHERE batch_key = %s AND stage = 'extracted' RETURNING source_name",
            (batch_key,),
        )
        loaded = [row[0] for row in cur.fetchall()]
    conn.commit()
    return {name: loaded.count(name) for name in sorted(set(loaded))}


def batch_summary(conn: Any, batch_key: str) -> dict[str, dict[str, int]]:
    """Items per source and stage for a batch: what a task log reports."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT source_name, stage, count(*) FROM batch_items WHERE batch_key = %s"
            " GROUP BY source_name, stage ORDER BY source_name, stage",
            (batch_key,),
        )
        summary: dict[str, dict[str, int]] = {}
        for source_name, stage, count in cur.fetchall():
            summary.setdefault(source_name, {})[stage] = count
        return summary


def chunked(items: list[BatchItem], size: int) -> Iterator[list[BatchItem]]:
    """Split a list of batch items into lists of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
