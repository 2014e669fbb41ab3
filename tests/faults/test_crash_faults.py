"""Crashes: PostgreSQL stopped in the middle of a load, a task's process killed with SIGKILL."""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from psycopg2.extensions import make_dsn

from newsflow import article_store, dbserver, discovery, fetch_stage, load_stage, pipeline, storage
from tests.conftest import AIRFLOW_ENV, ROOT, Logins, airflow_conn_uri, source_set_env
from tests.faults import hostile as h
from tests.faults.conftest import (
    article,
    check_ledger,
    database_text,
    outcomes,
    url_list,
    write_sources,
)
from tests.integration.conftest import rows

AIRFLOW = str(Path(sys.executable).parent / "airflow")


@pytest.fixture
def own_server() -> Iterator[tuple[Path, str]]:
    """An embedded PostgreSQL of this test's own (it gets stopped): (pgdata, news DSN)."""
    parent = Path(tempfile.mkdtemp(prefix="newsflow-faults-pg-"))
    pgdata = parent / "data"
    socket_dir = dbserver.start(pgdata, databases=("news",))
    try:
        yield pgdata, dbserver.dsn(socket_dir, "news")
    finally:
        dbserver.stop(pgdata)
        shutil.rmtree(parent, ignore_errors=True)


def _connect_when_up(dsn: str, timeout: float = 60) -> object:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return psycopg2.connect(dsn)
        except psycopg2.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class Reader(threading.Thread):
    """Polls the article count as an analyst's session would, reconnecting after outages."""

    def __init__(self, dsn: str) -> None:
        super().__init__(daemon=True)
        self.dsn = dsn
        self.seen: list[int] = []
        self.outages = 0
        self.stop = threading.Event()

    def run(self) -> None:
        conn = None
        while not self.stop.is_set():
            try:
                if conn is None:
                    conn = psycopg2.connect(self.dsn)
                    conn.autocommit = True
                with conn.cursor() as cur:
                    cur.execute("SELECT count(*) FROM v_articles")
                    self.seen.append(cur.fetchone()[0])
            except psycopg2.Error:
                self.outages += 1
                with contextlib.suppress(psycopg2.Error):
                    if conn is not None:
                        conn.close()
                conn = None
            time.sleep(0.01)
        if conn is not None:
            conn.close()


# A crash (immediate) takes seconds and runs in `make test` too; a clean stop only in
# `make faults`.
@pytest.mark.parametrize("mode", ["immediate", pytest.param("fast", marks=pytest.mark.faults_slow)])
def test_postgres_stopped_in_the_middle_of_a_load(
    own_server: tuple[Path, str], hostile: h.HostileServer, tmp_path: Path, mode: str
) -> None:
    pgdata, dsn = own_server
    conn = storage.connect(dsn)
    storage.apply_migrations(conn)
    urls = [hostile.route(f"story-{n}", h.reply(body=article(f"Story {n}"))) for n in range(8)]
    urls.append(hostile.url("missing"))
    sources = write_sources(tmp_path, url_list(tmp_path, "list", urls))
    batch = f"pg-stop-{mode}"
    discovery.discover(conn, batch, sources)
    for stage in (fetch_stage.fetch, pipeline.clean, pipeline.extract, pipeline.enrich):
        stage(conn, batch)
    conn.close()

    # Another session holds the duplicate-cluster lock, so the load stops right after its
    # article upsert, inside its one transaction; there the server goes down.
    blocker = storage.connect(dsn)
    blocker.autocommit = True
    with blocker.cursor() as cur:
        cur.execute("SELECT pg_advisory_lock(%s)", (article_store.DUPLICATES_LOCK_ID,))
    reader = Reader(dsn)
    reader.start()
    failures: list[BaseException] = []

    def load() -> None:
        task_conn = storage.connect(dsn)
        try:
            load_stage.load(task_conn, batch)
        except BaseException as error:  # the task's failure, checked below
            failures.append(error)
        finally:
            with contextlib.suppress(psycopg2.Error):
                task_conn.close()

    task = threading.Thread(target=load)
    task.start()
    deadline = time.monotonic() + 60
    while not rows(blocker, "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"):
        assert time.monotonic() < deadline and task.is_alive(), failures
        time.sleep(0.02)
    # The waiting load has written to articles in its open transaction (it holds the
    # table's row-exclusive lock): readers must not see those rows.
    [(load_pid, writing)] = rows(blocker, """
        SELECT w.pid, EXISTS (SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
                              WHERE l.pid = w.pid AND c.relname = 'articles'
                                AND l.mode = 'RowExclusiveLock' AND l.granted)
        FROM pg_locks w WHERE w.locktype = 'advisory' AND NOT w.granted""")
    assert writing, f"load (pid {load_pid}) has not written to articles yet"
    assert dbserver.stop(pgdata, mode=mode)
    task.join(timeout=60)
    assert [type(e).__name__ for e in failures] in (["OperationalError"], ["InterfaceError"])

    dbserver.start(pgdata, databases=())
    retry = _connect_when_up(dsn)
    assert rows(retry, "SELECT count(*) FROM articles") == [(0,)]
    assert rows(retry, "SELECT stage, count(*) FROM batch_items GROUP BY 1 ORDER BY 1") == [
        ("enriched", 8), ("rejected", 1)]
    load_stage.load(retry, batch)  # Airflow's retry of the failed load task
    deadline = time.monotonic() + 30
    while not reader.seen or reader.seen[-1] != 8:
        assert time.monotonic() < deadline, reader.seen[-20:]
        time.sleep(0.05)
    reader.stop.set()
    reader.join(timeout=10)
    entries = check_ledger(retry, f"PostgreSQL stopped mid-load ({mode}), retried", batch,
                           set(urls))
    assert sorted(set(outcomes(entries).values())) == ["article", "fetch: HTTP 404"]
    # Whole or nothing: the polling reader saw no article, then all eight, never a part.
    assert set(reader.seen) == {0, 8}, sorted(set(reader.seen))
    assert reader.outages > 0
    print(f"reader polled {len(reader.seen)} times, {reader.outages} failed during the outage")
    retry.close()
    blocker.close()


