"""The pipeline's stages over feeds on a real local HTTP server and a real PostgreSQL."""

import shutil
import threading
from pathlib import Path

import pytest

from newsflow import discovery, item_stage, storage
from tests.conftest import DEMO, LocalSite, demo_drop
from tests.integration.conftest import rows, run_batch


def _sources(tmp_path: Path, entries: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n" + entries)
    return path


@pytest.fixture
def demo_site(local_site: LocalSite) -> LocalSite:
    """The demo feed and its three articles, plus a stub page too short to be an article."""
    shutil.copytree(DEMO / "site", local_site.root, dirs_exist_ok=True)
    (local_site.root / "stub.html").write_text("<html><body><p>Coming soon.</p></body></html>")
    (local_site.root / "home.html").write_text("<html><body><h1>Home</h1></body></html>")
    return local_site


def test_feed_articles_are_loaded_with_feed_and_page_metadata(
    news_conn: object, demo_site: LocalSite, tmp_path: Path
) -> None:
    feed_url = demo_site.url("feed.xml")
    # The demo site mirrors gazette.example: its canonical links are believed.
    sources = _sources(tmp_path, f"  - {{name: gazette, kind: feed, url: '{feed_url}',"
                                 " trust_canonical: true}\n")
    summary = run_batch(news_conn, "b1", sources)

    assert summary == {"gazette": {"loaded": 3}}
    assert rows(
        news_conn,
        "SELECT canonical_url, published_at::text, language, site_name FROM v_articles"
        " ORDER BY published_at",
    ) == [
        ("https://gazette.example/news/mill-street-bridge-closure",
         "2026-11-17 13:30:00+00", "en", "Riverside Gazette"),
        ("https://gazette.example/news/library-extends-hours",
         "2026-11-19 19:15:00+00", "en", "Riverside Gazette"),
        ("https://gazette.example/news/cannery-brewing-expansion",
         "2026-11-20 15:00:00+00", "en", "Riverside Gazette"),
    ]
    assert rows(
        news_conn,
        "SELECT author, author_position, author_kind FROM v_article_authors"
        " JOIN v_articles USING (article_id)"
        " WHERE canonical_url LIKE '%library%' ORDER BY author_position",
    ) == [("Daniel Reyes", 1, "person"), ("Priya Natarajan", 2, "person")]
    # The feed link carried utm_* parameters; the fetch log has the URL as discovered.
    assert any("utm_source=rss" in url for (url,) in rows(news_conn, "SELECT url FROM fetch_log"))
    assert rows(
        news_conn, "SELECT source_name, articles, rejects, fetches, failed_fetches"
        " FROM v_source_health",
    ) == [("gazette", 3, 0, 4, 0)]


def test_unusable_inputs_end_as_rejects_with_their_reason(
    news_conn: object, demo_site: LocalSite, tmp_path: Path
) -> None:
    feed = demo_site.root / "bad-feed.xml"
    feed.write_text(
        '<rss version="2.0"><channel><title>t</title>'
        "<item><link>stub.html</link></item><item><link>gone.html</link></item>"
        "</channel></rss>"
    )
    sources = _sources(
        tmp_path,
        f"  - {{name: bad, kind: feed, url: '{demo_site.url('bad-feed.xml')}'}}\n"
        f"  - {{name: not-a-feed, kind: feed, url: '{demo_site.url('home.html')}'}}\n"
        f"  - {{name: missing-feed, kind: feed, url: '{demo_site.url('nope.xml')}'}}\n",
    )
    run_batch(news_conn, "b1", sources)

    assert rows(news_conn, "SELECT source_name, stage, reason FROM v_rejects ORDER BY 1") == [
        ("bad", "fetch", "HTTP 404"),
        ("bad", "clean", "body too short for an article (12 < 200 characters)"),
        ("missing-feed", "discover", "feed answered HTTP 404"),
        ("not-a-feed", "discover", "not a feed: no RSS or Atom root element"),
    ]
    assert rows(news_conn, "SELECT count(*) FROM articles") == [(0,)]


PRODUCT_PAGE = """<html><head><title>Blue kettle</title>
<script type="application/ld+json">{"@type": "Product", "name": "Blue kettle"}</script></head>
<body><h1>Blue kettle</h1><p>%s</p></body></html>""" % (
    "A blue kettle of enamelled steel that holds 1.7 litres and boils fast on gas, electric "
    "and induction hobs; its handle stays cool and its whistle is loud enough. " * 3)


def test_non_articles_are_rejected_unless_the_source_accepts_any_page(
    news_conn: object, demo_site: LocalSite, tmp_path: Path
) -> None:
    (demo_site.root / "kettle.html").write_text(PRODUCT_PAGE)
    (tmp_path / "shop.txt").write_text(demo_site.url("kettle.html") + "\n")
    (tmp_path / "shop-any.txt").write_text(demo_site.url("kettle.html") + "?any=1\n")
    sources = _sources(
        tmp_path,
        "  - {name: shop, kind: urls, path: shop.txt}\n"
        "  - {name: shop-any, kind: urls, path: shop-any.txt, accept: any}\n",
    )
    run_batch(news_conn, "b1", sources)

    assert rows(news_conn, "SELECT source_name, stage, reason FROM v_rejects") == [
        ("shop", "extract", "not an article (product)")]
    assert rows(news_conn, "SELECT source_name, page_type FROM articles") == [
        ("shop-any", "product")]


def test_discovery_fails_loudly_when_every_source_fails(
    news_conn: object, tmp_path: Path
) -> None:
    sources = _sources(tmp_path, "  - {name: dead, kind: feed, url: 'http://127.0.0.1:9/feed'}\n")
    with pytest.raises(item_stage.StageError, match="all 1 enabled sources failed"):
        discovery.discover(news_conn, "b1", sources)
    [(stage, reason)] = rows(news_conn, "SELECT stage, reason FROM rejects")
    assert stage == "discover"
    assert reason.startswith("feed unreachable: robots.txt unavailable (ConnectionError")


def test_two_runs_at_once_leave_the_same_rows_as_one(
    writer_dsn: str, news_conn: object, demo_site: LocalSite, tmp_path: Path
) -> None:
    sources = _sources(
        tmp_path,
        f"  - {{name: gazette, kind: feed, url: '{demo_site.url('feed.xml')}'}}\n"
        f"  - {{name: drop, kind: folder, path: '{demo_drop(tmp_path)}'}}\n",
    )
    errors: list[BaseException] = []

    def run(batch_key: str) -> None:
        conn = storage.connect(writer_dsn)
        try:
            run_batch(conn, batch_key, sources)
        except BaseException as error:  # collected and re-raised in the main thread
            errors.append(error)
        finally:
            conn.close()

    threads = [threading.Thread(target=run, args=(f"parallel-{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    parallel = rows(news_conn, "SELECT article_key, title, body FROM articles ORDER BY 1")

    run_batch(news_conn, "sequential", sources)
    assert len(parallel) == 7
    assert rows(news_conn, "SELECT article_key, title, body FROM articles ORDER BY 1") == parallel
    assert rows(news_conn, "SELECT count(*) FROM pages") == [(7,)]
