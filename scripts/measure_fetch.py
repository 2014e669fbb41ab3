"""Throughput of discover + fetch against local servers: a measurement, not a test.

Serves PAGES article pages spread over HOSTS loopback addresses (127.0.0.2, 127.0.0.3, ...),
lists them in a URL-list source, and times the discover and fetch stages on an embedded
PostgreSQL, once per host interval given. Pages per second and the per-host spacing seen
by the servers are printed.

    .venv/bin/python scripts/measure_fetch.py [--pages 200] [--hosts 8] [--intervals 1 0]
"""

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg2

from newsflow import dbserver, discovery, fetch_stage, settings, storage

ROOT = Path(__file__).resolve().parents[1]
ARTICLE = ROOT / "include" / "demo" / "site" / "articles" / "library-extends-hours.html"


class QuietHandler(SimpleHTTPRequestHandler):
    """Serves the folder, records arrival times per server, logs nothing."""

    protocol_version = "HTTP/1.1"
    arrivals: list[float]

    def do_GET(self) -> None:  # noqa: N802
        self.arrivals.append(time.monotonic())
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:
        pass


def serve(folder: Path, host: str) -> tuple[ThreadingHTTPServer, list[float]]:
    arrivals: list[float] = []
    handler = type("Handler", (QuietHandler,), {"arrivals": arrivals})
    server = ThreadingHTTPServer((host, 0), partial(handler, directory=str(folder)))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, arrivals


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--hosts", type=int, default=8)
    parser.add_argument("--intervals", type=float, nargs="+", default=[1.0, 0.0])
    parser.add_argument("--workers", type=int, nargs="+", default=[settings.FETCH_WORKERS])
    args = parser.parse_args()
    # The measured servers listen on loopback addresses: allowed as a deployment would.
    os.environ.setdefault("NEWSFLOW_PRIVATE_HOSTS", "127.0.0.0/8")

    work = Path(tempfile.mkdtemp(prefix="newsflow-measure-"))
    socket_dir = dbserver.start(work / "pg", databases=())
    admin = dbserver.dsn(socket_dir, "postgres")
    servers = []
    try:
        site = work / "site"
        site.mkdir()
        body = ARTICLE.read_bytes()
        for n in range(args.pages):
            (site / f"story-{n}.html").write_bytes(body.replace(b"Riverside library",
                                                                f"Story {n}".encode()))
        urls: list[str] = []
        arrivals_by_host = []
        for h in range(args.hosts):
            server, arrivals = serve(site, f"127.0.0.{h + 2}")
            servers.append(server)
            arrivals_by_host.append(arrivals)
            host, port = server.server_address[:2]
            urls += [f"http://{host}:{port}/story-{n}.html"
                     for n in range(h, args.pages, args.hosts)]
        (work / "urls.txt").write_text("\n".join(urls) + "\n")
        sources = work / "sources.yaml"
        sources.write_text("sources:\n  - {name: bench, kind: urls, path: urls.txt}\n")

        print(f"{args.pages} pages on {args.hosts} hosts, {len(body)} bytes each")
        print("interval_s  workers  discover_s  fetch_s  pages/s  min_gap_per_host_s")
        for interval in args.intervals:
            for workers in args.workers:
                settings.HOST_INTERVAL = interval
                settings.FETCH_WORKERS = workers
                name = f"measure_{int(interval * 1000)}_{workers}"
                conn = psycopg2.connect(admin)
                conn.autocommit = True
                with conn.cursor() as cur:
                    cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
                    cur.execute(f'CREATE DATABASE "{name}"')
                conn.close()
                conn = storage.connect(dbserver.dsn(socket_dir, name))
                storage.apply_migrations(conn)
                for arrivals in arrivals_by_host:
                    arrivals.clear()
                started = time.monotonic()
                discovery.discover(conn, "bench", sources)
                discovered = time.monotonic()
                stats = fetch_stage.fetch(conn, "bench")
                done = time.monotonic()
                conn.close()
                fetched = stats.get("bench", {}).get("fetched", 0)
                gaps = [b - a for arrivals in arrivals_by_host
                        for a, b in zip(arrivals, arrivals[1:], strict=False)]
                print(f"{interval:10.2f}  {workers:7d}  {discovered - started:10.2f}"
                      f"  {done - discovered:7.2f}  {fetched / (done - started):7.1f}"
                      f"  {min(gaps):18.3f}   ({fetched} fetched)")
    finally:
        for server in servers:
            server.shutdown()
        dbserver.stop(work / "pg")
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
