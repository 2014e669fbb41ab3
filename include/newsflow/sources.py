"""Sources: the YAML list of where articles come from, and discovery of their inputs.

A source has a ``name``, a ``kind`` and options; ``enabled: false`` switches it off.
Kinds: ``feed`` (RSS/Atom, option ``url``), ``sitemap`` (XML/text sitemap or sitemap
index, gzipped or not, option ``url``), ``urls`` (a text file with one URL per line,
option ``path``), ``folder`` (a drop folder of saved ``.html``/``.htm``/``.txt``
articles, gzipped too, option ``path``) and ``warc`` (WARC files: ``path`` to a file,
folder or glob, or a ``warc.paths.gz``-style list at ``paths_url`` or ``paths_file``;
read by ``archives``). A URL list's path is relative to the YAML file and must lie in its
folder; a drop folder's, and a warc source's ``path`` and ``paths_file``, are relative to
``settings.drop_root()`` and must lie under it, symbolic links resolved. Which private
hosts may be fetched is the deployment's choice (``NEWSFLOW_PRIVATE_HOSTS``), never a
source's.

Each run covers a data interval (a ``Window``); ``Window.place`` says whether an input
dated by its source belongs to it. docs/sources.md states the rules.
"""

import hashlib
import logging
import re
import stat
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import feedparser
import yaml

from newsflow import dropfiles, settings
from newsflow.safetext import scrub
from newsflow.sourcesets import SourceConfigError, contained, read_config_file, set_path
from newsflow.weburls import http_url, join_url

LOGGER = logging.getLogger(__name__)

KINDS = ("feed", "sitemap", "urls", "folder", "warc")
# The option naming each kind's location.
LOCATION_KEYS = {"feed": "url", "sitemap": "url", "urls": "path", "folder": "path",
                 "warc": "path"}
# A warc source names its files one of these ways (the first given is used): recorded
# in its options as ``location_key``.
WARC_LOCATION_KEYS = ("path", "paths_url", "paths_file")
# Options each kind understands, with their types, besides name/kind/enabled/location.
# trust_canonical (every kind) believes the pages' <link rel=canonical> whatever site it
# names: for a mirror or saved copies of a site you run. Without it a web page's canonical
# link is its key only on the page's own site, and a dropped file is keyed by its path.
KIND_OPTIONS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "feed": {"trust_canonical": bool},
    "sitemap": {"max_depth": int, "max_sitemaps": int, "trust_canonical": bool},
    "urls": {"trust_canonical": bool},
    "folder": {"trust_canonical": bool},
    "warc": {"hosts": list, "max_records": int, "base_url": str, "trust_canonical": bool},
}
# What the extract stage loads from a source (option ``accept``, any kind): articles only
# (the default; other page types are rejected as "not an article (<type>)"), or any page.
ACCEPT_VALUES = ("article", "any")
# Options a source may not set: what they asked for is the deployment's to decide.
REFUSED_OPTIONS = {
    "allow_private": "private hosts are allowed by the deployment (NEWSFLOW_PRIVATE_HOSTS),"
                     " not by a source",
}
# A source's name: it shows in messages, rejects and reports.
SOURCE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}")


@dataclass(frozen=True)
class Source:
    """One configured source."""

    name: str
    kind: str
    location: str  # feed or sitemap URL, or absolute path of a URL list or folder
    enabled: bool = True
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Discovery:
    """An input found by discovery: a URL or a file path, with what the source said of it."""

    source_name: str
    input: str
    hints: dict[str, Any] = field(default_factory=dict)
    dated: datetime | None = None  # the date that places it in a run's interval


