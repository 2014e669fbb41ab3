"""Faults in the cleaning the fetch task does while it waits on hosts: a fetch killed with
SIGKILL mid-overlap, a page whose cleaning raises, a save that fails half-way. Each leaves
a consistent batch whose retry ends exactly as a batch fetched without the overlap."""

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import psycopg2
import pytest

from newsflow import discovery, fetch_stage, item_stage, load_stage, pipeline, settings, staging
from tests.conftest import LocalSite
from tests.faults.conftest import check_ledger, run_stages
from tests.integration.conftest import batch_outcomes, gated_article_site, rows

PAGES, STUBS = 110, 3  # more than two chunks of item_stage.CHUNK_SIZE
FETCH = ("import sys; from newsflow import fetch_stage, storage;"
         " fetch_stage.fetch(storage.connect(sys.argv[1]), sys.argv[2])")


def _reference(conn: object, sources: Path, monkeypatch: pytest.MonkeyPatch
               ) -> tuple[list[tuple], list[tuple]]:
    """The batch's rows when fetched without the overlap and nothing goes wrong."""
    with monkeypatch.context() as patch:
        patch.setattr(settings, "CLEAN_DURING_FETCH", False)
        run_stages(conn, "reference", sources)
    return batch_outcomes(conn, "reference")


def _expected(site: LocalSite) -> set[str]:
    return {*(site.url(f"p{n:03d}.html") for n in range(PAGES)),
            *(site.url(f"s{n:03d}.html") for n in range(STUBS)), site.url("z-last.html")}


def _cleaned(dsn: str, batch_key: str) -> int:
    conn = psycopg2.connect(dsn)
    try:
        return staging.count_at_stage(conn, batch_key, "cleaned")
    finally:
        conn.close()


def test_fetch_killed_with_sigkill_while_cleaning_then_retried(
    news_conn: object, writer_dsn: str, local_site: LocalSite, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The last page hangs until the test lets it go: the fetch is killed waiting for it,
    # with a chunk cleaned during fetch and its workers alive.
    release = threading.Event()
    sources = gated_article_site(local_site, tmp_path, writer_dsn, "killed", PAGES, STUBS,
                                 release)
    discovery.discover(news_conn, "killed", sources)
    task = subprocess.Popen([sys.executable, "-c", FETCH, writer_dsn, "killed"])
    deadline = time.monotonic() + 120
    while not (local_site.hits("z-last.html") and _cleaned(writer_dsn, "killed")):
        assert task.poll() is None and time.monotonic() < deadline, "fetch never got there"
        time.sleep(0.05)
    workers = psutil.Process(task.pid).children()
    assert workers, "no cleaning workers while fetching"
    os.kill(task.pid, signal.SIGKILL)
    assert task.wait(timeout=30) == -signal.SIGKILL
    # The workers die with the task (they hold no connection, and are not left behind).
    gone, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive, alive
    release.set()
    half = dict(rows(news_conn, "SELECT stage, count(*) FROM batch_items"
                                " WHERE batch_key = 'killed' GROUP BY 1"))
    assert half.get("cleaned", 0) >= item_stage.CHUNK_SIZE and half["discovered"] == 1, half

    # Airflow's retry of fetch, then the tasks after it, on the same batch.
    for stage in (fetch_stage.fetch, pipeline.clean, pipeline.extract, pipeline.enrich,
                  load_stage.load):
        stage(news_conn, "killed")
    entries = check_ledger(news_conn, "SIGKILL while cleaning during fetch, retried", "killed",
                           _expected(local_site))
    assert sum(e.outcome == "article" for e in entries.values()) == PAGES + 1
    assert batch_outcomes(news_conn, "killed") == _reference(news_conn, sources, monkeypatch)


def test_a_page_whose_cleaning_raises_during_fetch_is_left_to_the_clean_task(
    news_conn: object, writer_dsn: str, local_site: LocalSite, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    sources = gated_article_site(local_site, tmp_path, writer_dsn, "raising", PAGES, STUBS)
    odd = local_site.url("p007.html")
    clean_item = pipeline._clean_item

    def flaky(item: staging.BatchItem, page: staging.StoredPage) -> dict:
        if item.input == odd:
            raise RuntimeError("a bug met while fetching")
        return clean_item(item, page)

    discovery.discover(news_conn, "raising", sources)
    with monkeypatch.context() as patch, caplog.at_level(logging.INFO):
        patch.setattr(pipeline, "_clean_item", flaky)  # the fork workers inherit it
        fetch_stage.fetch(news_conn, "raising")
    # Not rejected as an internal error by the fetch task: left for the clean task,
    # which decides (here the fault is gone, and the page is an article).
    assert rows(news_conn, "SELECT stage FROM batch_items WHERE batch_key = 'raising'"
                           f" AND input = '{odd}'") == [("fetched",)]
    assert any("1 failed unexpectedly here and are left to it" in r.getMessage()
               for r in caplog.records)
    for stage in (pipeline.clean, pipeline.extract, pipeline.enrich, load_stage.load):
        stage(news_conn, "raising")
    check_ledger(news_conn, "cleaning raised during fetch", "raising", _expected(local_site))
    assert batch_outcomes(news_conn, "raising") == _reference(news_conn, sources, monkeypatch)


def test_a_save_failing_half_way_during_fetch_leaves_nothing_half_saved(
    news_conn: object, writer_dsn: str, local_site: LocalSite, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    # The last page waits for the failed save: the fetch is still running when it fails.
    release = threading.Event()
    sources = gated_article_site(local_site, tmp_path, writer_dsn, "half", PAGES, STUBS,
                                 release)
    save = item_stage.save_outcomes
    calls = []

    def failing_second_time(conn: object, batch_key: str, stage: str, target: str,
                            chunk: list, *args: object, **kwargs: object) -> int:
        calls.append(len(chunk))
        if len(calls) < 2:
            return save(conn, batch_key, stage, target, chunk, *args, **kwargs)
        # Written, not committed, then the connection "fails".
        staging.save_stage_results(conn, batch_key, target, "cleaned",
                                   {item.input: {"half": True} for item in chunk})
        release.set()
        raise psycopg2.OperationalError("server closed the connection unexpectedly")

    discovery.discover(news_conn, "half", sources)
    with monkeypatch.context() as patch, caplog.at_level(logging.INFO):
        patch.setattr(item_stage, "save_outcomes", failing_second_time)
        assert fetch_stage.fetch(news_conn, "half") == {"list": {"fetched": PAGES + STUBS + 1}}
    assert len(calls) == 2
    assert any("cleaning during fetch stopped" in r.getMessage() for r in caplog.records)
    assert rows(news_conn, "SELECT count(*) FROM batch_items WHERE batch_key = 'half'"
                           " AND cleaned ? 'half'") == [(0,)]
    # The first chunk (articles only) saved, the second not at all.
    assert staging.count_at_stage(news_conn, "half", "cleaned") == calls[0]
    for stage in (pipeline.clean, pipeline.extract, pipeline.enrich, load_stage.load):
        stage(news_conn, "half")
    check_ledger(news_conn, "save failed during fetch", "half", _expected(local_site))
    assert batch_outcomes(news_conn, "half") == _reference(news_conn, sources, monkeypatch)
