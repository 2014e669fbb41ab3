"""WARC sources in a batch: the files a run reads, and one file read into the batch's staging.

Discover lists a ``warc`` source's files (``path``: a file, a folder or a glob;
``paths_url``/``paths_file``: a ``warc.paths.gz``-style list, whose ``{year}`` and
``{month}`` are filled in from the run's interval) and records in ``warc_files`` the ones
its interval needs. Each file is then read by a task of its own (``read_file``): every
response record it keeps becomes a staged page (stage ``fetched``, with its provenance)
or a reject, and the clean / extract / enrich / load stages take it from there.

Which records a run takes: a file named with a time (CC-NEWS-20250301123456-00001) spans
from that time to the next file's; a record is placed at its WARC-Date, moved into its
file's span when it lies outside, and belongs to the interval that holds that place. So
each record belongs to exactly one interval, a run reads the files named in its interval
plus the one before (whose last records may be dated in it), and a re-run reads the same.
Files without a time (remote ones; local ones are dated by their first record) are taken
once, by the first interval that lists them (``taken_inputs``).
"""

import json
import logging
import tempfile
from bisect import bisect_right
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from newsflow import settings, source_state, staging, warc
from newsflow.crawl import BatchCrawler, _stored_as_utf8
from newsflow.fetching import FetchedPage, FetchError, canonicalize_url
from newsflow.pagebytes import gunzip_capped
from newsflow.sources import Source, Window

LOGGER = logging.getLogger(__name__)

# Records staged per transaction: bounds memory and the work a crash repeats.
CHUNK_SIZE = 50
_GLOB_CHARS = frozenset("*?[")

Rejects = list[tuple[str, str]]


@dataclass(frozen=True)
class WarcFile:
    """A WARC file a source lists, with the time that places it (None: undated)."""

    location: str  # absolute path or http(s) URL
    dated: datetime | None


# Listing a source's files


def list_files(
    source: Source, window: Window, crawler: BatchCrawler
) -> tuple[list[WarcFile], Rejects]:
    """The WARC files a source lists for this window, and (entry, reason) of unusable entries.

    Raises:
        FetchError: the source itself (its path, or every one of its lists) cannot be read.
    """
    key = source.options.get("location_key", "path")
    if key == "path":
        return _local_files(source.location)
    files: list[WarcFile] = []
    rejects: Rejects = []
    lists = _monthly(source.location, window)
    failures = []
    for location in lists:
        try:
            if key == "paths_url":
                body, base = crawler.source_document(
                    source, location, "warc-paths", settings.MAX_WARC_LIST_BYTES
                )
                text = gunzip_capped(body, settings.MAX_WARC_LIST_BYTES, location)
                base = source.options.get("base_url") or f"{urlsplit(base).scheme}://{urlsplit(base).netloc}/"
                found, bad = _list_entries(text, base_url=base, base_dir=None)
            else:
                path = Path(location)
                data = gunzip_capped(_read_capped(path), settings.MAX_WARC_LIST_BYTES, path.name)
                found, bad = _list_entries(data, base_url=source.options.get("base_url"),
                                           base_dir=path.parent)
        except (FetchError, OSError) as error:
            failures.append((location, str(error)))
            continue
        files.extend(found)
        rejects.extend(bad)
    if failures and len(failures) == len(lists):
        raise FetchError("; ".join(f"{where}: {why}" for where, why in failures))
    rejects.extend(failures)
    return files, rejects


def _monthly(location: str, window: Window) -> list[str]:
    """The location with ``{year}``/``{month}`` filled in for every month the window needs.

    A month's list is read from the day before the window starts on, so the file that
    straddles into the window from the previous month is found too.
    """
    if "{year}" not in location and "{month}" not in location:
        return [location]
    if window.start is None or window.end is None:
        first = last = datetime.now(UTC)
    else:
        first, last = window.start - timedelta(days=1), window.end - timedelta(microseconds=1)
    months: list[str] = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        filled = location.replace("{year}", f"{year:04d}").replace("{month}", f"{month:02d}")
        months.append(filled)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _read_capped(path: Path) -> bytes:
    """A local list file, refused past the list size cap."""
    if path.stat().st_size > settings.MAX_WARC_LIST_BYTES:
        raise FetchError(f"{path.name} larger than {settings.MAX_WARC_LIST_BYTES} bytes")
    return path.read_bytes()