@dataclass(frozen=True)
class Window:
    """What a run takes: its data interval [start, end), or (a manual run) what is new.

    A scheduled or backfill run's window is its interval, named by it: two runs of one
    interval take the same inputs. A manual run's window (``Window.new_inputs``) is named
    by the run itself and has no end: it takes every input no other run took, from the
    start of its interval on (or all of them, without an interval).
    """

    start: datetime | None = None
    end: datetime | None = None
    run_key: str | None = None  # a manual run's own name (``new_inputs``)

    @classmethod
    def of(cls, start: datetime | None, end: datetime | None) -> "Window":
        """The window of an interval; null or zero-length intervals give an unbounded one."""
        if start is None or end is None or start >= end:
            return cls()
        return cls(_utc(start), _utc(end))

    @classmethod
    def new_inputs(cls, batch_key: str, start: datetime | None = None) -> "Window":
        """A manual run's window: from ``start`` (its interval's, if any) on, no end, named
        by the run, so it takes what no other run took and a re-run of it takes the same."""
        return cls(_utc(start) if start else None, None, f"run:{batch_key}")

    @property
    def bounded(self) -> bool:
        """The run has a real interval."""
        return self.start is not None and self.end is not None

    @property
    def key(self) -> str:
        """A stable name of the window, recorded with the inputs it took."""
        if self.run_key:
            return self.run_key
        if self.start is None or self.end is None:
            return "unbounded"
        return f"{self.start.isoformat()}/{self.end.isoformat()}"

    def place(self, dated: datetime | None, *, late_ok: bool) -> str:
        """``take``, ``later`` (dated at or after the end) or ``earlier`` (before the start).

        Undated inputs and, when ``late_ok``, inputs dated before the start are taken,
        subject to the once-per-input rule applied by the discover stage.
        """
        if dated is None or (self.start is None and self.end is None):
            return "take"
        dated = _utc(dated)
        if self.end is not None and dated >= self.end:
            return "later"
        if self.start is not None and dated < self.start and not late_ok:
            return "earlier"
        return "take"


def parse_moment(text: str | None) -> datetime | None:
    """An ISO 8601 time as an aware UTC datetime; empty or 'None' (an unset template) is None.

    Raises:
        ValueError: text that is no ISO 8601 time.
    """
    if not text or text.strip() in ("", "None"):
        return None
    return _utc(datetime.fromisoformat(text.strip()))


