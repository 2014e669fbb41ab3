"""Fixtures for the integration tests."""

import gzip
import shutil
import threading
import time
from pathlib import Path

import psycopg2
import pytest

from newsflow import discovery, fetch_stage, item_stage, load_stage, pipeline
from tests.conftest import DEMO, SEED, LocalSite, Reply


def run_batch(conn: object, batch_key: str, sources: Path) -> dict:
    """All stages of one batch, as the DAG runs them; returns the load summary."""
    discovery.discover(conn, batch_key, sources)
    for stage in (fetch_stage.fetch, pipeline.clean, pipeline.extract, pipeline.enrich):
        stage(conn, batch_key)
    return load_stage.load(conn, batch_key)


def rows(conn: object, query: str) -> list[tuple]:
    """All rows of a query."""
    with conn.cursor() as cur:
        cur.execute(query)
        return cur.fetchall()


def batch_outcomes(conn: object, batch_key: str) -> tuple[list[tuple], list[tuple]]:
    """Each input's stage and staged results (input, stage, cleaned, fields), and each
    reject (input, stage, reason), in input order."""
    with conn.cursor() as cur:
        cur.execute("SELECT input, stage, cleaned, fields FROM batch_items"
                    " WHERE batch_key = %s ORDER BY input", (batch_key,))
        items = cur.fetchall()
        cur.execute("SELECT input, stage, reason FROM batch_rejects"
                    " WHERE batch_key = %s ORDER BY input", (batch_key,))
        return items, cur.fetchall()


@pytest.fixture
def seed_drop(tmp_path: Path) -> Path:
    """A drop folder with the seed, a gzipped demo HTML page and a PDF that must be rejected."""
    drop = tmp_path / "drop"
    drop.mkdir()
    shutil.copy(SEED, drop / SEED.name)
    page = (DEMO / "drop" / "harbour-gallery.html").read_bytes()
    (drop / "harbour-gallery.html.gz").write_bytes(gzip.compress(page))
    (drop / "notes.pdf").write_bytes(b"%PDF-1.4 not an article")
    (drop / ".DS_Store").write_bytes(b"\0\0")
    return drop


def article_page(n: int) -> str:
    """An article of a few paragraphs, different for each ``n``."""
    paragraphs = "".join(
        f"<p>Paragraph {p} of story {n}: the council met on Tuesday to discuss the harbour"
        f" works, and residents asked how long the road along the quay would stay closed"
        f" this winter, which the engineer put at {n + p} weeks.</p>" for p in range(4))
    return (f"<html><head><title>Story {n}</title></head><body><article><h1>Story {n}"
            f"</h1>{paragraphs}</article></body></html>")


def gated_article_site(site: LocalSite, tmp_path: Path, dsn: str, batch_key: str | None,
                       pages: int, stubs: int, release: threading.Event | None = None) -> Path:
    """A URL list (source ``list``) of ``pages`` articles, ``stubs`` stubs too short to be
    one, and, last in input order, one more article: a sources file.

    With ``batch_key``, that last article is first answered only once the batch has
    ``item_stage.CHUNK_SIZE`` items cleaned (at most a minute): a fetch that does not clean
    while it fetches waits a minute for it, then finds too few items cleaned. With
    ``release``, also only once that is set (at most a minute).
    """
    for n in range(pages):
        (site.root / f"p{n:03d}.html").write_text(article_page(n))
    for n in range(stubs):
        (site.root / f"s{n:03d}.html").write_text("<html><body><p>Coming soon.</p></body></html>")

    opened: list[bool] = []  # the gate holds the first request only

    def last_page(headers: dict[str, str]) -> Reply:
        if batch_key is not None and not opened:
            conn = psycopg2.connect(dsn)
            try:
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline and rows(
                    conn, "SELECT count(*) FROM batch_items WHERE stage = 'cleaned'"
                    f" AND batch_key = '{batch_key}'")[0][0] < item_stage.CHUNK_SIZE:
                    conn.rollback()
                    time.sleep(0.05)
            finally:
                conn.close()
        if release is not None:
            release.wait(60)
        opened.append(True)
        return Reply(body=article_page(pages).encode(),
                     headers={"Content-Type": "text/html; charset=utf-8"})

    urls = [site.url(f"p{n:03d}.html") for n in range(pages)]
    urls += [site.url(f"s{n:03d}.html") for n in range(stubs)]
    urls.append(site.route("z-last.html", last_page))
    listing = tmp_path / "list.txt"
    listing.write_text("".join(f"{url}\n" for url in urls))
    sources = tmp_path / "sources.yaml"
    sources.write_text(f"sources:\n  - {{name: list, kind: urls, path: '{listing}'}}\n")
    return sources
