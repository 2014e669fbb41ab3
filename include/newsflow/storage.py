"""PostgreSQL storage: migrations, the per-run staging table, pages, rejects and article upserts.

Functions take an open DB-API connection and use only what psycopg2 and psycopg 3 share
(``%s`` parameters, ``::jsonb`` casts of JSON text), so the same code runs on the
connection Airflow's PostgresHook hands out and on a plain psycopg2 one. Callers own
transactions except where a function documents that it commits.
"""

import json
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from typing import Any

import psycopg2
from psycopg2 import sql

from newsflow.duplicates import Assignment, Member, pack, unpack
from newsflow.fetching import FetchedPage
from newsflow.safetext import finite, scrub, without_nul
from newsflow.sources import Discovery

LOGGER = logging.getLogger(__name__)

# Serialises migrations when several workers start at once.
MIGRATION_LOCK_ID = 0x6E657773
MIGRATION_NAME = re.compile(r"[0-9]{3}_[a-z0-9_]+\.sql")
# The group roles (sql/privileges/): the schema's owner, the pipeline, the analysts.
OWNER, WRITER, READER = "newsflow_owner", "newsflow_writer", "newsflow_reader"
INSUFFICIENT_PRIVILEGE = "42501"

# Article columns filled from a batch item's extracted fields, with their SQL types.
ARTICLE_FIELDS = {
    "article_key": "text", "canonical_url": "text", "url": "text", "title": "text",
    "subtitle": "text", "authors": "text[]", "published_at": "timestamptz",
    "site_name": "text", "source": "text", "language": "text", "dateline": "text",
    "headings": "text[]", "body": "text", "word_count": "integer", "entities": "jsonb",
    "quotes": "jsonb", "numbers": "jsonb", "dates": "jsonb",
    # Where title, authors, date and language came from (migration 004).
    "title_source": "text", "authors_source": "text", "published_source": "text",
    "modified_at": "timestamptz", "language_source": "text",
    # Each author's kind (person, organisation) and the page's type (migration 010).
    "author_kinds": "text[]", "page_type": "text",
}
# Who wrote an article's current fields (migration 007): extractor, run (batch), when.
PROVENANCE_FIELDS = ("extractor_version", "batch_key", "extracted_at")
# The hash a load compares to skip unchanged articles, of a batch item ``b``'s fields.
FIELDS_SHA256 = "encode(sha256(convert_to(b.fields::text, 'UTF8')), 'hex')"


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
    """The bundled migrations as (version, sql), in order: the files ``NNN_topic.sql``."""
    folder = resources.files("newsflow") / "sql"
    files = sorted(f for f in folder.iterdir() if MIGRATION_NAME.fullmatch(f.name))
    return [(f.name.removesuffix(".sql"), f.read_text(encoding="utf-8")) for f in files]


def _privileges_sql(name: str) -> str:
    """One of the re-runnable role and privilege scripts in ``sql/privileges/``."""
    return (resources.files("newsflow") / "sql" / "privileges" / f"{name}.sql").read_text(
        encoding="utf-8")


class MigrationError(RuntimeError):
    """The migrations cannot run with the rights of the role that connected."""


def apply_migrations(conn: Any) -> list[str]:
    """Apply the migrations not yet recorded in ``schema_migrations``, then the grants; commits.

    The migrations and the grants run as ``newsflow_owner`` (``SET ROLE``), so connect as
    a member of it or as an administrator. The first run on a server also creates the
    group roles (``sql/privileges/roles.sql``), which needs a role that may create roles;
    objects made before migration 012 are handed to the owner (the connecting role must own
    them). ``sql/privileges/grants.sql`` then gives the writer and the reader their rights
    on every object, the new ones included.

    Args:
        conn: an open connection.

    Returns:
        The versions applied by this call (empty when the schema was current).

    Raises:
        MigrationError: the connecting role lacks a right this needs (the message says which).
    """
    applied: list[str] = []
    with conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_ID,))
        _create_roles(cur)
        cur.execute("SELECT has_schema_privilege(%s, 'public', 'CREATE')"
                    " AND has_database_privilege(%s, current_database(), 'CREATE')",
                    (OWNER, OWNER))
        if not cur.fetchone()[0]:
            _as_connected(cur, _privileges_sql("schema"), f"letting {OWNER} create objects in"
                          " schema public needs the database's owner or a superuser (once per"
                          " database)")
        _as_connected(cur, _privileges_sql("ownership"), "objects of the schema belong to"
                      " another role: run newsflow migrate once as their owner or a superuser")
        _as_connected(cur, sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(OWNER)),
                      f"the role that connected is no member of {OWNER}")
        cur.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        cur.execute("SELECT version FROM schema_migrations")
        done = {row[0] for row in cur.fetchall()}
        for version, script in migration_files():
            if version in done:
                continue
            LOGGER.info("applying migration %s", version)
            cur.execute(script)
            cur.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (version,))
            applied.append(version)
        script = _privileges_sql("grants")
        cur.execute(script)
        cur.execute("RESET ROLE")
    conn.commit()
    return applied


