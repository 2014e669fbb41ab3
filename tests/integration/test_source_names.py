"""Source names as analysts see them: an article belongs to the source that loaded it first.

The demo Gazette's three articles reach the database through its feed, and the next run
fetches the same pages again through a URL list: the pages now carry the list's name, the
articles keep the feed's. ``news_reprocess``'s ``sources`` and the source health figures
must both speak of the feed's articles, as ``v_articles`` does.
"""

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsflow import reporting, reprocess
from tests.conftest import DEMO, LocalSite
from tests.integration.conftest import rows, run_batch

ARTICLES = ["mill-street-bridge-closure", "library-extends-hours", "cannery-brewing-expansion"]


@pytest.fixture
def feed_then_list(news_conn: object, local_site: LocalSite, tmp_path: Path) -> object:
    """Night 1 loads the feed's three articles; night 2 fetches the same pages by URL list."""
    shutil.copytree(DEMO / "site", local_site.root, dirs_exist_ok=True)
    (tmp_path / "list.txt").write_text(
        "".join(local_site.url(f"articles/{name}.html") + "\n" for name in ARTICLES))
    feed = tmp_path / "feed.yaml"
    feed.write_text(f"sources:\n  - {{name: demo-feed, kind: feed,"
                    f" url: '{local_site.url('feed.xml')}', trust_canonical: true}}\n")
    listed = tmp_path / "list.yaml"
    listed.write_text("sources:\n  - {name: demo-urls, kind: urls, path: list.txt,"
                      " trust_canonical: true}\n")
    assert run_batch(news_conn, "night-1", feed) == {"demo-feed": {"loaded": 3}}
    # Loaded again, into the feed's articles: the list adds no article of its own.
    assert run_batch(news_conn, "night-2", listed) == {"demo-urls": {"loaded": 3}}
    assert rows(news_conn, "SELECT source_name, count(*) FROM v_articles GROUP BY 1") == [
        ("demo-feed", 3)]
    return news_conn


def test_reprocess_selects_pages_by_the_source_analysts_see(feed_then_list: object) -> None:
    conn = feed_then_list
    # The pages the list fetched last carry its name: the old rule found none for the feed.
    fetched_by = dict(rows(conn, "SELECT source_name, count(*) FROM pages GROUP BY 1"))
    assert fetched_by.get("demo-urls", 0) >= 2 and fetched_by.get("demo-feed", 0) < 3
    pages = sum(fetched_by.values())

    plan = reprocess.reprocess(conn, "dry", reprocess.parse_request(
        "", "", "demo-feed", "clean", True))
    assert plan["sources"] == {"demo-feed": {"pages": pages, "would_stage": pages}}
    plan = reprocess.reprocess(conn, "dry-2", reprocess.parse_request(
        "", "", "demo-urls", "clean", True))
    assert (plan["pages"], plan["sources_without_pages"]) == (0, ["demo-urls"])

    # A real run stages them under the analysts' name, and loads them back unchanged.
    summary = reprocess.reprocess(conn, "redo", reprocess.parse_request(
        "", "", "demo-feed", "clean", False))
    assert summary["staged"] == pages
    assert rows(conn, "SELECT DISTINCT source_name FROM batch_items WHERE batch_key = 'redo'"
                ) == [("demo-feed",)]


def test_dry_run_plan_reads_as_a_log_block(feed_then_list: object) -> None:
    plan = reprocess.reprocess(feed_then_list, "dry", reprocess.parse_request(
        "", "", "demo-feed,nowhere", "fields", True))
    text = reprocess.plan_text(plan)
    lines = text.splitlines()
    assert lines[0] == (f"DRY RUN, nothing changed: would re-run fields, enrichment on"
                        f" {plan['would_stage']} of {plan['pages']} stored pages")
    assert f"  demo-feed: pages {plan['pages']}, would stage {plan['would_stage']}" in lines
    assert "  no stored pages for: nowhere" in lines


def test_source_health_per_run_figures_agree_with_the_article_counts(
    feed_then_list: object,
) -> None:
    conn = feed_then_list
    reporting.refresh_views(conn)
    health = {name: rest for name, *rest in rows(
        conn, "SELECT source_name, articles, health_day_articles, runs, articles_per_run,"
              " inputs_loaded_per_run FROM v_source_health ORDER BY 1")}
    # The feed: 3 articles, all first loaded in its one run. The list: its run loaded 3
    # pages, into the feed's articles; it has no article, so no article per run either.
    assert health["demo-feed"] == [3, 3, 1, 3, 3]
    assert health["demo-urls"] == [0, 0, 1, 0, 3]
    today = datetime.now(UTC).date()
    data = reporting.collect(conn, today, today)
    assert {row["source_name"]: row["articles_per_run"] for row in data.health} == {
        "demo-feed": 3, "demo-urls": 0}
