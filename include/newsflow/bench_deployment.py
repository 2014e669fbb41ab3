"""The benchmark's Airflow deployment: embedded PostgreSQL plus Airflow (API server, scheduler,
DAG processor), one triggered ``news_ingest`` run and its figures, and the sampling of the
deployment's CPU and memory.
"""

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psutil
import psycopg2
from psycopg2 import sql

from newsflow import dbserver, settings, storage
from newsflow.bench_site import BenchSite, free_port
from newsflow.bench_workspace import ROOT, log

DAG_ID = "news_ingest"
STAGES = {"discover": "discover", "fetch": "fetch", "clean": "clean",
          "fields": "extract_fields", "enrichment": "enrich", "load": "load"}
# Airflow as `make run` configures it; newsflow's own settings stay at their defaults (a
# fetch thread per host of the batch, the CPU stages over every core).
RECOMMENDED_ENV = {
    "AIRFLOW__CORE__PARALLELISM": "4",
}
# Settings the caller may not override: the benchmark runs at the default politeness.
FIXED_SETTINGS = ("NEWSFLOW_HOST_INTERVAL", "NEWSFLOW_MAX_CRAWL_DELAY", "NEWSFLOW_SOURCES_DIR",
                  "NEWSFLOW_SOURCE_SET", "NEWSFLOW_PRIVATE_HOSTS")
SAMPLE_SECONDS = 0.5


# Processes: CPU and memory of the deployment, sampled