def _create_roles(cur: Any) -> None:
    """Create the group roles unless all three exist."""
    cur.execute("SELECT count(*) FROM pg_roles WHERE rolname IN (%s, %s, %s)",
                (OWNER, WRITER, READER))
    if cur.fetchone()[0] < 3:
        _as_connected(cur, _privileges_sql("roles"), "creating the roles newsflow_owner,"
                      " newsflow_writer and newsflow_reader needs a superuser or a role with"
                      " CREATEROLE (once per server)")


def _as_connected(cur: Any, script: str | sql.Composable, why: str) -> None:
    """Run a privileges script or statement; a refused right becomes a MigrationError."""
    try:
        cur.execute(script)
    except psycopg2.Error as error:
        if error.pgcode == INSUFFICIENT_PRIVILEGE:
            raise MigrationError(f"newsflow migrate: {why}") from error
        raise


def pending_migrations(conn: Any) -> list[str]:
    """The bundled migrations the database has not applied (all of them on an empty one)."""
    with conn.cursor() as cur:
        cur.execute("SELECT to_regclass('schema_migrations') IS NOT NULL")
        done: set[str] = set()
        if cur.fetchone()[0]:
            cur.execute("SELECT version FROM schema_migrations")
            done = {row[0] for row in cur.fetchall()}
    conn.rollback()
    return [version for version, _ in migration_files() if version not in done]


def create_login(
    conn: Any, name: str, group: str, password: str | None = None
) -> None:
    """Create (or update) login ``name`` as a member of ``group``; commits.

    The login gets no right of its own: no superuser, no CREATEDB, no CREATEROLE. Needs
    a role that may create roles.

    Raises:
        ValueError: ``name`` is a role with administrator rights (superuser, CREATEROLE...).

    Args:
        conn: an administrator's connection.
        name: the login's name.
        group: ``newsflow_owner``, ``newsflow_writer`` or ``newsflow_reader``.
        password: its password; None leaves an existing one as it is (logins on a Unix
            socket the server trusts need none).
    """
    if group not in (OWNER, WRITER, READER):
        raise ValueError(f"not a newsflow group role: {group}")
    with conn.cursor() as cur:
        _create_roles(cur)
        cur.execute("SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolbypassrls"
                    " FROM pg_roles WHERE rolname = %s", (name,))
        existing = cur.fetchone()
        if existing and existing[0]:
            # Never demote (or hand a group to) an administrator by a name mix-up.
            raise ValueError(f"role {name} exists with administrator rights: not a login for"
                             f" {group}; choose another name")
        verb = "ALTER" if existing else "CREATE"
        statement = sql.SQL("{} ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE").format(
            sql.SQL(verb), sql.Identifier(name))
        if password is not None:
            statement += sql.SQL(" PASSWORD {}").format(sql.Literal(password))
        cur.execute(statement)
        cur.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(group), sql.Identifier(name)))
    conn.commit()


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