def _airflow_env(tmp_path: Path, dsn: str, sources: Path) -> dict[str, str]:
    """An Airflow home of the test's own, news_db a writer login on the migrated ``dsn``,
    ``sources`` the default source set."""
    admin = storage.connect(dsn)
    storage.apply_migrations(admin)
    storage.create_login(admin, "newsflow_faults_writer", storage.WRITER)
    admin.close()
    env = {
        **os.environ, **AIRFLOW_ENV, **source_set_env(sources),
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW_CONN_NEWS_DB": airflow_conn_uri(make_dsn(dsn, user="newsflow_faults_writer")),
    }
    subprocess.run([AIRFLOW, "db", "migrate"], env=env, cwd=ROOT, check=True,
                   capture_output=True, timeout=300)
    return env


@pytest.mark.faults_slow
@pytest.mark.timeout(900)
def test_airflow_load_task_fails_when_postgres_stops_and_its_retry_loads_the_batch(
    own_server: tuple[Path, str], hostile: h.HostileServer, tmp_path: Path
) -> None:
    pgdata, dsn = own_server
    urls = [hostile.route(f"story-{n}", h.reply(body=article(f"Story {n}"))) for n in range(6)]
    sources = write_sources(tmp_path, url_list(tmp_path, "list", urls))
    env = _airflow_env(tmp_path, dsn, sources)
    # The DAG run up to enrich; its load task is marked done without running, to be run below.
    run = subprocess.run([AIRFLOW, "dags", "test", "news_ingest", "2026-11-25",
                          "--mark-success-pattern", "^load$"],
                         env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    blocker = storage.connect(dsn)
    blocker.autocommit = True
    [(batch_key,)] = rows(blocker, "SELECT DISTINCT batch_key FROM batch_items")
    assert rows(blocker, "SELECT stage, count(*) FROM batch_items GROUP BY 1") == [
        ("enriched", 6)]
    with blocker.cursor() as cur:
        cur.execute("SELECT pg_advisory_lock(%s)", (article_store.DUPLICATES_LOCK_ID,))
    reader = Reader(dsn)
    reader.start()
    load = [AIRFLOW, "tasks", "test", "news_ingest", "load", batch_key]
    with open(tmp_path / "load-1.log", "wb") as log:
        task = subprocess.Popen(load, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while not rows(blocker, "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"):
        assert time.monotonic() < deadline and task.poll() is None, (
            (tmp_path / "load-1.log").read_text()[-3000:])
        time.sleep(0.1)
    assert dbserver.stop(pgdata, mode="immediate")
    # The task fails loudly and Airflow's task runner sets it up for retry (`tasks test`
    # itself exits 0 either way).
    task.wait(timeout=120)
    failed_log = (tmp_path / "load-1.log").read_text(errors="replace")
    assert "Task failed with exception" in failed_log, failed_log[-3000:]
    assert "OperationalError" in failed_log and "new_state=up_for_retry" in failed_log

    dbserver.start(pgdata, databases=())
    retry = subprocess.run(load, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert retry.returncode == 0, (retry.stdout + retry.stderr)[-3000:]
    assert "new_state=success" in retry.stdout + retry.stderr
    conn = _connect_when_up(dsn)
    deadline = time.monotonic() + 30
    while not reader.seen or reader.seen[-1] != 6:
        assert time.monotonic() < deadline, reader.seen[-20:]
        time.sleep(0.05)
    reader.stop.set()
    reader.join(timeout=10)
    entries = check_ledger(conn, "PostgreSQL stopped in an Airflow load task, retried",
                           batch_key, set(urls))
    assert set(outcomes(entries).values()) == {"article"}
    assert set(reader.seen) == {0, 6} and reader.outages > 0, sorted(set(reader.seen))
    assert "ledger: 6 inputs, 6 articles, 0 rejects, 0 lost, 0 counted twice" in retry.stdout \
        + retry.stderr
    conn.close()


@pytest.mark.faults_slow
@pytest.mark.timeout(900)
def test_airflow_task_killed_with_sigkill_mid_fetch_then_retried(
    news_dsn: str, writer_dsn: str, pg_logins: Logins, hostile: h.HostileServer, tmp_path: Path
) -> None:
    # Each page drips for about a second, so the fetch task is mid-batch when it is killed.
    urls = [hostile.route(f"story-{n}", h.drip(article(f"Story {n}"), 0.05, 64))
            for n in range(10)]
    urls.append(hostile.url("missing"))
    sources = write_sources(tmp_path, url_list(tmp_path, "list", urls + ["not a url"]))
    # The writer's password is in the connection: it must show up in no log.
    secret = pg_logins.password
    env = {
        **os.environ, **AIRFLOW_ENV, **source_set_env(sources),
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW_CONN_NEWS_DB": airflow_conn_uri(writer_dsn),
    }
    subprocess.run([AIRFLOW, "db", "migrate"], env=env, cwd=ROOT, check=True,
                   capture_output=True, timeout=300)
    command = [AIRFLOW, "dags", "test", "news_ingest", "2026-11-25"]
    outputs = []

    with open(tmp_path / "killed.log", "wb") as log:
        killed = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    fetched = "SELECT count(*) FROM batch_items WHERE stage = 'fetched'"
    deadline = time.monotonic() + 300
    while True:
        assert killed.poll() is None, (tmp_path / "killed.log").read_text()[-3000:]
        assert time.monotonic() < deadline, "fetch never got under way"
        with contextlib.suppress(psycopg2.Error):
            conn = psycopg2.connect(news_dsn)
            try:
                if rows(conn, "SELECT to_regclass('batch_items') IS NOT NULL") == [(True,)] \
                        and rows(conn, fetched)[0][0] >= 3:
                    break
            finally:
                conn.close()
        time.sleep(0.1)
    os.killpg(killed.pid, signal.SIGKILL)
    assert killed.wait(timeout=30) == -signal.SIGKILL
    outputs.append((tmp_path / "killed.log").read_text(errors="replace"))
    # Killed inside the fetch task, run by Airflow's task runner in that process.
    assert "starting task_id=fetch" in outputs[0]
    assert "starting task_id=clean" not in outputs[0]
    conn = psycopg2.connect(news_dsn)
    half = dict(rows(conn, "SELECT stage, count(*) FROM batch_items GROUP BY 1"))
    assert half.get("discovered", 0) > 0 and half.get("fetched", 0) >= 3, half
    assert rows(conn, "SELECT count(*) FROM articles") == [(0,)]

    # The retry of the killed task and the tasks after it, each by Airflow's task runner
    # (`airflow tasks test`) in the same DAG run, so on the same batch.
    [(batch_key,)] = rows(conn, "SELECT DISTINCT batch_key FROM batch_items")
    for task_id in ("fetch", "clean", "extract_fields", "enrich", "load"):
        retry = subprocess.run([AIRFLOW, "tasks", "test", "news_ingest", task_id, batch_key],
                               env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
        outputs.append(retry.stdout + retry.stderr)
        assert retry.returncode == 0, outputs[-1][-3000:]
        assert "new_state=success" in outputs[-1], outputs[-1][-3000:]
    entries = check_ledger(conn, "SIGKILL mid-fetch (Airflow), retried", batch_key,
                           {*urls, "not a url"})
    assert sorted(set(outcomes(entries).values())) == [
        "article", "discover: line 12: not an absolute http(s) URL", "fetch: HTTP 404"]
    assert rows(conn, "SELECT count(*) FROM articles") == [(10,)]
    logs = "".join(p.read_text(errors="replace")
                   for p in (tmp_path / "airflow").rglob("*") if p.is_file()
                   and p.suffix in (".log", ".json", ""))
    assert secret not in "".join(outputs) + logs + database_text(conn)
    conn.close()