def _list_entries(
    data: bytes, *, base_url: str | None, base_dir: Path | None
) -> tuple[list[WarcFile], Rejects]:
    """The WARC locations of a paths list: one per line; blank lines and ``#`` comments skipped.

    Absolute http(s) URLs are kept (the SSRF guard checks them when they are read);
    relative entries are joined to ``base_url``, or else, for a local list, taken as
    paths under the list's folder, which they may not leave.
    """
    files: list[WarcFile] = []
    rejects: Rejects = []
    for number, raw in enumerate(data.decode("utf-8", errors="replace").splitlines(), start=1):
        entry = raw.strip()
        if not entry or entry.startswith("#"):
            continue
        scheme = urlsplit(entry).scheme.lower()
        if scheme in ("http", "https") or (scheme == "" and base_url):
            url = urljoin(base_url or "", entry)
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname or " " in url:
                rejects.append((entry, f"line {number}: not an http(s) location"))
                continue
            files.append(WarcFile(url, warc.name_time(url)))
        elif scheme == "" and base_dir is not None:
            found, bad = _local_files(str(base_dir / entry), inside=base_dir)
            files.extend(found)
            rejects.extend((entry, f"line {number}: {reason}") for _, reason in bad)
        else:
            rejects.append((entry, f"line {number}: not an http(s) URL or a relative path"))
    return files, rejects