def upsert_articles(
    conn: Any, batch_key: str, extractor_version: str | None = None
) -> dict[str, int]:
    """Upsert the batch's enriched items into ``articles`` by article key; the caller commits.

    One statement, in one transaction: a failed load leaves no half batch. An article
    reached several ways in the batch is written once, from its first input in input
    order, so re-running the batch writes the same row; a row whose fields did not
    change is not touched at all (its ``updated_at`` neither). A row whose fields do
    change keeps its previous fields in ``article_versions`` (migration 007), and every
    row written records the extractor version, this batch and the time.

    Args:
        conn: an open connection.
        batch_key: the batch to load.
        extractor_version: ``provenance.extractor_version()`` of the extracting process.

    Returns:
        Loaded item counts per source name.
    """
    names = ", ".join(ARTICLE_FIELDS)
    record = ", ".join(f"{name} {sql_type}" for name, sql_type in ARTICLE_FIELDS.items())
    defaults = {"authors": "'{}'", "author_kinds": "'{}'", "headings": "'{}'",
                "entities": "'[]'", "quotes": "'[]'", "numbers": "'[]'", "dates": "'[]'"}
    values = ", ".join(
        f"coalesce(f.{name}, {defaults[name]})" if name in defaults else f"f.{name}"
        for name in ARTICLE_FIELDS
    )
    # source_name is left out: an article reached through several sources stays with the
    # one that loaded it first, so per-source counts do not flip with the order of runs.
    updates = ", ".join(
        f"{name} = EXCLUDED.{name}"
        for name in (*list(ARTICLE_FIELDS)[1:], "page_id", "fields_sha256", *PROVENANCE_FIELDS)
    )
    with conn.cursor() as cur:
        _keep_replaced_versions(cur, batch_key)
        # The site condition is the last guard of the rule the load applies before
        # (refuse_foreign_keys): a stored article never changes hands between sites.
        cur.execute(
            f"INSERT INTO articles ({names}, page_id, source_name, fields_sha256,"
            f" {', '.join(PROVENANCE_FIELDS)}, site)"
            f" SELECT DISTINCT ON (f.article_key) {values}, b.page_id, b.source_name,"
            f"  {FIELDS_SHA256}, %s, %s, now(), b.site"
            f" FROM batch_items b CROSS JOIN LATERAL jsonb_to_record(b.fields) AS f({record})"
            " WHERE b.batch_key = %s AND b.stage = 'enriched'"
            " ORDER BY f.article_key, b.input"
            f" ON CONFLICT (article_key) DO UPDATE SET {updates}, updated_at = now(),"
            "  site = coalesce(articles.site, EXCLUDED.site)"
            " WHERE articles.fields_sha256 IS DISTINCT FROM EXCLUDED.fields_sha256"
            "  AND (articles.site IS NULL OR EXCLUDED.site IS NULL"
            "       OR articles.site = EXCLUDED.site)",
            (extractor_version, batch_key, batch_key),
        )
        cur.execute(
            "UPDATE batch_items SET stage = 'loaded', updated_at = now()"
            " WHERE batch_key = %s AND stage = 'enriched' RETURNING source_name",
            (batch_key,),
        )
        loaded = [row[0] for row in cur.fetchall()]
    return {name: loaded.count(name) for name in sorted(set(loaded))}


# Serialises loads of the same article keys (by hash bucket), so that a load always sees
# the article another load of the same key committed: a version is never lost.
ARTICLE_KEYS_LOCK_ID = 0x6E657773 + 9
ARTICLE_KEY_BUCKETS = 256


def lock_article_keys(conn: Any, batch_key: str) -> None:
    """Lock the batch's article keys until the transaction ends (advisory, by hash bucket).

    Taken before the load reads anything: two loads of one new article at once then run
    one after the other, and the second copies the first's fields into
    ``article_versions`` before replacing them. Buckets are locked in ascending order so
    two loads cannot deadlock, and at most ``ARTICLE_KEY_BUCKETS`` locks are held.
    """
    with conn.cursor() as cur:
        cur.execute(
            "SELECT DISTINCT abs(hashtext(fields->>'article_key') %% %s) AS bucket"
            " FROM batch_items WHERE batch_key = %s AND stage = 'enriched' ORDER BY bucket",
            (ARTICLE_KEY_BUCKETS, batch_key),
        )
        buckets = [row[0] for row in cur.fetchall()]
        for bucket in buckets:
            cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", (ARTICLE_KEYS_LOCK_ID, bucket))


def enriched_keys(conn: Any, batch_key: str) -> list[tuple[str, str, str, str | None]]:
    """(input, source name, article key, url) of the batch's items ready to load, by input."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT input, source_name, fields->>'article_key', fields->>'url' FROM batch_items"
            " WHERE batch_key = %s AND stage = 'enriched' ORDER BY input",
            (batch_key,),
        )
        return cur.fetchall()


def article_owners(conn: Any, keys: list[str]) -> dict[str, tuple[str | None, str | None, str]]:
    """(site, url, source name) of the stored articles among ``keys``."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT article_key, site, url, source_name FROM articles WHERE article_key = ANY(%s)",
            (keys,),
        )
        return {row[0]: row[1:] for row in cur.fetchall()}


