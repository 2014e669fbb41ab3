"""The benchmark's site: eval corpus pages served from memory on loopback hosts 127.0.0.1 to
127.0.0.H, each run's copies listed in an RSS feed and a sitemap.
"""

import gzip
import json
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CANONICAL_LINK = re.compile(rb"<link\b[^>]*\brel\s*=\s*[\"']?canonical\b[^>]*>", re.I)


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
            port = free_port()
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


def free_port() -> int:
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
