"""Provenance: the extractor version stamped on every article a load writes.

The version is newsflow's own version plus a short hash of everything that shapes the
extracted fields besides the page itself: the settings cleaning, extraction and
enrichment read, and the versions of the libraries doing that work. Two processes with
the same version extract the same fields from the same page, so a re-extraction with an
unchanged version changes nothing, and one with a new version is recorded as such.
"""

import hashlib
import json
from importlib import metadata
from typing import Any

from newsflow import settings

# Distributions whose version changes extracted fields (cleaning, dates, languages, NLP).
EXTRACTION_LIBRARIES = ("trafilatura", "htmldate", "py3langid", "spacy")


def _version_of(distribution: str) -> str:
    """A distribution's installed version, or "absent"."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "absent"


def extraction_settings() -> dict[str, Any]:
    """The settings and library versions that shape extracted fields, as plain data."""
    return {
        "MIN_BODY_CHARS": settings.MIN_BODY_CHARS,
        "MAX_HTML_ELEMENTS": settings.MAX_HTML_ELEMENTS,
        "SPACY_MODEL": settings.SPACY_MODEL,
        "SPACY_MODEL_VERSION": _version_of(settings.SPACY_MODEL),
        "ENRICH_MAX_CHARS": settings.ENRICH_MAX_CHARS,
        **{f"lib:{name}": _version_of(name) for name in EXTRACTION_LIBRARIES},
    }


def extractor_version() -> str:
    """``<newsflow version>+<12 hex digits of the extraction settings' SHA-256>``.

    Returns:
        e.g. ``0.1.0+3f2a9c41d0be``.
    """
    canonical = json.dumps(extraction_settings(), sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12]
    return f"{_version_of('newsflow')}+{digest}"
