"""Fixtures for the integration tests."""

import gzip
import shutil
from pathlib import Path

import pytest

from tests.conftest import DEMO, SEED


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