def save_item_sites(conn: Any, batch_key: str, sites: dict[str, str]) -> None:
    """Record the site each input of the batch was loaded from (input -> site)."""
    records = json.dumps([{"input": i, "site": s} for i, s in sites.items()])
    with conn.cursor() as cur:
        cur.execute(
            "UPDATE batch_items b SET site = r.site"
            " FROM jsonb_to_recordset(%s::jsonb) AS r(input text, site text)"
            " WHERE b.batch_key = %s AND b.input = r.input",
            (records, batch_key),
        )


def record_key_conflicts(conn: Any, batch_key: str, conflicts: list[dict[str, str]]) -> None:
    """Keep the batch's key conflicts (source_name, input, article_key, owner_site, input_site)."""
    if not conflicts:
        return
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO article_key_conflicts (batch_key, source_name, input, article_key,"
            " owner_site, input_site)"
            " SELECT %s, r.source_name, r.input, r.article_key, r.owner_site, r.input_site"
            " FROM jsonb_to_recordset(%s::jsonb) AS r(source_name text, input text,"
            "  article_key text, owner_site text, input_site text)"
            " ON CONFLICT (batch_key, source_name, input) DO UPDATE"
            " SET owner_site = EXCLUDED.owner_site, input_site = EXCLUDED.input_site,"
            " detected_at = now()",
            (batch_key, json.dumps(conflicts)),
        )