def _local_files(location: str, inside: Path | None = None) -> tuple[list[WarcFile], Rejects]:
    """The ``.warc``/``.warc.gz`` files of a local path: a file, a folder (recursively) or a glob.

    Every file must resolve inside ``inside`` (default: the folder the path names, or
    the glob's fixed part): a symbolic link leading elsewhere is rejected, not read.

    Raises:
        FetchError: the path names nothing.
    """
    path = Path(location)
    if _GLOB_CHARS & set(location):
        parts = path.parts
        fixed = next(i for i, part in enumerate(parts) if _GLOB_CHARS & set(part))
        base = Path(*parts[:fixed])
        matches = base.glob("/".join(parts[fixed:]))
        candidates = sorted(p for p in matches if warc.is_warc_name(p.name))
    elif path.is_dir():
        base = path
        candidates = sorted(
            p for p in path.rglob("*") if warc.is_warc_name(p.name)
            and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
    elif path.exists() or path.is_symlink():
        base, candidates = path.parent, [path]
    else:
        raise FetchError(f"no such WARC file or folder: {location}")
    root = (inside or base).resolve()
    files: list[WarcFile] = []
    rejects: Rejects = []
    for candidate in candidates:
        real = candidate.resolve()
        if not real.is_relative_to(root):
            rejects.append((str(candidate), f"leads outside {root}: not read"))
        elif not real.is_file():
            rejects.append((str(candidate), "not a regular file"))
        else:
            dated = warc.name_time(candidate.name) or warc.first_record_date(real)
            files.append(WarcFile(str(real), dated))
    return files, rejects


# Choosing a window's files


def spans(files: list[WarcFile]) -> dict[str, tuple[datetime | None, datetime | None]]:
    """Each dated file's span: from its time to the next later file's time (open for the last)."""
    times = sorted({f.dated for f in files if f.dated is not None})
    result: dict[str, tuple[datetime | None, datetime | None]] = {}
    for file in files:
        if file.dated is None:
            continue
        later = bisect_right(times, file.dated)
        result[file.location] = (file.dated, times[later] if later < len(times) else None)
    return result


def overlaps(span: tuple[datetime | None, datetime | None], window: Window) -> bool:
    """Whether a file's span meets the window (an unbounded window meets every span)."""
    start, end = span
    if window.start is None or window.end is None or start is None:
        return True
    return start < window.end and (end is None or end > window.start)


def placed_in(
    when: datetime | None, span: tuple[datetime | None, datetime | None], window: Window
) -> bool:
    """Whether a record dated ``when`` in a file of ``span`` belongs to the window.

    The record's place is its date moved into the span (a record without a date sits
    at the span's start), so each record has exactly one place and one interval.
    """
    start, end = span
    if window.start is None or window.end is None or start is None:
        return True
    place = start if when is None or when < start else when
    if end is not None and place >= end:
        place = end - timedelta(microseconds=1)
    return window.start <= place < window.end


def stage_files(
    conn: Any, batch_key: str, source: Source, window: Window, crawler: BatchCrawler
) -> dict[str, int]:
    """List a warc source's files, record those this window reads in ``warc_files``.

    Listing rejects (a bad line, a link leading out) are recorded at ``discover``.

    Returns:
        Counts: ``listed`` files, ``files`` to read, ``outside_interval``,
        ``taken_by_other_interval`` (undated files), ``rejected`` entries.

    Raises:
        FetchError: the source cannot be read at all.
    """
    files, rejects = list_files(source, window, crawler)
    unique = list({f.location: f for f in files}.values())
    file_spans = spans(unique)
    chosen = [(f, file_spans[f.location]) for f in unique
              if f.dated is not None and overlaps(file_spans[f.location], window)]
    undated = [f for f in unique if f.dated is None]
    taken = source_state.take_inputs(
        conn, batch_key, source.name, {"warc:" + f.location: f.location for f in undated},
        window.key,
    )
    chosen += [(f, (None, None)) for f in undated if "warc:" + f.location in taken]
    with conn.cursor() as cur:
        for file, (start, end) in sorted(chosen, key=lambda pair: pair[0].location):
            cur.execute(
                "INSERT INTO warc_files (batch_key, source_name, location, dated, span_start,"
                " span_end) VALUES (%s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (batch_key, source_name, location) DO NOTHING",
                (batch_key, source.name, file.location, file.dated, start, end),
            )
    staging.record_rejects(conn, batch_key, "discover",
                           [(source.name, entry, reason) for entry, reason in rejects])
    counts = {
        "listed": len(unique) + len(rejects),
        "files": len(chosen),
        "outside_interval": sum(1 for f in unique if f.dated is not None) - len(
            [c for c in chosen if c[0].dated is not None]),
        "taken_by_other_interval": len(undated) - len(taken),
        "rejected": len(rejects),
    }
    LOGGER.info("source %s: WARC files %s", source.name,
                ", ".join(f"{k} {v}" for k, v in counts.items()))
    return {k: v for k, v in counts.items() if v or k in ("listed", "files")}


def batch_files(conn: Any, batch_key: str) -> list[int]:
    """The ids of the WARC files a batch reads, in source and location order."""
    with conn.cursor() as cur:
        cur.execute("SELECT warc_file_id FROM warc_files WHERE batch_key = %s"
                    " ORDER BY source_name, location", (batch_key,))
        return [row[0] for row in cur.fetchall()]


# Reading one file


def read_file(
    conn: Any, batch_key: str, warc_file_id: int, *, last_try: bool = True
) -> dict[str, Any]:
    """Read one listed WARC file of the batch into its staging, once.

    Each kept response record becomes a page (batch item at ``fetched``, page with its
    ``warc_file``, ``warc_offset``, ``warc_record_id`` and ``warc_date``) or a reject at
    ``fetch``; an unreadable rest of the file is one more reject. The file is then
    marked done with its counts, and a later call returns those counts unread.

    Args:
        conn: an open connection.
        batch_key: the batch.
        warc_file_id: the file, as listed by discover.
        last_try: when a remote file cannot be downloaded, reject it (on the task's last
            try) instead of raising (so that Airflow retries this file alone).

    Returns:
        The file's counts, as stored in ``warc_files``.

    Raises:
        FetchError: the file could not be downloaded, and this is not the last try.
    """
    with conn.cursor() as cur:
        cur.execute(
            "SELECT f.source_name, f.location, f.span_start, f.span_end, f.state,"
            " s.options, s.window_start, s.window_end"
            " FROM warc_files f JOIN batch_sources s USING (batch_key, source_name)"
            " WHERE f.batch_key = %s AND f.warc_file_id = %s",
            (batch_key, warc_file_id),
        )
        row = cur.fetchone()
    if row is None:
        raise ValueError(f"WARC file {warc_file_id} is not listed for batch {batch_key}")
    source_name, location, span_start, span_end, state, options, start, end = row
    if state == "done":
        LOGGER.info("%s was read by an earlier try: not read again", location)
        return _file_counts(conn, warc_file_id)
    window = Window.of(start, end)
    stats = warc.ReadStats()
    try:
        with _local_copy(conn, batch_key, source_name, location, options) as path:
            outcomes = warc.read_warc(
                path, hosts=warc.normalise_hosts(options.get("hosts")),
                max_records=options.get("max_records"), stats=stats,
                keep_date=lambda when: placed_in(when, (span_start, span_end), window),
                max_bytes=settings.MAX_BODY_BYTES,
            )
            pages, rejects = _stage_outcomes(conn, batch_key, source_name, location, outcomes)
        error = None if stats.truncated_at is None else f"unreadable from byte {stats.truncated_at}"
    except FetchError as failure:
        conn.rollback()
        if not last_try:
            raise
        staging.record_reject(conn, batch_key, source_name, location, "fetch", str(failure))
        pages, rejects, error = 0, 1, str(failure)
    with conn.cursor() as cur:
        cur.execute(
            "UPDATE warc_files SET state = 'done', records_read = %s, responses = %s,"
            " pages_staged = %s, rejects = %s, skipped_records = %s, filtered_hosts = %s,"
            " outside_interval = %s, error = %s, finished_at = now()"
            " WHERE warc_file_id = %s",
            (stats.records, stats.responses, pages, rejects, sum(stats.skipped_types.values()),
             stats.filtered_hosts, stats.outside_interval, error, warc_file_id),
        )
    conn.commit()
    counts = _file_counts(conn, warc_file_id)
    LOGGER.info("%s: %s; skipped record types %s", location, counts, dict(stats.skipped_types))
    return counts


def _file_counts(conn: Any, warc_file_id: int) -> dict[str, Any]:
    columns = ("records_read", "responses", "pages_staged", "rejects", "skipped_records",
               "filtered_hosts", "outside_interval", "error")
    with conn.cursor() as cur:
        cur.execute("SELECT records_read, responses, pages_staged, rejects, skipped_records,"
                    " filtered_hosts, outside_interval, error FROM warc_files"
                    " WHERE warc_file_id = %s", (warc_file_id,))
        return dict(zip(columns, cur.fetchone(), strict=True))


def _stage_outcomes(
    conn: Any, batch_key: str, source_name: str, location: str,
    outcomes: Iterator[warc.WarcPage | warc.WarcReject],
) -> tuple[int, int]:
    """Stage pages and record rejects, ``CHUNK_SIZE`` records per transaction."""
    pages = rejects = 0
    chunk: list[warc.WarcPage | warc.WarcReject] = []

    def flush() -> None:
        nonlocal pages, rejects
        reasons: list[tuple[str, str, str]] = []
        for outcome in chunk:
            item = f"{location}#{outcome.offset}"
            if isinstance(outcome, warc.WarcReject):
                reasons.append((source_name, item, outcome.reason))
                continue
            try:
                page = _as_page(outcome, source_name, item)
            except FetchError as error:  # binary bytes, whatever the headers said
                reasons.append((source_name, item, str(error)))
                continue
            _save_warc_page(conn, batch_key, page, outcome, location)
            pages += 1
        staging.record_rejects(conn, batch_key, "fetch", reasons)
        rejects += len(reasons)
        conn.commit()
        chunk.clear()

    for outcome in outcomes:
        chunk.append(outcome)
        if len(chunk) >= CHUNK_SIZE:
            flush()
    flush()
    return pages, rejects


def _as_page(record: warc.WarcPage, source_name: str, item: str) -> FetchedPage:
    """A record as the page the fetch stage would have stored: UTF-8, charset decided."""
    try:
        canonicalize_url(record.url)
    except ValueError as error:
        raise FetchError(f"not a usable URL: {error}") from error
    return _stored_as_utf8(FetchedPage(
        "warc:" + item, source_name, item, record.url, record.status, record.content_type,
        record.content,
    ))


def _save_warc_page(
    conn: Any, batch_key: str, page: FetchedPage, record: warc.WarcPage, location: str
) -> None:
    """Store a page read from a WARC with its provenance, and its batch item at ``fetched``."""
    hints = {"url": record.url, "warc_file": location, "warc_offset": record.offset,
             "warc_record_id": record.record_id,
             "warc_date": record.warc_date.isoformat() if record.warc_date else None}
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO pages (page_key, source_name, input, final_url, http_status,"
            " content_type, content, content_sha256, charset, canonical_link, warc_file,"
            " warc_offset, warc_record_id, warc_date)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (page_key) DO UPDATE SET content = EXCLUDED.content,"
            " content_sha256 = EXCLUDED.content_sha256, content_pruned_at = NULL"
            " RETURNING page_id",
            (page.page_key, page.source_name, page.input, page.final_url, page.http_status,
             page.content_type, page.content, page.content_sha256, page.charset,
             page.canonical_link, location, record.offset, record.record_id or None,
             record.warc_date),
        )
        page_id = cur.fetchone()[0]
        cur.execute(
            "INSERT INTO batch_items (batch_key, input, source_name, hints, page_id, stage)"
            " VALUES (%s, %s, %s, %s::jsonb, %s, 'fetched')"
            " ON CONFLICT (batch_key, input) DO NOTHING",
            (batch_key, page.input, page.source_name, json.dumps(hints), page_id),
        )


@contextmanager
def _local_copy(
    conn: Any, batch_key: str, source_name: str, location: str, options: dict[str, Any]
) -> Iterator[Path]:
    """The file itself when local; else a temporary copy, downloaded by the polite fetcher.

    The download goes through ``Fetcher.get`` like any page (SSRF guard on the URL and each
    redirect, robots.txt, the host's interval, retries, a fetch-log row per request),
    streamed to the file, up to ``settings.MAX_WARC_BYTES`` and ``WARC_TIME_LIMIT``.

    Raises:
        FetchError: the download failed.
    """
    if not location.startswith(("http://", "https://")):
        path = Path(location)
        if not path.is_file():
            raise FetchError(f"WARC file gone: {location}")
        yield path
        return
    crawler = BatchCrawler(conn, batch_key)
    with tempfile.NamedTemporaryFile(prefix="newsflow-warc-", suffix=".warc.gz",
                                     dir=settings.WARC_TMPDIR) as copy:
        with crawler.acting_for(source_name, "warc"):
            result = crawler.fetcher.get(
                location, max_bytes=settings.MAX_WARC_BYTES, sink=copy,
                time_limit=settings.WARC_TIME_LIMIT,
            )
        crawler.fetcher.close()
        if result.error:
            raise FetchError(f"WARC download failed: {result.error}")
        if result.status != 200:
            raise FetchError(f"WARC download answered HTTP {result.status}")
        copy.flush()
        yield Path(copy.name)
