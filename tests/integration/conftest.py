"""Fixtures for the integration tests."""

import gzip
import shutil
from pathlib import Path

import pytest

from newsflow import discovery, fetch_stage, pipeline
from tests.conftest import DEMO, SEED


def run_batch(conn: object, batch_key: str, sources: Path) -> dict:
    """All stages of one batch, as the DAG runs them; returns the load summary."""
    discovery.discover(conn, batch_key, sources)
    for stage in (fetch_stage.fetch, pipeline.clean, pipeline.extract, pipeline.enrich):
        stage(conn, batch_key)
    return pipeline.load(conn, batch_key)


def rows(conn: object, query: str) -> list[tuple]:
    """All rows of a query."""
    with conn.cursor() as cur:
        cur.execute(query)
        return cur.fetchall()


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