def _utc(moment: datetime) -> datetime:
    """An aware UTC datetime; naive values are taken as UTC."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def load_sources(path: Path | None = None) -> list[Source]:
    """Read and validate a sources file.

    Args:
        path: the YAML file; defaults to the set ``settings.DEFAULT_SOURCE_SET``. Runs
            pass a named set's file (``sourcesets.set_path``).

    Returns:
        Every source in the file, enabled or not, in file order.

    Raises:
        SourceConfigError: the file is missing, no regular file, too large or malformed, a
            source asks for what only the deployment may allow, a drop folder lies outside
            the drop root, or a name is used twice. The one-line message never quotes the
            file's contents.
    """
    path = Path(path or set_path(settings.DEFAULT_SOURCE_SET))
    what = f"sources file {path.name}"
    data = read_config_file(path, what)
    try:
        document = yaml.safe_load(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise SourceConfigError(f"{what}: not UTF-8 text") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise SourceConfigError(f"{what}: not valid YAML{where}") from None
    entries = (document or {}).get("sources") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise SourceConfigError(f"{what}: expected a top-level 'sources:' list")
    sources = [_parse_source(entry, number, path.parent, what)
               for number, entry in enumerate(entries, start=1)]
    names = [s.name for s in sources]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise SourceConfigError(f"{what}: source names used twice: {', '.join(duplicates)}")
    return sources


def _parse_source(entry: Any, number: int, base: Path, what: str) -> Source:
    """Turn one YAML mapping into a Source, resolving and confining its path."""
    if not isinstance(entry, dict) or not entry.get("name") or not entry.get("kind"):
        raise SourceConfigError(f"{what}: source {number} needs a name and a kind")
    if not SOURCE_NAME.fullmatch(str(entry["name"])):
        raise SourceConfigError(f"{what}: source {number}: a name is letters, digits and"
                                " '_.:-', at most 100 characters")
    name, kind = str(entry["name"]), str(entry["kind"])
    if kind not in KINDS:
        raise SourceConfigError(f"{what}: source {name}: unknown kind (known: {', '.join(KINDS)})")
    key = LOCATION_KEYS[kind]
    if kind == "warc":
        key = next((k for k in WARC_LOCATION_KEYS if entry.get(k)), key)
        entry = {**entry, "location_key": key}
    if not entry.get(key):
        raise SourceConfigError(f"{what}: source {name}: kind {kind} needs '{key}'")
    location = str(entry[key])
    if kind == "folder" or (kind == "warc" and key != "paths_url"):
        root = settings.drop_root()
        location = str(contained(root / location, root, f"{what}: source {name}: its folder"))
    elif kind == "urls":
        location = str(contained(base / location, base,
                                 f"{what}: source {name}: its URL list"))
        # A missing list is this source's failure at discovery; a FIFO or a device is a
        # configuration error (reading it would block or never end).
        if Path(location).exists() and not Path(location).is_file():
            raise SourceConfigError(f"{what}: source {name}: its URL list is no regular file")
    elif urlsplit(location).scheme not in ("http", "https") or not urlsplit(location).netloc:
        raise SourceConfigError(f"{what}: source {name}: url must be an http(s) URL")
    options = {k: v for k, v in entry.items() if k not in ("name", "kind", "enabled", key)}
    for option, value in options.items():
        if option in REFUSED_OPTIONS:
            raise SourceConfigError(
                f"{what}: source {name}: option {option} refused: {REFUSED_OPTIONS[option]}")
        expected = KIND_OPTIONS[kind].get(option)
        # Unknown options are kept for later stages (e.g. language); known ones are checked.
        if expected is not None and (not isinstance(value, expected) or (
                expected is int and isinstance(value, bool))):
            raise SourceConfigError(
                f"{what}: source {name}: option {option} must be"
                f" {getattr(expected, '__name__', expected)}"
            )
    if options.get("accept", "article") not in ACCEPT_VALUES:
        raise SourceConfigError(f"{what}: source {name}: option accept must be one of"
                                f" {ACCEPT_VALUES}, got {options['accept']!r}")
    return Source(name, kind, location, bool(entry.get("enabled", True)), options)


def parse_feed(
    feed_bytes: bytes, feed_url: str, source_name: str
) -> tuple[list[Discovery], list[tuple[str, str]]]:
    """The article links of an RSS/Atom document, with title, date and summary as hints.

    Returns:
        The discoveries, and (input, reason) for every item that has no http(s) link:
        such an item is named ``<feed URL>#item-<n>`` when it has no link at all, so
        it is rejected with a reason instead of vanishing.

    Raises:
        ValueError: the document is not a feed.
    """
    parsed = feedparser.parse(feed_bytes)
    # Well-formed HTML (a feed URL now serving a home page) is no parse error to
    # feedparser, only a document without a feed version.
    if not parsed.entries and (parsed.bozo or not parsed.get("version")):
        problem = parsed.get("bozo_exception") or "no RSS or Atom root element"
        raise ValueError(f"not a feed: {problem}")
    discoveries: list[Discovery] = []
    invalid: list[tuple[str, str]] = []
    for number, entry in enumerate(parsed.entries, start=1):
        link = (entry.get("link") or "").strip()
        if not link:
            invalid.append((f"{feed_url}#item-{number}", f"feed item {number} has no link"))
            continue
        url = http_url(link, feed_url)
        if url is None:
            invalid.append((join_url(feed_url, link) or f"{feed_url}#item-{number}",
                            f"feed item {number}: not an absolute http(s) URL"))
            continue
        try:
            hints = {
                "title": entry.get("title"),
                "published": entry.get("published") or entry.get("updated"),
                "summary": entry.get("summary"),
                "authors": [a["name"] for a in entry.get("authors", []) if a.get("name")],
            }
            dated = _struct_time(entry.get("published_parsed") or entry.get("updated_parsed"))
        except Exception as error:  # one odd item costs that item, not the feed
            invalid.append((url, f"internal error: {type(error).__name__}: {error}"))
            continue
        discoveries.append(Discovery(
            source_name, url, scrub({k: v for k, v in hints.items() if v}), dated,
        ))
    return discoveries, invalid


def _struct_time(value: Any) -> datetime | None:
    """feedparser's UTC struct_time as an aware datetime."""
    if not value:
        return None
    try:
        return datetime(*value[:6], tzinfo=UTC)
    except (TypeError, ValueError):
        return None