class ProcessSampler:
    """Samples RSS and CPU time of process trees (Airflow, PostgreSQL) every half second."""

    def __init__(self) -> None:
        self.roots: list[int] = []
        self.cpu: dict[tuple[int, float], float] = {}
        self.parent: dict[tuple[int, float], int] = {}
        self.postgres: set[tuple[int, float]] = set()
        self.samples: list[tuple[float, dict[int, tuple[int, int]]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def cpu_snapshot(self) -> dict[tuple[int, float], float]:
        """CPU seconds of every process sampled so far (live or gone), by (pid, start)."""
        self.sample()
        return dict(self.cpu)

    def cpu_split(self, before: dict, after: dict, task_pids: set[int]) -> dict[str, float]:
        """CPU seconds used between two snapshots: task processes (and their workers),
        PostgreSQL, and the rest of Airflow (API server, scheduler, DAG processor)."""
        split = {"tasks": 0.0, "postgresql": 0.0, "airflow": 0.0}
        for key, seconds in after.items():
            used = seconds - before.get(key, 0.0)
            if key[0] in task_pids or self.parent.get(key) in task_pids:
                split["tasks"] += used
            elif key in self.postgres:
                split["postgresql"] += used
            else:
                split["airflow"] += used
        return {k: round(v, 1) for k, v in split.items()}

    def sample(self) -> None:
        seen: dict[int, tuple[int, int]] = {}
        for root in list(self.roots):
            try:
                tree = [psutil.Process(root)]
                tree += tree[0].children(recursive=True)
            except psutil.Error:
                continue
            for proc in tree:
                try:
                    with proc.oneshot():
                        times = proc.cpu_times()
                        seen[proc.pid] = (proc.ppid(), proc.memory_info().rss)
                        key = (proc.pid, proc.create_time())
                        self.cpu[key] = times.user + times.system
                        self.parent[key] = seen[proc.pid][0]
                        if root == self.roots[0]:
                            self.postgres.add(key)
                except psutil.Error:
                    continue
        self.samples.append((time.time(), seen))

    def _loop(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            self.sample()

    def peak_rss(self, pid: int, start: float, end: float) -> tuple[int, int]:
        """Peak RSS in [start, end] of the largest process in ``pid``'s tree, and of the tree.

        Forked workers share pages with their parent, which each one's RSS counts again:
        the tree's figure is an upper bound.
        """
        largest = whole = 0
        for moment, seen in self.samples:
            if not start <= moment <= end or pid not in seen:
                continue
            tree, total = {pid}, 0
            for child, (parent, rss) in sorted(seen.items()):
                if child in tree or parent in tree:
                    tree.add(child)
                    total += rss
                    largest = max(largest, rss)
            whole = max(whole, total)
        return largest, whole


# The deployment


class Deployment:
    """Embedded PostgreSQL plus Airflow (API server, scheduler, DAG processor) under .bench/."""

    def __init__(self, work: Path, sampler: ProcessSampler) -> None:
        self.work = work
        self.sampler = sampler
        self.procs: dict[str, subprocess.Popen] = {}
        self.pgdata = work / "pg"
        self.socket_dir: Path | None = None
        self.env: dict[str, str] = {}

    def start_database(self) -> None:
        dbserver.stop(self.pgdata)
        shutil.rmtree(self.pgdata, ignore_errors=True)
        log("starting a fresh embedded PostgreSQL")
        self.socket_dir = dbserver.start(self.pgdata, databases=("airflow", "news"))
        pid = int((self.pgdata / "postmaster.pid").read_text().split()[0])
        self.sampler.roots.append(pid)

    def dsn(self, database: str) -> str:
        return dbserver.dsn(self.socket_dir, database)

    def fresh_news_database(self, name: str) -> str:
        admin = psycopg2.connect(self.dsn("postgres"))
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        admin.close()
        # Migrated at "deployment", as the DAGs only check the schema.
        conn = storage.connect(self.dsn(name))
        storage.apply_migrations(conn)
        conn.close()
        return self.dsn(name)

    def start_airflow(self, empty_sources: Path) -> None:
        home = self.work / "airflow"
        shutil.rmtree(home, ignore_errors=True)
        (home / "run").mkdir(parents=True, mode=0o700)
        api_port = free_port()
        socket_dir = quote(str(self.socket_dir), safe="")
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("AIRFLOW") and k not in FIXED_SETTINGS}
        self.env = {
            **RECOMMENDED_ENV, **env,
            "AIRFLOW_HOME": str(home),
            "XDG_RUNTIME_DIR": str(home / "run"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN":
                f"postgresql+psycopg2://postgres@/airflow?host={socket_dir}",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(api_port),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            "AIRFLOW__API__SECRET_KEY": secrets.token_hex(32),
            "AIRFLOW_CONN_NEWS_DB": f"postgresql://postgres@/news?host={socket_dir}",
            # The runs' source sets live beside the empty default one; the bench site
            # serves on loopback addresses, which the deployment allows here.
            "NEWSFLOW_SOURCES_DIR": str(empty_sources.parent),
            "NEWSFLOW_SOURCE_SET": empty_sources.stem,
            "NEWSFLOW_PRIVATE_HOSTS": "127.0.0.0/8",
        }
        log("migrating Airflow's metadata database")
        self.run_airflow("db", "migrate")
        for component in ("api-server", "scheduler", "dag-processor"):
            with open(self.work / f"{component}.log", "wb") as out:
                self.procs[component] = subprocess.Popen(
                    [str(Path(sys.executable).parent / "airflow"), component], env=self.env,
                    cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    start_new_session=True)
            self.sampler.roots.append(self.procs[component].pid)
        log(f"Airflow starting (logs in {self.work}/*.log); waiting for the parsed DAG")
        self._wait(lambda: self.meta("SELECT 1 FROM serialized_dag WHERE dag_id = %s",
                                     (DAG_ID,)), 300, "the parsed DAG")

    def run_airflow(self, *args: str) -> str:
        result = subprocess.run([str(Path(sys.executable).parent / "airflow"), *args],
                                env=self.env, cwd=ROOT, capture_output=True, text=True)
        if result.returncode:
            raise SystemExit(f"airflow {' '.join(args)} failed:\n{result.stderr[-3000:]}")
        return result.stdout

    def meta(self, query: str, args: tuple = ()) -> list[tuple]:
        return _query(self.dsn("airflow"), query, args)

    def _wait(self, ready: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if ready():
                    return
            except psycopg2.Error:
                pass
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise SystemExit(f"{name} exited; see {self.work}/{name}.log")
            if time.monotonic() > deadline:
                raise SystemExit(f"{what} not there after {timeout} s; see {self.work}/*.log")
            time.sleep(1)

    def unpause_and_settle(self) -> None:
        """Unpause: the scheduler starts the latest interval's run (empty sources); wait it out."""
        self.run_airflow("dags", "unpause", DAG_ID)
        self._wait(lambda: self.meta("SELECT 1 FROM dag_run WHERE dag_id = %s AND state IN"
                                     " ('success', 'failed')", (DAG_ID,)), 600,
                   "the first scheduled run")
        log("scheduled run (no sources) done; the deployment is warm")

    def stop(self) -> None:
        for proc in self.procs.values():
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.procs.clear()
        if self.socket_dir:
            dbserver.stop(self.pgdata)


def _query(dsn: str, query: str, args: tuple = ()) -> list[tuple]:
    """All rows of one query on a new connection to ``dsn``."""
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(query, args)
            return cur.fetchall()
    finally:
        conn.close()


# One end-to-end run


def run_pipeline(deployment: Deployment, site: BenchSite, sampler: ProcessSampler,
                 sources: Path, count: int) -> dict[str, Any]:
    """Trigger news_ingest on ``sources`` into a fresh news database; the run's figures."""
    news = deployment.fresh_news_database("news")
    run_id = f"bench-{count}-{int(time.time())}"
    served_before = len(site.served)
    cpu_before = sampler.cpu_snapshot()
    load_before = os.getloadavg()
    log(f"N={count}: triggering {run_id}")
    deployment.run_airflow("dags", "trigger", DAG_ID, "--run-id", run_id,
                           "--conf", json.dumps({"source_set": sources.stem}))
    started = time.monotonic()
    # On a terminal one line redrawn every 2 s; into a file a line every 30 s.
    every = 2 if sys.stderr.isatty() else 30
    shown = 0.0
    while True:
        state = deployment.meta("SELECT state FROM dag_run WHERE run_id = %s", (run_id,))
        if state and state[0][0] in ("success", "failed"):
            break
        if time.monotonic() - shown >= every:
            shown = time.monotonic()
            _show_progress(deployment, news, run_id, count, shown - started)
        time.sleep(2)
    print(file=sys.stderr)
    cpu_after = sampler.cpu_snapshot()
    if state[0][0] != "success":
        raise SystemExit(f"run {run_id} failed; see {deployment.work}/scheduler.log and the"
                         " task logs under .bench/airflow/logs")
    (wall,) = deployment.meta(
        "SELECT extract(epoch FROM end_date - start_date) FROM dag_run WHERE run_id = %s",
        (run_id,))[0]
    tasks = {row[0]: row[1:] for row in deployment.meta(
        "SELECT task_id, extract(epoch FROM start_date), extract(epoch FROM end_date), pid"
        " FROM task_instance WHERE run_id = %s", (run_id,))}
    figures = _run_figures(news, count, wall, tasks, sampler)
    figures["cpu"] = sampler.cpu_split(cpu_before, cpu_after,
                                       {pid for _, _, pid in tasks.values() if pid})
    figures["cpu_seconds"] = round(sum(figures["cpu"].values()), 1)
    figures["load_average_before"] = [round(x, 2) for x in load_before]
    figures["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    figures["politeness"] = _politeness(site.served[served_before:], tasks.get("fetch"),
                                        float(wall))
    figures["news_dsn"] = news
    return figures


def _show_progress(deployment: Deployment, news: str, run_id: str, count: int,
                   elapsed: float) -> None:
    running = deployment.meta("SELECT task_id FROM task_instance WHERE run_id = %s"
                              " AND state = 'running'", (run_id,))
    try:
        stages = dict(_query(news, "SELECT stage, count(*) FROM batch_items GROUP BY stage"))
    except psycopg2.Error:
        stages = {}
    shown = ", ".join(f"{k} {v}" for k, v in sorted(stages.items()))
    task = running[0][0] if running else "waiting for the scheduler"
    line = f"  N={count} {elapsed:5.0f} s  task {task:<16} items: {shown or '-'}"[:150]
    if sys.stderr.isatty():
        print("\r" + line.ljust(150), end="", file=sys.stderr, flush=True)
    else:
        print(line, file=sys.stderr, flush=True)


def _run_figures(news: str, count: int, wall: float, tasks: dict, sampler: ProcessSampler
                 ) -> dict[str, Any]:
    """Articles/s end to end and per stage, rejects and peak memory per task."""
    articles = _query(news, "SELECT count(*) FROM articles")[0][0]
    rejects = dict(_query(news, "SELECT stage, count(*) FROM rejects GROUP BY stage"))
    staged = _query(news, "SELECT count(*) FROM batch_items")[0][0]
    # Items a stage took in: those staged minus those rejected at earlier stages.
    order = ["discover", "fetch", "clean", "extract", "enrich", "load"]
    stages = {}
    for name, task_id in STAGES.items():
        if task_id not in tasks:
            continue
        start, end, pid = tasks[task_id]
        seconds = float(end) - float(start)
        stage = "extract" if task_id == "extract_fields" else task_id
        earlier = order[: order.index(stage)]
        items = staged - sum(rejects.get(s, 0) for s in earlier if s != "discover")
        largest, whole = sampler.peak_rss(pid, float(start), float(end)) if pid else (0, 0)
        # The task process and its worker processes; the fetch task's workers clean the
        # pages fetched so far while it waits on hosts (settings.CLEAN_DURING_FETCH).
        workers = sum(seconds for key, seconds in sampler.cpu.items()
                      if pid and sampler.parent.get(key) == pid and key[1] >= float(start) - 5)
        cpu = workers + sum(seconds for key, seconds in sampler.cpu.items()
                            if pid and key[0] == pid and key[1] >= float(start) - 5)
        stages[name] = {
            "seconds": round(seconds, 1), "items": items,
            "items_per_s": round(items / seconds, 1) if seconds else None,
            "cpu_seconds": round(cpu, 1), "cpu_seconds_workers": round(workers, 1),
            "peak_rss_mib": round(largest / 2**20), "peak_rss_all_processes_mib":
                round(whole / 2**20),
        }
    orchestration = float(wall) - sum(s["seconds"] for s in stages.values())
    return {
        "pages": count, "articles": articles, "rejects": rejects,
        "wall_seconds": round(float(wall), 1),
        "articles_per_s": round(articles / float(wall), 2),
        "stages": stages, "between_tasks_seconds": round(orchestration, 1),
    }


def _politeness(served: list[tuple[str, str, float, float]], fetch_task: Any, wall: float
                ) -> dict[str, Any]:
    """How long the fetch stage had no page request in flight: waiting for host slots."""
    pages = sorted((start, end) for _, path, start, end in served
                   if path.endswith(".html"))
    if not pages or not fetch_task:
        return {}
    busy, cursor = 0.0, pages[0][0]
    for start, end in pages:
        start = max(start, cursor)
        if end > start:
            busy += end - start
            cursor = end
    span = pages[-1][1] - pages[0][0]
    per_host = Counter(host for host, path, _, _ in served if path.endswith(".html"))
    return {
        "fetch_seconds": round(float(fetch_task[1]) - float(fetch_task[0]), 1),
        "page_requests_span_seconds": round(span, 1),
        "waiting_seconds": round(span - busy, 1),
        "share_of_wall": round((span - busy) / wall, 3),
        "busiest_host_pages": max(per_host.values()),
        "interval_seconds": settings.HOST_INTERVAL,
    }
