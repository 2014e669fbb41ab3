"""Time the reporting views, search and a report on 10,000 synthetic articles (not a test).

Fills a fresh database: the demo articles (drop folder and site pages, read as folders) go
through the real pipeline with enrichment, then SQL copies them (with their entities,
quotes, numbers, dates and signatures) under new keys, ten sources and publication dates
spread over 90 days, plus a fetch log, runs and rejects to match; then times each query.

    .venv/bin/python scripts/measure_reporting.py [--articles 10000] [--admin-dsn DSN]

Without --admin-dsn it starts an embedded PostgreSQL in a temporary folder. The database
it creates is dropped at the end unless --keep is given.
"""

import argparse
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg2
from psycopg2.extensions import make_dsn

from newsflow import dbserver, discovery, fetch_stage, load_stage, pipeline, reporting, storage
from newsflow.search import search

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "include" / "demo"
SOURCES = 10
DAYS = 90


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--admin-dsn", help="a server where we may create a database")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--repeat", type=int, default=5, help="runs per query (median shown)")
    args = parser.parse_args()

    pgdata = None
    admin_dsn = args.admin_dsn
    if not admin_dsn:
        pgdata = Path(tempfile.mkdtemp(prefix="newsflow-bench-")) / "pg"
        admin_dsn = dbserver.dsn(dbserver.start(pgdata, databases=()), "postgres")
    name = f"newsflow_bench_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(admin_dsn)
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    dsn = make_dsn(admin_dsn, dbname=name)
    try:
        conn = storage.connect(dsn)
        storage.apply_migrations(conn)
        started = time.perf_counter()
        seeds = _load_demo(conn)
        elapsed = time.perf_counter() - started
        print(f"demo articles through the pipeline: {seeds} in {elapsed:.1f} s")
        started = time.perf_counter()
        _copy_articles(conn, args.articles - seeds)
        print(f"copied to {_count(conn, 'articles')} articles in"
              f" {time.perf_counter() - started:.1f} s; rows: "
              + ", ".join(f"{t} {_count(conn, t)}" for t in
                          ("article_entities", "quotes", "numbers", "article_signatures",
                           "fetch_log", "batch_items")))
        with conn.cursor() as cur:
            cur.execute("ANALYZE")
        conn.commit()
        _time_queries(conn, args.repeat)
        conn.close()
    finally:
        if args.keep:
            print(f"kept database {dsn}")
        else:
            admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
        if pgdata:
            dbserver.stop(pgdata)
            shutil.rmtree(pgdata.parent, ignore_errors=True)
    return 0


def _load_demo(conn: object) -> int:
    """The demo drop folder and site pages through the pipeline; returns the articles."""
    sources = Path(tempfile.mkdtemp(prefix="newsflow-bench-src-")) / "sources.yaml"
    sources.write_text(
        "sources:\n"
        f"  - {{name: demo-drop, kind: folder, path: '{DEMO / 'drop'}'}}\n"
        f"  - {{name: demo-site, kind: folder, path: '{DEMO / 'site' / 'articles'}'}}\n")
    discovery.discover(conn, "bench-seed", sources)
    for stage in (fetch_stage.fetch, pipeline.clean, pipeline.extract, pipeline.enrich):
        stage(conn, "bench-seed")
    load_stage.load(conn, "bench-seed")
    shutil.rmtree(sources.parent)
    return _count(conn, "articles")


