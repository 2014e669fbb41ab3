"""news_ingest through Airflow for real: `airflow dags test` (a manual run) against a real
PostgreSQL, a feed and pages on a local HTTP server, and a drop folder holding the seed."""

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import AIRFLOW_ENV, DEMO, ROOT, SEED, LocalSite, airflow_conn_uri
from tests.e2e.stack import query

pytestmark = pytest.mark.e2e

FEED_ITEM = "<item><title>{title}</title><link>{link}</link></item>"


def _write_site(site: LocalSite) -> None:
    """The demo articles, a PDF, and a feed reaching one article twice plus two bad links."""
    shutil.copytree(DEMO / "site" / "articles", site.root / "articles")
    (site.root / "report.pdf").write_bytes(b"%PDF-1.4\n%binary report\n")
    links = [
        "articles/mill-street-bridge-closure.html",
        "articles/mill-street-bridge-closure.html?utm_source=newsletter",
        "articles/library-extends-hours.html",
        "articles/cannery-brewing-expansion.html",
        "articles/missing.html",
        "report.pdf",
    ]
    items = "".join(FEED_ITEM.format(title=f"item {n}", link=link) for n, link in enumerate(links))
    (site.root / "feed.xml").write_text(
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Test</title>{items}'
        "</channel></rss>"
    )


