"""A batch in PostgreSQL: its staged items, their pages and stage results, rejects and
the fetch log.

Functions take an open DB-API connection (see ``storage``); callers own transactions.
"""

import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from newsflow.fetching import FetchedPage
from newsflow.safetext import finite, scrub, without_nul
from newsflow.sources import Discovery

LOGGER = logging.getLogger(__name__)


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


def stage_discoveries(conn: Any, batch_key: str, discoveries: Iterable[Discovery]) -> int:
    """Record discovered inputs for a batch in one statement; staged inputs keep their progress."""
    records = [
        # Hints keep their text (feed titles were scrubbed when read; a relative path must
        # stay the file's name); only what PostgreSQL cannot store goes.
        {"input": d.input, "source_name": d.source_name, "hints": finite(without_nul(d.hints))}
        for d in discoveries
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


def count_at_stage(conn: Any, batch_key: str, stage: str) -> int:
    """How many items of a batch are at ``stage``."""
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM batch_items WHERE batch_key = %s AND stage = %s",
                    (batch_key, stage))
        return cur.fetchone()[0]


def stage_outcomes(conn: Any, batch_key: str, target: str, stage: str) -> dict[str, dict[str, int]]:
    """Per source, the items of a batch now at ``target`` and those rejected at ``stage``.

    What a stage had already done for the batch before its task began (the fetch task
    cleans while it waits on hosts): ``{source_name: {target: n, "rejected": m}}``.
    """
    with conn.cursor() as cur:
        cur.execute(
            "SELECT source_name, %s, count(*) FROM batch_items"
            " WHERE batch_key = %s AND stage = %s GROUP BY source_name"
            " UNION ALL SELECT source_name, 'rejected', count(*) FROM batch_rejects"
            " WHERE batch_key = %s AND stage = %s GROUP BY source_name",
            (target, batch_key, target, batch_key, stage),
        )
        outcomes: dict[str, dict[str, int]] = {}
        for source_name, outcome, count in cur.fetchall():
            outcomes.setdefault(source_name, {})[outcome] = count
        return outcomes


def items_at_stage_except(
    conn: Any, batch_key: str, stage: str, excluded: Iterable[str], size: int
) -> list[BatchItem]:
    """Up to ``size`` items at ``stage`` in input order, but none of the ``excluded`` inputs."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT batch_key, input, source_name, hints, page_id, cleaned, fields"
            " FROM batch_items WHERE batch_key = %s AND stage = %s AND input <> ALL(%s)"
            " ORDER BY input LIMIT %s",
            (batch_key, stage, list(excluded), size),
        )
        return [BatchItem(*row) for row in cur.fetchall()]


def pages_of_items(conn: Any, batch_key: str, stage: str, size: int) -> Iterator[list[BatchItem]]:
    """The items at ``stage``, ``size`` at a time in input order, each page read when asked.

    Keyset paging (``input > last``): only one page of staged JSON is in memory, and
    items the caller moves on meanwhile are not read twice.
    """
    last = ""
    while True:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT batch_key, input, source_name, hints, page_id, cleaned, fields"
                " FROM batch_items WHERE batch_key = %s AND stage = %s AND input > %s"
                " ORDER BY input LIMIT %s",
                (batch_key, stage, last, size),
            )
            page = [BatchItem(*row) for row in cur.fetchall()]
        if not page:
            return
        yield page
        last = page[-1].input


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
            " content_type, content, content_sha256, charset, canonical_link)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (page_key) DO UPDATE SET source_name = EXCLUDED.source_name,"
            " input = EXCLUDED.input, final_url = EXCLUDED.final_url,"
            " http_status = EXCLUDED.http_status, content_type = EXCLUDED.content_type,"
            " content = EXCLUDED.content, content_sha256 = EXCLUDED.content_sha256,"
            " charset = EXCLUDED.charset, canonical_link = EXCLUDED.canonical_link,"
            " content_pruned_at = NULL, fetched_at = now()"
            " RETURNING page_id",
            (
                page.page_key, page.source_name, page.input, page.final_url, page.http_status,
                page.content_type, page.content, page.content_sha256, page.charset,
                page.canonical_link,
            ),
        )
        page_id = cur.fetchone()[0]
        cur.execute(
            "UPDATE batch_items SET page_id = %s, stage = 'fetched', updated_at = now()"
            " WHERE batch_key = %s AND input = %s",
            (page_id, batch_key, page.input),
        )
    return page_id


def item_source(conn: Any, batch_key: str, input_: str) -> str | None:
    """The source name of a batch's item."""
    with conn.cursor() as cur:
        cur.execute("SELECT source_name FROM batch_items WHERE batch_key = %s AND input = %s",
                    (batch_key, input_))
        row = cur.fetchone()
    return row[0] if row else None