def _keep_replaced_versions(cur: Any, batch_key: str) -> None:
    """Copy the articles this batch's load is about to change into ``article_versions``.

    The batch's existing articles are locked first, until the load commits, so two
    loads at once keep each replaced version once; in article key order, the order the
    upsert takes them in, so two loads cannot deadlock.
    """
    cur.execute(
        # The keys as one array, as in articles_changed_now: an IN (subquery) may be
        # planned as a nested loop re-reading the staged fields per article.
        "SELECT 1 FROM articles WHERE article_key = ANY(ARRAY(SELECT b.fields->>'article_key'"
        "  FROM batch_items b WHERE b.batch_key = %s AND b.stage = 'enriched'))"
        " ORDER BY article_key FOR UPDATE",
        (batch_key,),
    )
    cur.execute(
        "INSERT INTO article_versions (article_id, fields, fields_sha256, extractor_version,"
        " batch_key, extracted_at, replaced_by_batch)"
        " SELECT a.article_id, article_fields(a), a.fields_sha256, a.extractor_version,"
        "  a.batch_key, a.extracted_at, %s"
        " FROM articles a JOIN ("
        "  SELECT DISTINCT ON (b.fields->>'article_key') b.fields->>'article_key' AS article_key,"
        f"   {FIELDS_SHA256} AS fields_sha256"
        "  FROM batch_items b WHERE b.batch_key = %s AND b.stage = 'enriched'"
        "  ORDER BY b.fields->>'article_key', b.input"
        " ) n USING (article_key)"
        " WHERE a.fields_sha256 IS DISTINCT FROM n.fields_sha256"
        " ORDER BY a.article_id",
        (batch_key, batch_key),
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


# Sources and polite fetching (migration 003).


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


# A file whose inode changed less than this before a run took it may have changed after
# that run read it (and the database's and the file server's clocks may differ): read again.
UNCHANGED_MARGIN = timedelta(seconds=60)


def unchanged_files(
    conn: Any, source_name: str, changed: dict[str, datetime]
) -> dict[str, str]:
    """Of the files ``changed`` names (path -> inode change time), the content keys of
    those a run read and took after their last change: they need no reading again.

    A run's ``taken_at`` is its transaction's start, which discovery begins before it
    reads a file (``folder_scan_start``), so a file changed later is read again.
    """
    if not changed:
        return {}
    with conn.cursor() as cur:
        cur.execute(
            "SELECT DISTINCT ON (input) input, input_key, taken_at FROM taken_inputs"
            " WHERE source_name = %s AND input = ANY(%s) AND input_key LIKE 'sha256:%%'"
            " ORDER BY input, taken_at DESC",
            (source_name, sorted(changed)),
        )
        rows = cur.fetchall()
    return {path: key for path, key, taken_at in rows
            if changed[path] < taken_at - UNCHANGED_MARGIN}


# Enrichment (migration 005): an article's child rows and its duplicate cluster.

# Serialises duplicate-cluster assignment, so two loads at once never open two clusters
# for one story.
DUPLICATES_LOCK_ID = 0x6E657773 + 5


def articles_changed_now(conn: Any, batch_key: str) -> list[int]:
    """Ids of the batch's articles inserted or updated by the current transaction.

    The upsert sets ``updated_at = now()`` (the transaction's start time) on exactly the
    rows it writes and leaves unchanged articles alone, so their child rows stay too.
    """
    # The keys as one array, computed once: as an IN (subquery) the planner may re-read
    # every staged item's fields for each article (quadratic in the batch size).
    with conn.cursor() as cur:
        cur.execute(
            "SELECT a.article_id FROM articles a WHERE a.article_key = ANY(ARRAY("
            " SELECT b.fields->>'article_key' FROM batch_items b WHERE b.batch_key = %s))"
            " AND a.updated_at = now() ORDER BY a.article_id",
            (batch_key,),
        )
        return [row[0] for row in cur.fetchall()]


def replace_article_children(conn: Any, article_ids: list[int]) -> None:
    """Replace the entity, quote, number and date rows of articles from their JSON columns.

    Set-based (one statement per table for all articles), in the caller's transaction;
    delete-then-insert, so re-enriching an article never duplicates its rows.
    """
    if not article_ids:
        return
    with conn.cursor() as cur:
        for table in ("article_entities", "quotes", "numbers", "mentioned_dates"):
            cur.execute(f"DELETE FROM {table} WHERE article_id = ANY(%s)", (article_ids,))
        # Sorted, so concurrent loads take the new names' index locks in one order.
        cur.execute(
            "INSERT INTO entities (name, name_key, type)"
            " SELECT DISTINCT ON (lower(e.item->>'name'), e.item->>'type')"
            "  e.item->>'name', lower(e.item->>'name'), e.item->>'type'"
            " FROM articles a CROSS JOIN LATERAL jsonb_array_elements(a.entities) AS e(item)"
            " WHERE a.article_id = ANY(%s)"
            " ORDER BY lower(e.item->>'name'), e.item->>'type', a.article_id"
            " ON CONFLICT (name_key, type) DO NOTHING",
            (article_ids,),
        )
        cur.execute(
            "INSERT INTO article_entities (article_id, entity_id, mention_count, mention_offsets)"
            " SELECT a.article_id, n.entity_id, (e.item->>'mentions')::int,"
            "  ARRAY(SELECT int4range((s.span->>0)::int, (s.span->>1)::int)"
            "   FROM jsonb_array_elements(e.item->'spans') WITH ORDINALITY AS s(span, n)"
            "   ORDER BY s.n)"
            " FROM articles a CROSS JOIN LATERAL jsonb_array_elements(a.entities) AS e(item)"
            " JOIN entities n ON n.name_key = lower(e.item->>'name') AND n.type = e.item->>'type'"
            " WHERE a.article_id = ANY(%s)",
            (article_ids,),
        )
        cur.execute(
            "INSERT INTO quotes (article_id, position, quote_text, speaker_text,"
            " speaker_entity_id, verb, start_char, end_char)"
            " SELECT a.article_id, q.position, q.item->>'text', q.item->>'speaker_text',"
            "  n.entity_id, q.item->>'verb', (q.item->>'start')::int, (q.item->>'end')::int"
            " FROM articles a CROSS JOIN LATERAL"
            "  jsonb_array_elements(a.quotes) WITH ORDINALITY AS q(item, position)"
            " LEFT JOIN entities n ON n.name_key = lower(q.item->>'speaker')"
            "  AND n.type = q.item->>'speaker_type'"
            " WHERE a.article_id = ANY(%s)",
            (article_ids,),
        )
        cur.execute(
            "INSERT INTO numbers (article_id, position, number_text, value, kind, unit,"
            " approximate, counted, event, start_char, end_char)"
            " SELECT a.article_id, x.position, x.item->>'text', (x.item->>'value')::numeric,"
            "  x.item->>'kind', x.item->>'unit',"
            "  coalesce((x.item->>'approximate')::boolean, false),"
            "  x.item->>'object', x.item->>'event', (x.item->>'start')::int, (x.item->>'end')::int"
            " FROM articles a CROSS JOIN LATERAL"
            "  jsonb_array_elements(a.numbers) WITH ORDINALITY AS x(item, position)"
            " WHERE a.article_id = ANY(%s)",
            (article_ids,),
        )
        cur.execute(
            "INSERT INTO mentioned_dates (article_id, position, date_text, granularity,"
            " date_from, date_to, start_char, end_char)"
            " SELECT a.article_id, d.position, d.item->>'text', d.item->>'granularity',"
            "  (d.item->>'date_from')::date, (d.item->>'date_to')::date,"
            "  (d.item->>'start')::int, (d.item->>'end')::int"
            " FROM articles a CROSS JOIN LATERAL"
            "  jsonb_array_elements(a.dates) WITH ORDINALITY AS d(item, position)"
            " WHERE a.article_id = ANY(%s)",
            (article_ids,),
        )


def lock_duplicate_clusters(conn: Any) -> None:
    """Take the cluster-assignment lock until the transaction ends."""
    with conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (DUPLICATES_LOCK_ID,))