def _airflow(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "airflow"), *args],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def test_news_ingest_loads_feed_and_drop_folder_articles_idempotently(
    news_dsn: str, writer_dsn: str, local_site: LocalSite, tmp_path: Path,
    migrated_airflow_home: Path,
) -> None:
    _write_site(local_site)
    drop = tmp_path / "drop"
    drop.mkdir()
    shutil.copy(SEED, drop / SEED.name)
    (drop / "scan.pdf").write_bytes(b"%PDF-1.4")
    # A file's modification time places it in a run's interval; the run for 2026-11-25
    # covers 2026-11-23 04:30 to 2026-11-24 04:30 UTC.
    dropped_at = datetime(2026, 11, 23, 12, 0, tzinfo=UTC).timestamp()
    for path in drop.iterdir():
        os.utime(path, (dropped_at, dropped_at))
    (tmp_path / "sets").mkdir()
    sources = tmp_path / "sets" / "e2e.yaml"
    sources.write_text(
        "sources:\n"
        f"  - {{name: drop, kind: folder, path: {drop}}}\n"
        # The local site serves gazette.example's pages: its canonical links are believed.
        f"  - {{name: feed, kind: feed, url: '{local_site.url('feed.xml')}',"
        " trust_canonical: true}\n"
        "  - {name: switched-off, kind: feed, url: 'http://127.0.0.1:9/none', enabled: false}\n"
    )
    env = {
        **os.environ, **AIRFLOW_ENV,
        # Airflow's metadata: migrated once per session (tests/e2e/conftest.py).
        "AIRFLOW_HOME": str(migrated_airflow_home),
        # The schema was migrated at deployment (writer_dsn); the pipeline is the writer.
        "AIRFLOW_CONN_NEWS_DB": airflow_conn_uri(writer_dsn),
        "NEWSFLOW_SOURCES_DIR": str(sources.parent),
    }
    # The trigger form offers the sets of the folder; this run picks one by name.
    conf = json.dumps({"source_set": "e2e"})

    _airflow(["dags", "test", "news_ingest", "2026-11-25", "--conf", conf], env)

    articles = query(
        news_dsn,
        "SELECT article_key, title, source, headings, body, authors FROM v_articles"
        " ORDER BY article_key",
    )
    keys = [row[0] for row in articles]
    assert keys[0].startswith("file:drop/000_6b0885ebeeff3833.txt#")
    assert keys[1:] == [
        "https://gazette.example/news/cannery-brewing-expansion",
        "https://gazette.example/news/library-extends-hours",
        "https://gazette.example/news/mill-street-bridge-closure",
    ]
    _, title, source, headings, body, _ = articles[0]
    assert title == "US and Russia seek Syria peace talks revival"
    assert source == "Al Jazeera and agencies"
    assert headings == ["Shared goal", "Positive opportunity"]
    assert body.endswith('"This is not a game," he said on Thursday.')
    assert "How Moscow lost Riyadh" not in body
    assert articles[2][5] == ["Daniel Reyes", "Priya Natarajan"]

    # The enrich task's results reached the tables: the seed's people, speakers, numbers.
    seed_id = f"(SELECT article_id FROM articles WHERE article_key = '{keys[0]}')"
    people = {name for (name,) in query(
        news_dsn, "SELECT name FROM v_article_entities"
                  f" WHERE type = 'PERSON' AND article_id = {seed_id}")}
    assert {"John Kerry", "Sergey Lavrov", "Lakhdar Brahimi", "Vladimir Putin", "Assad",
            "Neave Barker", "Hans Blix"} <= people
    assert not {"John Pilger", "Stalin"} & people
    speakers = {name for (name,) in query(
        news_dsn, f"SELECT speaker FROM v_quotes WHERE article_id = {seed_id}")}
    assert {"John Kerry", "Sergey Lavrov", "Neave Barker", "Vladimir Putin"} <= speakers
    assert query(news_dsn, "SELECT value, counted, event FROM v_numbers"
                            " WHERE number_text = '1,429'") == [(1429, "people", "killing")]
    assert query(news_dsn, "SELECT count(*) FROM article_signatures") == [(4,)]

    rejects = query(news_dsn, "SELECT input, stage, reason FROM v_rejects ORDER BY input")
    assert rejects == [
        (str(drop / "scan.pdf"), "fetch", "unsupported file type: scan.pdf"),
        # The feed links one story twice: the tracking-parameter copy is the same input.
        (local_site.url("articles/mill-street-bridge-closure.html?utm_source=newsletter"),
         "discover",
         "same canonical URL as " + local_site.url("articles/mill-street-bridge-closure.html")),
        (local_site.url("articles/missing.html"), "fetch", "HTTP 404"),
        (local_site.url("report.pdf"), "fetch",
         "not an article page: content type application/pdf"),
    ]
    # Every discovered input ended as an article or a reject.
    assert query(news_dsn, "SELECT stage, count(*) FROM batch_items GROUP BY 1 ORDER BY 1") == [
        ("loaded", 4), ("rejected", 3),  # the repeated link was never staged
    ]
    fetched = query(news_dsn, "SELECT purpose, count(*) FROM fetch_log"
                               " WHERE source_name = 'feed' GROUP BY 1 ORDER BY 1")
    # The feed and its five distinct links.
    assert fetched == [("feed", 1), ("page", 5), ("robots", 1)]

    # discover got the run's data interval from its templates.
    assert query(news_dsn, "SELECT DISTINCT (window_start AT TIME ZONE 'UTC')::text,"
                            " (window_end AT TIME ZONE 'UTC')::text FROM batch_sources") == [
        ("2026-11-23 04:30:00", "2026-11-24 04:30:00")
    ]

    snapshot = "SELECT article_id, article_key, body, updated_at FROM articles ORDER BY 1"
    before = query(news_dsn, snapshot)
    quotes = "SELECT quote_id, article_id, quote_text FROM quotes ORDER BY 1"
    quotes_before = query(news_dsn, quotes)
    _airflow(["dags", "test", "news_ingest", "2026-11-25", "--conf", conf], env)
    assert query(news_dsn, snapshot) == before
    assert query(news_dsn, quotes) == quotes_before
    # `airflow dags test` makes a new manual run each time, and a manual run takes what
    # is new: nothing was left but the two URLs whose fetch was rejected, which a later
    # run tries again; the rejected file and the repeated link were taken by the first run.
    assert query(news_dsn, "SELECT input, attempts FROM rejects ORDER BY input") == [
        (str(drop / "scan.pdf"), 1),
        (local_site.url("articles/mill-street-bridge-closure.html?utm_source=newsletter"), 1),
        (local_site.url("articles/missing.html"), 2),
        (local_site.url("report.pdf"), 2),
    ]