def save_stage_results(
    conn: Any, batch_key: str, stage: str, column: str, results: dict[str, dict[str, Any]]
) -> None:
    """Store a JSON result per input in ``column`` and move those items to ``stage``."""
    if column not in ("cleaned", "fields"):
        raise ValueError(f"not a result column: {column}")
    # JSON has no NaN or infinity (a 400-digit number in a body is a float overflow):
    # they are stored as null.
    records = [{"input": key, "result": finite(value)} for key, value in results.items()]
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
    record_rejects(conn, batch_key, stage, [(source_name, input_, reason)])


def record_rejects(
    conn: Any, batch_key: str, stage: str, rejects: list[tuple[str, str, str]]
) -> None:
    """``record_reject`` for many (source name, input, reason) at once: three statements.

    The reject is kept per input and stage (``rejects``, naming the latest run) and per
    batch (``batch_rejects``, for the batch's ledger).
    """
    if not rejects:
        return
    for source_name, input_, reason in rejects:
        LOGGER.warning("rejected %s (%s) at %s: %s", input_, source_name, stage, reason)
    # One row per (source, input): ON CONFLICT cannot touch a row twice in one statement.
    # Names and reasons quote page data: a NUL would fail the statement for every reject.
    # Names lose only NULs (a staged file name may hold other controls and must match its
    # batch item); reasons lose every control character.
    unique = {(source_name.replace("\x00", ""), input_.replace("\x00", "")): scrub(reason)
              for source_name, input_, reason in rejects}
    records = json.dumps([
        {"source_name": source_name, "input": input_, "reason": reason}
        for (source_name, input_), reason in unique.items()
    ])
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO rejects (source_name, input, stage, reason, batch_key)"
            " SELECT r.source_name, r.input, %s, r.reason, %s"
            " FROM jsonb_to_recordset(%s::jsonb) AS r(source_name text, input text, reason text)"
            " ON CONFLICT (source_name, input, stage) DO UPDATE SET reason = EXCLUDED.reason,"
            " batch_key = EXCLUDED.batch_key, attempts = rejects.attempts + 1,"
            " last_seen_at = now()",
            (stage, batch_key, records),
        )
        cur.execute(
            "INSERT INTO batch_rejects (batch_key, source_name, input, stage, reason)"
            " SELECT %s, r.source_name, r.input, %s, r.reason"
            " FROM jsonb_to_recordset(%s::jsonb) AS r(source_name text, input text, reason text)"
            " ON CONFLICT (batch_key, source_name, input, stage) DO UPDATE"
            " SET reason = EXCLUDED.reason, rejected_at = now()",
            (batch_key, stage, records),
        )
        # The source's own item only: another source may have staged the same input.
        cur.execute(
            "UPDATE batch_items b SET stage = 'rejected', updated_at = now()"
            " FROM jsonb_to_recordset(%s::jsonb) AS r(source_name text, input text)"
            " WHERE b.batch_key = %s AND b.source_name = r.source_name AND b.input = r.input",
            (records, batch_key),
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
    purpose: str | None = None,
    attempt: int = 1,
    redirect_to: str | None = None,
    not_modified: bool = False,
) -> None:
    """Append one HTTP attempt to the fetch log."""
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO fetch_log (batch_key, source_name, url, status, bytes, elapsed_ms, error,"
            " purpose, attempt, redirect_to, not_modified)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (batch_key, source_name, url, status, size, elapsed_ms, error, purpose, attempt,
             redirect_to, not_modified),
        )


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
