"""Inputs of the enrichment unit tests: the seed and the wire-story fixtures, enriched once."""

import functools
from pathlib import Path
from typing import Any

from newsflow.enrichment import enrich_fields
from newsflow.fields import extract_article
from tests.conftest import FIXTURES, SEED

ENRICHMENT_FIXTURES = FIXTURES / "enrichment"
# The seed is the Geneva talks story of Friday 13 September 2013.
SEED_PUBLISHED = "2013-09-13T12:00:00+00:00"
WIRE_PUBLISHED = "2026-11-20T09:00:00+00:00"


@functools.cache
def seed_fields() -> dict[str, Any]:
    """The seed's fields as ``newsflow extract`` cleans them (related stories cut)."""
    return extract_article(SEED.read_bytes(), input_=str(SEED))


@functools.cache
def _enriched(key: str, published_at: str | None) -> dict[str, Any]:
    fields = dict(seed_fields()) if key == "seed" else {"body": fixture_body(key)}
    fields["published_at"] = published_at
    return {**fields, **enrich_fields(fields)}


def seed(published_at: str | None = None) -> dict[str, Any]:
    """The seed's fields with their enrichment (as of ``published_at``)."""
    return _enriched("seed", published_at)


def wire(published_at: str | None = WIRE_PUBLISHED) -> dict[str, Any]:
    """The wire story fixture, enriched."""
    return _enriched("wire_original", published_at)


def fixture_body(name: str) -> str:
    """The text of ``tests/fixtures/enrichment/<name>.txt``."""
    return (ENRICHMENT_FIXTURES / f"{name}.txt").read_text(encoding="utf-8").strip()


def by_name(entities: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Entities keyed by name."""
    return {entity["name"]: entity for entity in entities}


def fixture_path(name: str) -> Path:
    """The path of an enrichment fixture file."""
    return ENRICHMENT_FIXTURES / name