def parse_url_list(text: str, source_name: str) -> tuple[list[Discovery], list[tuple[str, str]]]:
    """The URLs of a URL-list file: one per line, ``#`` comments and blank lines ignored.

    Returns:
        The discoveries (undated), and (line, reason) for every line that is not an
        absolute http(s) URL.
    """
    found: list[Discovery] = []
    invalid: list[tuple[str, str]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if http_url(line) is None:
            invalid.append((scrub(line), f"line {number}: not an absolute http(s) URL"))
            continue
        found.append(Discovery(source_name, line, {"line": number}))
    return found, invalid


@dataclass(frozen=True)
class FolderListing:
    """What one run examined of a drop folder (``list_folder``): nothing read yet."""

    discoveries: list[Discovery]
    # The inode change time of each regular file the window takes: a file unchanged since
    # a run read it needs no reading again (``source_state.unchanged_files``).
    changed: dict[str, datetime]
    not_examined: int  # visible entries past the scan cap: later runs examine them
    next_after: str  # where the next run's scan goes on ("" = from the start)
    # (input, reason) for entries that cannot be inputs: a name that is no UTF-8 text
    # cannot be stored, so it is rejected under its name with the bytes escaped.
    invalid: list[tuple[str, str]] = field(default_factory=list)


def list_folder(
    source: Source, window: Window | None = None, start_after: str = "", limit: int = 0
) -> FolderListing:
    """The visible files of a drop folder, recursively, in name order: metadata only.

    Only the folder's real path is walked, and symbolic links are never followed: a link
    is listed like any entry and the fetch stage rejects it. A file is dated by its
    modification time. No file is read here: the discover stage applies its cap first
    and reads (``read_content_hash``) only the files it takes. Files of types we cannot
    read are listed too: the fetch stage rejects them with a reason, so nothing dropped
    in the folder disappears without a trace. So are entries that are no regular file (a
    link, a pipe, a folder named like an article). At most ``limit`` entries (0: all)
    are examined, in name order after ``start_after`` (``dropfiles.scan_folder``).
    """
    folder = Path(source.location)
    if not folder.is_dir():
        raise SourceConfigError(f"source {source.name}: {folder} is not a folder")
    scan = dropfiles.scan_folder(folder, start_after, limit)
    found: list[Discovery] = []
    changed: dict[str, datetime] = {}
    invalid: list[tuple[str, str]] = []
    for relative, info in scan.entries:
        if relative != as_text(relative):
            invalid.append((as_text(str(folder / relative)),
                            "file name is not UTF-8 text: rename the file to read it"))
            continue
        suffix_ok = relative.lower().removesuffix(".gz").endswith(settings.DROP_SUFFIXES)
        if stat.S_ISDIR(info.st_mode) and not suffix_ok:
            continue
        modified = datetime.fromtimestamp(info.st_mtime, UTC)
        discovery = Discovery(source.name, str(folder / relative),
                              {"relative_path": relative}, modified)
        found.append(discovery)
        taken = window is None or window.place(modified, late_ok=True) == "take"
        if stat.S_ISREG(info.st_mode) and taken:
            changed[discovery.input] = datetime.fromtimestamp(info.st_ctime, UTC)
    return FolderListing(found, changed, scan.listed - len(scan.entries),
                         as_text(scan.next_after), invalid)


def as_text(name: str) -> str:
    """A file name as storable text: bytes that are no UTF-8 shown as ``\\xNN``."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def read_content_hash(discovery: Discovery) -> Discovery:
    """The discovery of a dropped file with its content hash (its once-per-file key).

    The file is read with the body cap, below its folder, no link followed; a file that
    cannot be read keeps no hash (the fetch stage rejects it with the reason).
    """
    relative = discovery.hints["relative_path"]
    root = Path(discovery.input.removesuffix(relative))
    try:
        content = dropfiles.read_file(Path(discovery.input), settings.MAX_BODY_BYTES,
                                      root=root, relative=relative, gunzip=False)
    except dropfiles.FileRefused as error:
        LOGGER.warning("source %s: %s", discovery.source_name, error)
        return discovery
    return with_content_hash(discovery, hashlib.sha256(content).hexdigest())


def with_content_hash(discovery: Discovery, sha256: str) -> Discovery:
    """The discovery with its content hash as a hint."""
    return Discovery(discovery.source_name, discovery.input,
                     {**discovery.hints, "content_sha256": sha256}, discovery.dated)
