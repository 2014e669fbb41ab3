"""The fetch task cleans the pages it has fetched while it waits on hosts; the clean task
cleans the rest, and the batch ends exactly as without the overlap."""

import logging
import re
from pathlib import Path

import pytest

from newsflow import discovery, fetch_stage, item_stage, pipeline, settings
from tests.conftest import LocalSite
from tests.integration.conftest import batch_outcomes, gated_article_site, rows

PAGES, STUBS = 120, 4  # more than two chunks of item_stage.CHUNK_SIZE


def _stages(conn: object, batch_key: str) -> dict[str, int]:
    return dict(rows(conn, "SELECT stage, count(*) FROM batch_items"
                           f" WHERE batch_key = '{batch_key}' GROUP BY stage"))


def test_fetch_cleans_what_it_fetched_and_clean_takes_the_rest_with_the_same_results(
    news_conn: object, writer_dsn: str, local_site: LocalSite, tmp_path: Path,
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The last page is answered only once a chunk of the batch is cleaned: the cleaning
    # provably happened while the fetch was still waiting for a page.
    sources = gated_article_site(local_site, tmp_path, writer_dsn, "on", PAGES, STUBS)
    discovery.discover(news_conn, "on", sources)
    with caplog.at_level(logging.INFO):
        fetched = fetch_stage.fetch(news_conn, "on")
    assert fetched == {"list": {"fetched": PAGES + STUBS + 1}}
    during = _stages(news_conn, "on")
    assert during.get("cleaned", 0) >= item_stage.CHUNK_SIZE, during
    assert "discovered" not in during and sum(during.values()) == PAGES + STUBS + 1, during
    [line] = [r.getMessage() for r in caplog.records if "while fetching" in r.getMessage()]
    cleaned, rejected = map(int, re.findall(r"cleaned (\d+) pages and rejected (\d+)", line)[0])
    assert (cleaned, rejected) == (during["cleaned"], during.get("rejected", 0)), line

    caplog.clear()
    with caplog.at_level(logging.INFO):
        stats = pipeline.clean(news_conn, "on")
    assert stats == {"list": {"cleaned": PAGES + 1, "rejected": STUBS}}
    assert any(f"{cleaned} pages cleaned and {rejected} rejected before this task" in
               r.getMessage() and f"the {during['fetched']} still fetched" in r.getMessage()
               for r in caplog.records), [r.getMessage() for r in caplog.records]

    # The same inputs in a batch fetched with the overlap off: cleaned by the clean task alone.
    monkeypatch.setattr(settings, "CLEAN_DURING_FETCH", False)
    discovery.discover(news_conn, "off", sources)
    fetch_stage.fetch(news_conn, "off")
    assert _stages(news_conn, "off") == {"fetched": PAGES + STUBS + 1}
    assert pipeline.clean(news_conn, "off") == stats
    assert batch_outcomes(news_conn, "on") == batch_outcomes(news_conn, "off")
    cleaned_rows, rejects = batch_outcomes(news_conn, "on")
    assert {stage for _, stage, _, _ in cleaned_rows} == {"cleaned", "rejected"}
    assert [(stage, reason[:21]) for _, stage, reason in rejects] == [
        ("clean", "body too short for an")] * STUBS


def test_small_batches_are_left_to_the_clean_task(
    news_conn: object, writer_dsn: str, local_site: LocalSite, tmp_path: Path
) -> None:
    # Fewer URLs than a chunk: no worker processes are started during fetch.
    sources = gated_article_site(local_site, tmp_path, writer_dsn, None, 10, 1)
    discovery.discover(news_conn, "small", sources)
    fetch_stage.fetch(news_conn, "small")
    assert _stages(news_conn, "small") == {"fetched": 12}
    assert pipeline.clean(news_conn, "small") == {"list": {"cleaned": 11, "rejected": 1}}


def test_a_fetch_whose_cleaning_workers_cannot_start_fetches_all_and_leaves_cleaning(
    news_conn: object, writer_dsn: str, local_site: LocalSite, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    # The machine refuses a new process (EAGAIN, as under a process limit): the overlap is
    # an optimisation, so the fetch goes on without it and the clean task cleans it all.
    def no_fork() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    sources = gated_article_site(local_site, tmp_path, writer_dsn, None, 60, 1)
    discovery.discover(news_conn, "no-fork", sources)
    with monkeypatch.context() as patch, caplog.at_level(logging.WARNING):
        patch.setattr("os.fork", no_fork)
        fetch_stage.fetch(news_conn, "no-fork")
    assert "not cleaning during fetch" in caplog.text
    assert _stages(news_conn, "no-fork") == {"fetched": 62}
    assert pipeline.clean(news_conn, "no-fork") == {"list": {"cleaned": 61, "rejected": 1}}
