"""Throughput benchmark: ``news_ingest`` on Airflow end to end, against its own parts and a peer.

    python -m newsflow.benchmark [--pages 2000] [--scale 500 1000] [--hosts 40] [--no-peer]

What ``make bench`` runs. It serves N real pages of the shared eval corpora (read from
``../shared/eval``, replicated under distinct URLs, their canonical links removed so each
copy is an article of its own) on loopback hosts 127.0.0.1 to 127.0.0.H, listed in an RSS
feed and a sitemap; starts a fresh embedded PostgreSQL and a real Airflow deployment
(API server, scheduler with the LocalExecutor, DAG processor); triggers ``news_ingest`` once
per N into a fresh news database, at the default per-host politeness interval; and prints:

- end-to-end articles/s, each stage's (from the task instances' durations), the share of
  the wall time that was politeness waiting (fetch time with no request in flight);
- the component floor: the same stages' functions in this one process over one copy of
  each corpus page, no Airflow, no staging; the ratio end-to-end / floor, and the CPU the
  deployment (Airflow, task processes, PostgreSQL) used beyond the components' own;
- load speed alone (articles/s with every child row), peak memory per task process, the
  slowest page;
- news-please (installed in its own virtual environment, ``.bench/newsplease-venv``, not a
  project dependency) on a sample of the same URLs, against newsflow with enrichment off;
- articles/s at each N, to see whether cost grows linearly.

Not a test: the figures depend on the machine and on what else runs on it.
"""

import argparse
import gzip
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psutil
import psycopg2
from psycopg2 import sql

from newsflow import dbserver, settings, storage

ROOT = settings.PROJECT_ROOT
WORK = ROOT / ".bench"
DEFAULT_EVAL_DIR = ROOT.parent / "shared" / "eval"
NEWSPLEASE_VERSION = "1.6.16"
NEWSPLEASE_VENV = WORK / "newsplease-venv"
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
CANONICAL_LINK = re.compile(rb"<link\b[^>]*\brel\s*=\s*[\"']?canonical\b[^>]*>", re.I)
SAMPLE_SECONDS = 0.5