def signed_articles(conn: Any, batch_key: str, article_ids: list[int]) -> list[Member]:
    """The staged MinHash of each article, from the input the article was loaded from."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT DISTINCT ON (a.article_id) a.article_id, a.published_at,"
            "  decode(b.fields->'minhash'->>'signature', 'hex'),"
            "  translate(b.fields->'minhash'->>'bands', '[]', '{}')::bigint[]"
            " FROM articles a JOIN batch_items b"
            "  ON b.batch_key = %s AND b.fields->>'article_key' = a.article_key"
            " WHERE a.article_id = ANY(%s) AND jsonb_typeof(b.fields->'minhash') = 'object'"
            " ORDER BY a.article_id, b.input",
            (batch_key, article_ids),
        )
        return [Member(row[0], row[1], unpack(row[2]), row[3]) for row in cur.fetchall()]


def band_neighbours(conn: Any, members: list[Member]) -> list[Member]:
    """Stored articles, other than ``members``, that share an LSH band with one of them."""
    if not members:
        return []
    bands = sorted({key for member in members for key in member.bands})
    with conn.cursor() as cur:
        cur.execute(
            "SELECT s.article_id, a.published_at, s.signature, s.bands, s.cluster_id"
            " FROM article_signatures s JOIN articles a USING (article_id)"
            " WHERE s.bands && %s::bigint[] AND NOT s.article_id = ANY(%s)",
            (bands, [member.article_id for member in members]),
        )
        return [Member(r[0], r[1], unpack(r[2]), r[3], r[4]) for r in cur.fetchall()]


def save_clusters(
    conn: Any, members: list[Member], assignments: dict[int, Assignment]
) -> None:
    """Store the signatures of ``members`` with their assigned clusters, in one statement."""
    records = [
        {
            "article_id": m.article_id, "signature": pack(m.hashvalues).hex(),
            "bands": "{" + ",".join(map(str, m.bands)) + "}",
            "cluster_id": assignments[m.article_id].cluster_id,
            "matched_article_id": assignments[m.article_id].matched_article_id,
            "similarity": assignments[m.article_id].similarity,
        }
        for m in members
    ]
    if not records:
        return
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO article_signatures (article_id, signature, bands, cluster_id,"
            " matched_article_id, similarity)"
            " SELECT r.article_id, decode(r.signature, 'hex'), r.bands::bigint[], r.cluster_id,"
            "  r.matched_article_id, r.similarity"
            " FROM jsonb_to_recordset(%s::jsonb) AS r(article_id bigint, signature text,"
            "  bands text, cluster_id bigint, matched_article_id bigint, similarity real)"
            " ORDER BY r.article_id"
            " ON CONFLICT (article_id) DO UPDATE SET signature = EXCLUDED.signature,"
            " bands = EXCLUDED.bands, cluster_id = EXCLUDED.cluster_id,"
            " matched_article_id = EXCLUDED.matched_article_id,"
            " similarity = EXCLUDED.similarity, assigned_at = now()",
            (json.dumps(records),),
        )