def _copy_articles(conn: object, copies: int) -> None:
    """Copy the stored articles and their child rows into ``copies`` new ones."""
    with conn.cursor() as cur:
        cur.execute("SELECT setseed(0.42)")
        cur.execute(
            "CREATE TEMP TABLE copies AS"
            " SELECT s.article_id AS seed_id, g.i, nextval('articles_article_id_seq') AS new_id,"
            "  'source-' || lpad((g.i %% %s)::text, 2, '0') AS source_name,"
            "  now() - make_interval(secs => random() * %s * 86400) AS published_at"
            " FROM generate_series(1, %s) AS g(i)"
            " JOIN (SELECT article_id, row_number() OVER (ORDER BY article_id) - 1 AS n,"
            "        count(*) OVER () AS total FROM articles) s ON s.n = g.i %% s.total",
            (SOURCES, DAYS, copies))
        cur.execute("SELECT column_name FROM information_schema.columns"
                    " WHERE table_name = 'articles' AND is_generated = 'NEVER'"
                    " ORDER BY ordinal_position")
        special = {"article_id": "c.new_id", "article_key": "a.article_key || '#copy-' || c.i",
                   "source_name": "c.source_name", "published_at": "c.published_at",
                   "first_loaded_at": "c.published_at + interval '2 hours'",
                   "updated_at": "c.published_at + interval '2 hours'",
                   "body": "a.body || ' Edition ' || c.i || '.'"}
        columns = [row[0] for row in cur.fetchall()]
        values = ", ".join(special.get(c, f"a.{c}") for c in columns)
        cur.execute(f"INSERT INTO articles ({', '.join(columns)}) SELECT {values}"
                    " FROM copies c JOIN articles a ON a.article_id = c.seed_id")
        cur.execute("INSERT INTO article_entities SELECT c.new_id, e.entity_id, e.mention_count,"
                    " e.mention_offsets FROM copies c JOIN article_entities e"
                    " ON e.article_id = c.seed_id")
        for table, columns in (
            ("quotes", "position, quote_text, speaker_text, speaker_entity_id, verb, start_char,"
                       " end_char"),
            ("numbers", "position, number_text, value, kind, unit, approximate, counted, event,"
                        " start_char, end_char"),
            ("mentioned_dates", "position, date_text, granularity, date_from, date_to,"
                                " start_char, end_char"),
        ):
            cur.execute(f"INSERT INTO {table} (article_id, {columns}) SELECT c.new_id, {columns}"
                        f" FROM copies c JOIN {table} t ON t.article_id = c.seed_id")
        # Copies of one seed in threes form near-duplicate clusters.
        cur.execute(
            "INSERT INTO article_signatures (article_id, signature, bands, cluster_id,"
            " matched_article_id, similarity)"
            " SELECT c.new_id, s.signature, s.bands,"
            "  min(c.new_id) OVER (PARTITION BY c.seed_id, c.i / 30), NULL, 0.9"
            " FROM copies c JOIN article_signatures s ON s.article_id = c.seed_id")
        # One run per source and day; three requests per article, one in twenty failing.
        cur.execute(
            "INSERT INTO batch_items (batch_key, input, source_name, stage, updated_at)"
            " SELECT 'run-' || c.source_name || '-' || c.published_at::date, 'copy-' || c.i,"
            "  c.source_name, 'loaded', c.published_at + interval '2 hours' FROM copies c")
        cur.execute(
            "INSERT INTO fetch_log (batch_key, source_name, url, status, bytes, elapsed_ms,"
            " purpose, fetched_at)"
            " SELECT 'run', c.source_name, 'https://example.com/' || c.i || '/' || k,"
            "  CASE WHEN random() < 0.05 THEN 503 ELSE 200 END, 20000,"
            "  (50 + random() * 400)::int, 'page', c.published_at + interval '1 hour'"
            " FROM copies c CROSS JOIN generate_series(1, 3) AS k")
        cur.execute(
            "INSERT INTO rejects (source_name, input, stage, reason, batch_key, first_seen_at,"
            " last_seen_at)"
            " SELECT c.source_name, 'empty-' || c.i, 'clean', 'body too short for an article',"
            "  'run', c.published_at, c.published_at FROM copies c WHERE c.i % 50 = 0")
    conn.commit()


def _count(conn: object, table: str) -> int:
    with conn.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {table}")
        return cur.fetchone()[0]


def _timed(function: Callable[[], object], repeat: int) -> tuple[float, object]:
    """Median milliseconds of ``repeat`` calls, and the last result."""
    times = []
    result = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


def _query(conn: object, sql: str) -> Callable[[], int]:
    def run() -> int:
        with conn.cursor() as cur:
            cur.execute(sql)
            return len(cur.fetchall())
    return run


def _time_queries(conn: object, repeat: int) -> None:
    today = datetime.now(UTC).date()
    day = today - timedelta(days=10)
    week = day - timedelta(days=day.weekday())
    measures: list[tuple[str, Callable[[], object]]] = [
        ("refresh_reporting_views()", lambda: reporting.refresh_views(conn)),
        ("v_articles_per_source_day (all)",
         _query(conn, "SELECT * FROM v_articles_per_source_day")),
        ("v_top_entities_daily, one day, top 10 per kind", _query(
            conn, f"SELECT * FROM v_top_entities_daily WHERE day = '{day}' AND rank <= 10")),
        ("v_top_entities_weekly, one week, top 10 per kind", _query(
            conn, f"SELECT * FROM v_top_entities_weekly WHERE week = '{week}' AND rank <= 10")),
        ("v_top_speakers, top 20", _query(
            conn, "SELECT * FROM v_top_speakers ORDER BY quotes DESC LIMIT 20")),
        ("v_numeric_facts (all)", _query(conn, "SELECT * FROM v_numeric_facts")),
        ("v_duplicate_stories (all)", _query(conn, "SELECT * FROM v_duplicate_stories")),
        ("v_source_health_daily (all)", _query(conn, "SELECT * FROM v_source_health_daily")),
        ("v_source_health", _query(conn, "SELECT * FROM v_source_health")),
        ("search 'bridge' (top 20)", lambda: search(conn, "bridge")),
        ("search '\"peace talks\" kerry -iran' (top 20)",
         lambda: search(conn, '"peace talks" kerry -iran')),
        ("search 'festival or gallery', one source, since", lambda: search(
            conn, "festival or gallery", source="source-03",
            since=datetime.now(UTC) - timedelta(days=30))),
        ("report: collect 30 days", lambda: reporting.collect(conn, today - timedelta(29), today)),
        ("report: collect + render HTML (6 charts)", lambda: reporting.render_html(
            reporting.collect(conn, today - timedelta(29), today))),
    ]
    print(f"\n| query | median of {repeat} (ms) | rows |\n|---|---|---|")
    for label, function in measures:
        milliseconds, result = _timed(function, repeat)
        rows = len(result) if isinstance(result, list) else (result if isinstance(result, int)
                                                             else "")
        print(f"| {label} | {milliseconds:.1f} | {rows} |", flush=True)


if __name__ == "__main__":
    sys.exit(main())