def log(message: str) -> None:
    """A progress line on the terminal."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# The pages and their site


def corpus_pages(eval_dir: Path) -> list[tuple[str, bytes]]:
    """(name, HTML) of the English article pages: the aeb set and the fundus set."""
    pages = []
    for path in sorted((eval_dir / "aeb" / "html").glob("*.html.gz")):
        pages.append((path.name.split(".")[0][:12], gzip.decompress(path.read_bytes())))
    expected = eval_dir / "fundus" / "expected.json"
    if expected.exists():
        for item in json.loads(expected.read_text(encoding="utf-8"))["items"]:
            html = gzip.decompress((eval_dir / "fundus" / item["html"]).read_bytes())
            pages.append((item["html"].split("/")[-1].split(".")[0], html))
    if not pages:
        raise SystemExit(f"no pages under {eval_dir}: give --eval-dir")
    # Without this, every copy of a page would name its original as canonical: one article.
    return [(name, CANONICAL_LINK.sub(b"", html)) for name, html in pages]


@dataclass
class BenchSite:
    """Loopback HTTP servers 127.0.0.1..H on one port, serving pages from memory.

    Each request's host, path, arrival and end (``time.monotonic()``) are recorded.
    """

    hosts: int
    port: int = 0
    routes: dict[tuple[str, str], tuple[str, bytes]] = field(default_factory=dict)
    served: list[tuple[str, str, float, float]] = field(default_factory=list)
    servers: list[ThreadingHTTPServer] = field(default_factory=list)

    def address(self, index: int) -> str:
        return f"127.0.0.{1 + index % self.hosts}"

    def url(self, host: str, path: str) -> str:
        return f"http://{host}:{self.port}{path}"

    def add(self, host: str, path: str, content_type: str, body: bytes) -> str:
        self.routes[host, path] = (content_type, body)
        return self.url(host, path)

    def start(self) -> None:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                arrived = time.monotonic()
                host = self.server.server_address[0]
                route = site.routes.get((host, self.path))
                if self.path == "/robots.txt":
                    route = ("text/plain", b"User-agent: *\nAllow: /\n")
                status, (content_type, body) = (200, route) if route else (
                    404, ("text/plain", b"not found"))
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    return
                site.served.append((host, self.path, arrived, time.monotonic()))

            def log_message(self, format: str, *args: object) -> None:
                """Requests are recorded in ``served``, not logged."""

        for _ in range(20):
            port = _free_port()
            try:
                for index in range(self.hosts):
                    server = ThreadingHTTPServer((self.address(index), port), Handler)
                    server.daemon_threads = True
                    self.servers.append(server)
            except OSError:
                self.stop()
                continue
            self.port = port
            for server in self.servers:
                threading.Thread(target=server.serve_forever, daemon=True).start()
            return
        raise SystemExit("no port free on every loopback host")

    def stop(self) -> None:
        for server in self.servers:
            if self.port:  # serving: stop the loop first
                server.shutdown()
            server.server_close()
        self.servers.clear()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def publish_run(site: BenchSite, pages: list[tuple[str, bytes]], count: int, tag: str,
                folder: Path) -> tuple[Path, list[str]]:
    """Serve ``count`` copies of the pages under ``/<tag>/``, with a feed and a sitemap.

    Page i is on host i mod H, a copy of corpus page i mod len(pages). The feed lists the
    first half, the sitemap the rest. Returns the sources file and the URLs in order.
    """
    urls = []
    for index in range(count):
        name, html = pages[index % len(pages)]
        urls.append(site.add(site.address(index), f"/{tag}/{index:05d}-{name}.html",
                             "text/html; charset=utf-8", html))
    half = count // 2
    day = "Thu, 26 Nov 2026 04:00:00 +0000"
    items = "".join(f"<item><title>story {n}</title><link>{url}</link><pubDate>{day}</pubDate>"
                    "</item>" for n, url in enumerate(urls[:half]))
    feed = site.add("127.0.0.1", f"/{tag}/feed.xml", "application/rss+xml",
                    (f'<?xml version="1.0"?><rss version="2.0"><channel><title>bench</title>'
                     f"{items}</channel></rss>").encode())
    entries = "".join(f"<url><loc>{url}</loc><lastmod>2026-11-26</lastmod></url>"
                      for url in urls[half:])
    sitemap = site.add("127.0.0.1", f"/{tag}/sitemap.xml", "application/xml",
                       ('<?xml version="1.0"?><urlset xmlns='
                        f'"http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>'
                        ).encode())
    sources = folder / f"sources-{tag}.yaml"
    sources.write_text(
        "sources:\n"
        f"  - {{name: bench-feed, kind: feed, url: '{feed}'}}\n"
        f"  - {{name: bench-sitemap, kind: sitemap, url: '{sitemap}'}}\n"
    )
    return sources, urls


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
        api_port = _free_port()
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
        cpu = sum(seconds for key, seconds in sampler.cpu.items()
                  if pid and (key[0] == pid or sampler.parent.get(key) == pid)
                  and key[1] >= float(start) - 5)
        stages[name] = {
            "seconds": round(seconds, 1), "items": items,
            "items_per_s": round(items / seconds, 1) if seconds else None,
            "cpu_seconds": round(cpu, 1),
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


# The component floor: the stages' own functions in this process


def component_floor(urls: list[str], nlp: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Fetch, clean, fields, enrichment of each URL, one after another in this process.

    Returns the figures and the extracted fields of the articles.

    Fetching honours the default per-host interval in process (the URLs go round the
    hosts, so it rarely waits). Enrichment runs per page (``enrich_fields``), so that the
    slowest page can be named; the stage runs ``nlp.pipe`` batches, a little faster.
    One untimed page goes first: one-time loads (language model, spaCy's first call) are
    no page's cost.
    """
    from newsflow import pipeline
    from newsflow.fetching import FetchError
    from newsflow.httpclient import Fetcher

    fetcher = Fetcher()
    _floor_page(fetcher, urls[0], nlp)
    seconds: Counter[str] = Counter()
    cpu_started = time.process_time()
    started = time.perf_counter()
    slowest: tuple[float, str, dict[str, float]] = (0.0, "", {})
    articles = []
    for done, url in enumerate(urls, start=1):
        try:
            took, fields = _floor_page(fetcher, url, nlp)
        except (FetchError, pipeline.CleaningError) as error:
            log(f"floor: {url} rejected: {error}")
            continue
        articles.append(fields)
        seconds.update(took)
        if sum(took.values()) > slowest[0]:
            slowest = (sum(took.values()), url, took)
        if done % 10 == 0 or done == len(urls):
            print(f"\r  floor {done}/{len(urls)}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    wall = time.perf_counter() - started
    fetcher.close()
    return {
        "pages": len(urls), "articles": len(articles), "seconds": round(wall, 1),
        "cpu_seconds": round(time.process_time() - cpu_started, 1),
        "articles_per_s": round(len(articles) / wall, 2),
        "stages": {k: {"seconds": round(v, 1), "items_per_s": round(len(urls) / v, 1)}
                   for k, v in seconds.items()},
        "slowest_page": {"url": slowest[1], "seconds": round(slowest[0], 2),
                         "stages": {k: round(v, 2) for k, v in slowest[2].items()}},
    }, articles


def _floor_page(fetcher: Any, url: str, nlp: Any) -> tuple[dict[str, float], dict[str, Any]]:
    """Seconds each stage's functions took on one page (FetchError, CleaningError pass),
    and its fields."""
    from newsflow import enrichment, pipeline
    from newsflow.fetching import TEXT_TYPES, check_article_response

    took: dict[str, float] = {}
    mark = time.perf_counter()
    result = fetcher.get(url, accept=TEXT_TYPES)
    check_article_response(result)
    page = _stored_page(url, result)
    took["fetch"] = time.perf_counter() - mark
    mark = time.perf_counter()
    cleaned = pipeline._clean_item(
        storage.BatchItem("floor", url, "floor", {}, None, None, None), page)
    took["clean"] = time.perf_counter() - mark
    mark = time.perf_counter()
    fields = pipeline._extract_item(
        storage.BatchItem("floor", url, "floor", {}, None, cleaned, None), page)
    took["fields"] = time.perf_counter() - mark
    mark = time.perf_counter()
    enrichment.enrich_fields(fields, nlp)
    took["enrichment"] = time.perf_counter() - mark
    return took, fields


def _stored_page(url: str, result: Any) -> Any:
    """The page as the fetch stage stores it (see ``BatchCrawler.fetch_page``)."""
    from newsflow.crawl import _stored_as_utf8
    from newsflow.fetching import FetchedPage, canonicalize_url

    final_url = result.final_url or url
    return _stored_as_utf8(FetchedPage(canonicalize_url(final_url), "bench", url, final_url,
                                       result.status, result.content_type, result.content))


def extract_without_enrichment(urls: list[str], processes: int = 1) -> dict[str, Any]:
    """newsflow's fetch, clean and fields (no enrichment) over ``urls``, in ``processes``.

    With more than one, forked workers share the URLs, as news-please's process pool does
    (politeness is then per worker; the sample has one URL per host, so nobody waits).
    """
    started = time.perf_counter()
    if processes > 1:
        import multiprocessing

        with multiprocessing.get_context("fork").Pool(processes) as pool:
            found = pool.map(_peer_article, urls, chunksize=1)
    else:
        found = [_peer_article(url) for url in urls]
    seconds = time.perf_counter() - started
    articles = sum(found)
    return {"urls": len(urls), "articles": articles, "processes": processes,
            "seconds": round(seconds, 2), "articles_per_s": round(articles / seconds, 2)}


_PEER_FETCHER: Any = None


def _peer_article(url: str) -> bool:
    """Whether newsflow makes an article with a body of ``url`` (one fetcher per process)."""
    from newsflow import pipeline
    from newsflow.fetching import TEXT_TYPES, FetchError, check_article_response
    from newsflow.httpclient import Fetcher

    global _PEER_FETCHER
    _PEER_FETCHER = _PEER_FETCHER or Fetcher()
    try:
        result = _PEER_FETCHER.get(url, accept=TEXT_TYPES)
        check_article_response(result)
        page = _stored_page(url, result)
        item = storage.BatchItem("peer", url, "peer", {}, None, None, None)
        cleaned = pipeline._clean_item(item, page)
        item = storage.BatchItem("peer", url, "peer", {}, None, cleaned, None)
        return bool(pipeline._extract_item(item, page).get("body"))
    except (FetchError, pipeline.CleaningError):
        return False


# Load alone


def load_alone(news: str, repeats: int = 2) -> dict[str, Any]:
    """Re-load the run's enriched batch into emptied article tables; the best of ``repeats``."""
    from newsflow import pipeline

    conn = storage.connect(news)
    best: dict[str, Any] = {}
    try:
        (batch_key,) = _one(conn, "SELECT batch_key FROM batch_items LIMIT 1")
        for _ in range(repeats):
            with conn.cursor() as cur:
                cur.execute("TRUNCATE articles, entities, article_signatures CASCADE")
                cur.execute("UPDATE batch_items SET stage = 'enriched'"
                            " WHERE batch_key = %s AND stage = 'loaded'", (batch_key,))
            conn.commit()
            started = time.perf_counter()
            loaded = storage.upsert_articles(conn, batch_key)
            changed = storage.articles_changed_now(conn, batch_key)
            storage.replace_article_children(conn, changed)
            conn.commit()
            articles_seconds = time.perf_counter() - started
            with conn.cursor() as cur:
                cur.execute("TRUNCATE articles, entities, article_signatures CASCADE")
                cur.execute("UPDATE batch_items SET stage = 'enriched'"
                            " WHERE batch_key = %s AND stage = 'loaded'", (batch_key,))
            conn.commit()
            started = time.perf_counter()
            pipeline.load(conn, batch_key)
            whole_seconds = time.perf_counter() - started
            articles = sum(loaded.values())
            children = {table: _one(conn, f"SELECT count(*) FROM {table}")[0] for table in
                        ("article_entities", "quotes", "numbers", "mentioned_dates")}
            run = {"articles": articles, "child_rows": children,
                   "seconds": round(articles_seconds, 2),
                   "articles_per_s": round(articles / articles_seconds),
                   "with_duplicates_seconds": round(whole_seconds, 2),
                   "with_duplicates_articles_per_s": round(articles / whole_seconds)}
            if not best or run["articles_per_s"] > best["articles_per_s"]:
                best = run
    finally:
        conn.close()
    return best


def _one(conn: Any, query: str, args: tuple = ()) -> tuple:
    """The first row of one query."""
    with conn.cursor() as cur:
        cur.execute(query, args)
        return cur.fetchone()


# The peer


def newsplease_python() -> Path:
    """The Python of news-please's own venv, made (from PyPI) on first use."""
    python = NEWSPLEASE_VENV / "bin" / "python"
    if not python.exists() or subprocess.run(
        [str(python), "-c", "import newsplease"], capture_output=True).returncode:
        log(f"installing news-please {NEWSPLEASE_VERSION} into {NEWSPLEASE_VENV}"
            " (from PyPI, once)")
        subprocess.run([sys.executable, "-m", "venv", str(NEWSPLEASE_VENV)], check=True)
        uv = Path(sys.executable).parent / "uv"
        installer = ([str(uv), "pip", "install", "--quiet", "--python", str(python)]
                     if uv.exists() else [str(python), "-m", "pip", "install", "--quiet"])
        subprocess.run([*installer, f"news-please=={NEWSPLEASE_VERSION}"], check=True)
    return python


def newsplease_peer(urls: list[str]) -> dict[str, Any]:
    """news-please ``from_urls`` over ``urls``, installed in its own venv on first use."""
    python = newsplease_python()
    log(f"news-please {NEWSPLEASE_VERSION}: from_urls over {len(urls)} URLs")
    result = subprocess.run(
        [str(python), str(ROOT / "scripts" / "newsplease_peer.py")], input=json.dumps(urls),
        capture_output=True, text=True, check=False)
    if result.returncode:
        raise SystemExit(f"news-please failed:\n{result.stderr[-3000:]}")
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    articles = sum(1 for chars in figures["maintext_chars"].values() if chars)
    return {"urls": len(urls), "articles": articles, "seconds": round(figures["seconds"], 2),
            "articles_per_s": round(articles / figures["seconds"], 2)}


# The report


def machine() -> dict[str, Any]:
    """Cores, CPU model, memory and load of this machine."""
    model = ""
    with open("/proc/cpuinfo", encoding="utf-8") as info:
        for line in info:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"cores": os.cpu_count(), "cpu": model,
            "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "load_average": [round(x, 2) for x in os.getloadavg()]}


def print_report(figures: dict[str, Any]) -> None:
    """The table of figures against the targets."""
    main = figures["runs"][str(figures["pages"])]
    box = figures["machine"]
    lines = [
        f"newsflow benchmark: {figures['pages']} pages ({figures['corpus_pages']} corpus pages"
        f" replicated) on {figures['hosts']} loopback hosts, host interval"
        f" {settings.HOST_INTERVAL:g} s, {figures['settings']}",
        f"machine: {box['cores']} cores, {box['cpu']}, {box['ram_gib']} GiB RAM;"
        f" load average at the end {box['load_average']}",
        "",
        f"end to end (Airflow LocalExecutor, scheduler): {main['articles']} articles in"
        f" {main['wall_seconds']} s = {main['articles_per_s']} articles/s"
        f" ({main['articles_per_s'] * 3600:,.0f}/hour); rejects {main['rejects'] or 'none'}",
        f"  load average during the run: {main['load_average_before']} before,"
        f" {main['load_average_after']} after",
        f"  {'stage':<12}{'seconds':>9}{'items':>7}{'items/s':>9}{'CPU s':>8}"
        f"{'CPU s/article':>14}{'peak RSS MiB: task process':>28}{'with its workers':>18}",
    ]
    for name, stage in main["stages"].items():
        lines.append(f"  {name:<12}{stage['seconds']:>9}{stage['items']:>7}"
                     f"{stage['items_per_s']:>9}{stage['cpu_seconds']:>8}"
                     f"{stage['cpu_seconds'] / max(main['articles'], 1):>14.4f}"
                     f"{stage['peak_rss_mib'] or '-':>28}"
                     f"{stage['peak_rss_all_processes_mib'] or '-':>18}")
    lines.append(
        f"  CPU per article, every process of the deployment: {main['cpu_seconds']} s /"
        f" {main['articles']} = {main['cpu_seconds'] / max(main['articles'], 1):.3f} s"
        f" ({main['cpu']}; target <= 0.12 s): "
        + ("MET" if main["cpu_seconds"] <= 0.12 * main["articles"] else "NOT MET"))
    lines.append(f"  {'between tasks (scheduling)':<28}{main['between_tasks_seconds']:>9}")
    polite = main["politeness"]
    if polite:
        lines.append(
            f"  politeness: page requests spanned {polite['page_requests_span_seconds']} s of the"
            f" fetch task's {polite['fetch_seconds']} s; no request in flight for"
            f" {polite['waiting_seconds']} s = {polite['share_of_wall']:.0%} of the wall time"
            f" (busiest host {polite['busiest_host_pages']} pages at"
            f" {polite['interval_seconds']:g} s)")
    floor = figures.get("floor")
    if floor:
        ratio = main["articles_per_s"] / floor["articles_per_s"]
        scaled_cpu = floor["cpu_seconds"] * main["pages"] / floor["pages"]
        overhead = (main["cpu_seconds"] - scaled_cpu) / scaled_cpu
        lines += [
            "",
            f"component floor (one process, no Airflow, no staging): {floor['articles']} articles"
            f" in {floor['seconds']} s = {floor['articles_per_s']} articles/s;"
            f" CPU {floor['cpu_seconds']} s",
            "  " + ", ".join(f"{k} {v['seconds']} s ({v['items_per_s']}/s)"
                             for k, v in floor["stages"].items()),
            f"  end to end / floor = {ratio:.2f}x (target >= 1.6x): "
            + ("MET" if ratio >= 1.6 else "NOT MET"),
            f"  deployment CPU {main['cpu_seconds']} s ({main['cpu']}) vs the components'"
            f" {scaled_cpu:.0f} s for {main['pages']} pages: overhead {overhead:+.0%}"
            " (target <= 10%): " + ("MET" if overhead <= 0.10 else "NOT MET"),
            f"  slowest page: {floor['slowest_page']['url']} {floor['slowest_page']['seconds']} s"
            f" {floor['slowest_page']['stages']}",
        ]
    compared = figures.get("enrichment_cpu_by_stage")
    if compared:
        runs = compared["per_article"]
        lines += ["", f"enrichment CPU s per article by stage, before/after (the floor's"
                      f" {compared['articles']} articles, in this process, mean of"
                      f" {compared['rounds']} rounds; same results:"
                      f" {'yes' if compared['same_results'] else 'NO'}):"]
        for stage in [*dict.fromkeys(stage for run in runs.values() for stage in run
                                     if stage != "total"), "total"]:
            lines.append(f"  {stage:<28}" + "".join(
                f"{name} {runs[name].get(stage, '-')}  " for name in runs))
        before = runs["before"]["total"]
        lines += [f"  {name}: {run['total'] / before:.0%} of before's CPU per article"
                  f" (target <= 50%)" for name, run in runs.items() if name != "before"]
    load = figures.get("load_alone")
    if load:
        lines += [
            "",
            f"load alone: {load['articles']} articles with {sum(load['child_rows'].values())}"
            f" child rows {load['child_rows']} in {load['seconds']} s ="
            f" {load['articles_per_s']} articles/s (target >= 5,000/s): "
            + ("MET" if load["articles_per_s"] >= 5000 else "NOT MET"),
            f"  with near-duplicate clustering (the whole load task):"
            f" {load['with_duplicates_seconds']} s ="
            f" {load['with_duplicates_articles_per_s']} articles/s",
        ]
    peer = figures.get("peer")
    if peer:
        ours, one = peer["newsflow"], peer["newsflow_one_process"]
        theirs = peer["newsplease"]
        ratio = ours["articles_per_s"] / theirs["articles_per_s"] if theirs["articles_per_s"] \
            else float("inf")
        lines += [
            "",
            f"peer on equal work ({theirs['urls']} of the same URLs, sampled):",
            f"  news-please {NEWSPLEASE_VERSION} from_urls: {theirs['articles']} articles in"
            f" {theirs['seconds']} s = {theirs['articles_per_s']} articles/s",
            f"  newsflow fetch+clean+fields, enrichment off, {ours['processes']} processes"
            f" (news-please uses a process per core too): {ours['articles']} articles in"
            f" {ours['seconds']} s ="
            f" {ours['articles_per_s']} articles/s; one process {one['articles_per_s']}"
            " articles/s",
            f"  newsflow / news-please = {ratio:.1f}x (target >= 10x): "
            + ("MET" if ratio >= 10 else "NOT MET"),
        ]
    lines += ["", "scaling (end to end, fresh database each):"]
    for count, run in sorted(figures["runs"].items(), key=lambda kv: int(kv[0])):
        lines.append(f"  N={int(count):>5}: {run['articles']:>5} articles in"
                     f" {run['wall_seconds']:>6} s = {run['articles_per_s']:>6} articles/s")
    print("\n".join(lines))


# Entry point


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m newsflow.benchmark",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=2000, help="N of the main run")
    parser.add_argument("--scale", type=int, nargs="*", default=[500, 1000],
                        help="smaller N also run, for scaling (default 500 1000; none: --scale)")
    parser.add_argument("--hosts", type=int, default=40, help="loopback hosts (max 254)")
    parser.add_argument("--eval-dir", type=Path, default=DEFAULT_EVAL_DIR)
    parser.add_argument("--floor-pages", type=int, default=0,
                        help="pages of the floor (default: one copy of each corpus page)")
    parser.add_argument("--peer-pages", type=int, default=40,
                        help="URLs given to news-please and to newsflow (default 40)")
    parser.add_argument("--no-peer", action="store_true", help="skip news-please")
    parser.add_argument("--no-floor", action="store_true", help="skip the component floor")
    parser.add_argument("--keep-database", action="store_true",
                        help="leave the embedded PostgreSQL running, with the main run's data")
    parser.add_argument("--json", type=Path, default=WORK / "results.json",
                        help="also write the figures here")
    args = parser.parse_args(argv)
    # The bench site's loopback hosts, for the in-process comparisons too.
    os.environ["NEWSFLOW_PRIVATE_HOSTS"] = "127.0.0.0/8"

    WORK.mkdir(exist_ok=True)
    pages = corpus_pages(args.eval_dir)
    counts = sorted({*args.scale, args.pages})
    log(f"{len(pages)} corpus pages from {args.eval_dir}; runs at N = {counts}")
    site = BenchSite(args.hosts)
    site.start()
    empty = WORK / "sources-none.yaml"
    empty.write_text("sources: []\n")
    published = {count: publish_run(site, pages, count, f"n{count}", WORK) for count in counts}
    sampler = ProcessSampler()
    deployment = Deployment(WORK, sampler)
    figures: dict[str, Any] = {
        "pages": args.pages, "corpus_pages": len(pages), "hosts": args.hosts,
        "settings": ", ".join(f"{k}={v}" for k, v in sorted(
            {**RECOMMENDED_ENV, **{k: v for k, v in os.environ.items() if k.startswith(
                "NEWSFLOW_") and k not in FIXED_SETTINGS}}.items())), "runs": {},
    }
    try:
        deployment.start_database()
        sampler.start()
        deployment.start_airflow(empty)
        deployment.unpause_and_settle()
        for count in counts:
            sources, _ = published[count]
            run = run_pipeline(deployment, site, sampler, sources, count)
            figures["runs"][str(count)] = run
            log(f"N={count}: {run['articles']} articles in {run['wall_seconds']} s ="
                f" {run['articles_per_s']} articles/s")
        main_urls = published[args.pages][1]
        news = figures["runs"][str(args.pages)].pop("news_dsn")
        log("load alone: re-loading the main run's enriched batch")
        figures["load_alone"] = load_alone(news)
        if args.keep_database:
            log(f"the main run's news database stays up: {news}")
            deployment.socket_dir = None
        deployment.stop()
        sampler.stop()
        if not args.no_floor:
            from newsflow import enrichment_bench
            from newsflow.enrichment import load_model

            floor_urls = main_urls[: args.floor_pages or len(pages)]
            log(f"component floor over {len(floor_urls)} pages in this process")
            figures["floor"], floor_fields = component_floor(floor_urls, load_model())
            log("enrichment CPU by stage, spaCy's pipeline before issue 18 and now")
            figures["enrichment_cpu_by_stage"] = enrichment_bench.compare(floor_fields)
        if not args.no_peer:
            peer_urls = main_urls[: args.peer_pages]
            figures["peer"] = {
                "newsplease": newsplease_peer(peer_urls),
                "newsflow_one_process": extract_without_enrichment(peer_urls),
                "newsflow": extract_without_enrichment(peer_urls, settings.CPU_PROCESSES),
            }
    finally:
        deployment.stop()
        site.stop()
    for run in figures["runs"].values():
        run.pop("news_dsn", None)
    figures["machine"] = machine()
    args.json.write_text(json.dumps(figures, indent=2))
    print_report(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
