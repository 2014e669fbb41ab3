"""Sources: the YAML list of where articles come from, and discovery of their inputs.

A source has a ``name``, a ``kind`` and options; ``enabled: false`` switches it off.
Kinds so far: ``feed`` (an RSS/Atom feed over HTTP, option ``url``) and ``folder``
(a drop folder of saved ``.html``/``.htm``/``.txt`` articles, gzipped too, option ``path``
relative to the YAML file).
"""

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import feedparser
import yaml

from newsflow import settings

LOGGER = logging.getLogger(__name__)

KINDS = ("feed", "folder")


class SourceConfigError(ValueError):
    """The sources file cannot be used as it is."""


@dataclass(frozen=True)
class Source:
    """One configured source."""

    name: str
    kind: str
    location: str  # feed URL or absolute folder path
    enabled: bool = True
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Discovery:
    """An input found by discovery: a URL or a file path, with what the source said of it."""

    source_name: str
    input: str
    hints: dict[str, Any] = field(default_factory=dict)


def load_sources(path: Path | None = None) -> list[Source]:
    """Read and validate the sources file.

    Args:
        path: the YAML file; defaults to ``settings.sources_file()``.

    Returns:
        Every source in the file, enabled or not, in file order.

    Raises:
        SourceConfigError: the file is missing, malformed or names a source twice.
    """
    path = Path(path or settings.sources_file())
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise SourceConfigError(f"cannot read sources file {path}: {error}") from error
    entries = (document or {}).get("sources") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise SourceConfigError(f"{path}: expected a top-level 'sources:' list")
    sources = [_parse_source(entry, path.parent) for entry in entries]
    names = [s.name for s in sources]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise SourceConfigError(f"{path}: source names used twice: {', '.join(duplicates)}")
    return sources


def _parse_source(entry: Any, base: Path) -> Source:
    """Turn one YAML mapping into a Source, resolving folder paths against ``base``."""
    if not isinstance(entry, dict) or not entry.get("name") or not entry.get("kind"):
        raise SourceConfigError(f"each source needs a name and a kind, got: {entry!r}")
    name, kind = str(entry["name"]), str(entry["kind"])
    if kind not in KINDS:
        raise SourceConfigError(f"source {name}: unknown kind {kind!r} (known: {KINDS})")
    key = "url" if kind == "feed" else "path"
    if not entry.get(key):
        raise SourceConfigError(f"source {name}: kind {kind} needs '{key}'")
    location = str(entry[key])
    if kind == "folder":
        location = str((base / location).resolve())
    options = {k: v for k, v in entry.items() if k not in ("name", "kind", "enabled", key)}
    return Source(name, kind, location, bool(entry.get("enabled", True)), options)


def parse_feed(feed_bytes: bytes, feed_url: str, source_name: str) -> list[Discovery]:
    """The article links of an RSS/Atom document, with title, date and summary as hints."""
    parsed = feedparser.parse(feed_bytes)
    # Well-formed HTML (a feed URL now serving a home page) is no parse error to
    # feedparser, only a document without a feed version.
    if not parsed.entries and (parsed.bozo or not parsed.get("version")):
        problem = parsed.get("bozo_exception") or "no RSS or Atom root element"
        raise ValueError(f"not a feed: {problem}")
    discoveries: list[Discovery] = []
    for entry in parsed.entries:
        link = entry.get("link")
        if not link:
            continue
        hints = {
            "title": entry.get("title"),
            "published": entry.get("published") or entry.get("updated"),
            "summary": entry.get("summary"),
            "authors": [a["name"] for a in entry.get("authors", []) if a.get("name")],
        }
        discoveries.append(
            Discovery(
                source_name,
                urljoin(feed_url, link.strip()),
                {key: value for key, value in hints.items() if value},
            )
        )
    return discoveries


def list_folder(source: Source) -> list[Discovery]:
    """Every visible file in a drop folder, recursively, in name order.

    Files of types we cannot read are listed too: the fetch stage rejects them with a
    reason, so nothing dropped in the folder disappears without a trace.
    """
    folder = Path(source.location)
    if not folder.is_dir():
        raise SourceConfigError(f"source {source.name}: {folder} is not a folder")
    files = sorted(
        p for p in folder.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )
    return [
        Discovery(source.name, str(p), {"relative_path": p.relative_to(folder).as_posix()})
        for p in files
    ]
