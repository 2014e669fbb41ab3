"""WARC files: their records read as pages, streaming, with FastWARC.

``read_warc`` walks one ``.warc`` or ``.warc.gz`` file (gzipped per record, as Common
Crawl's CC-NEWS and most crawlers write them) and turns every ``response`` record it
keeps into exactly one outcome: a ``WarcPage`` (an HTML or text payload with a 2xx
status) or a ``WarcReject`` with the reason. Other record types (``request``,
``metadata``, ``revisit``, ``warcinfo``, ...) are no inputs: they are counted, not
returned. A file cut short mid-record (an interrupted download) yields the records
before the break and one reject naming the offset where the unreadable rest begins.

Nothing here touches the database or the network; ``archives`` stages the outcomes.
"""

import gzip
import logging
import re
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

from fastwarc.stream_io import GzipWriter
from fastwarc.warc import ArchiveIterator, WarcRecord, WarcRecordType

from newsflow.fetching import TEXT_TYPES, FetchError, media_type_of
from newsflow.pagebytes import gunzip_capped

LOGGER = logging.getLogger(__name__)

# A 14-digit UTC timestamp in a file name, as CC-NEWS writes them:
# CC-NEWS-20250301123456-00001.warc.gz was started at 2025-03-01 12:34:56 UTC.
_NAME_TIME = re.compile(r"(?<!\d)(\d{14})(?!\d)")
WARC_SUFFIXES = (".warc", ".warc.gz")
# Bytes of a record's WARC header block searched for its end when checking a file's tail.
_MAX_HEADER_BYTES = 64 * 1024
_READ_CHUNK = 1 << 16
# A last record larger than this, uncompressed, is not checked for a cut header block.
_MAX_MEMBER_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class WarcPage:
    """A response record with a payload worth extracting."""

    offset: int  # where the record starts in the file (the gzip member, if gzipped)
    record_id: str
    url: str  # WARC-Target-URI
    warc_date: datetime | None  # WARC-Date: when the page was fetched
    status: int
    content_type: str | None  # the HTTP Content-Type header, as sent
    content: bytes  # the payload, content-decoded


@dataclass(frozen=True)
class WarcReject:
    """A response record (or the unreadable rest of a file) that gives no page."""

    offset: int
    record_id: str | None
    url: str | None
    reason: str


@dataclass
class ReadStats:
    """What one pass over a file saw, besides its outcomes."""

    records: int = 0  # every record read, of any type
    responses: int = 0  # response records taken as inputs (pages + rejects)
    skipped_types: Counter[str] = field(default_factory=Counter)  # non-response records
    filtered_hosts: int = 0  # response records of hosts the source does not keep
    outside_interval: int = 0  # response records dated for another run's interval
    stopped_at_max: bool = False  # max_records reached: the rest was not read
    truncated_at: int | None = None  # offset of the unreadable rest, if any


def name_time(location: str) -> datetime | None:
    """The UTC time in a WARC file's name (CC-NEWS style), if it has a valid one."""
    name = location.rstrip("/").rsplit("/", 1)[-1]
    for match in _NAME_TIME.finditer(name):
        try:
            return datetime.strptime(match.group(1), "%Y%m%d%H%M%S").replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def is_warc_name(name: str) -> bool:
    """A file name a WARC source picks up."""
    return name.lower().endswith(WARC_SUFFIXES)


def host_kept(url: str, hosts: tuple[str, ...]) -> bool:
    """Whether ``url``'s host is one of ``hosts`` or under one of them; no hosts keeps all.

    Matching is by whole labels: ``example.com`` keeps ``example.com`` and
    ``www.example.com``, not ``badexample.com``; a suffix such as ``co.uk`` keeps every
    host under it.
    """
    if not hosts:
        return True
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    return any(host == h or host.endswith("." + h) for h in hosts)


def normalise_hosts(values: list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """The ``hosts`` option as lower-case names without a leading ``*.`` or dot."""
    cleaned = (str(v).strip().lower().removeprefix("*.").strip(".") for v in values or ())
    return tuple(sorted({h for h in cleaned if h}))


def first_record_date(path: Path) -> datetime | None:
    """The WARC-Date of the first record of a local file (None when it has none)."""
    try:
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream, parse_http=False):
                return _record_date(record)
    except (OSError, ValueError):
        return None
    return None


def read_warc(
    path: Path,
    *,
    hosts: tuple[str, ...] = (),
    max_records: int | None = None,
    keep_date: Callable[[datetime | None], bool] | None = None,
    max_bytes: int,
    stats: ReadStats | None = None,
) -> Iterator[WarcPage | WarcReject]:
    """Every kept response record of a WARC file as a page or a reject, in file order.

    Args:
        path: a local ``.warc`` or ``.warc.gz`` file.
        hosts: keep only records whose target host is one of these or under one
            (``host_kept``); empty keeps all. Records of other hosts are counted only.
        max_records: stop after this many response records taken as inputs.
        keep_date: whether a record's WARC-Date belongs to the run; records it
            refuses are counted only. None keeps all.
        max_bytes: a payload larger than this is rejected unread.
        stats: filled in as the file is read.

    Yields:
        One ``WarcPage`` or ``WarcReject`` per response record taken, then at most one
        ``WarcReject`` for an unreadable rest of the file.
    """
    stats = stats if stats is not None else ReadStats()
    last_start: int | None = None
    # A record's outcome is held back until the next record begins (so it ended whole)
    # or the file's tail is checked: a record cut short becomes part of the lost rest.
    pending: WarcPage | WarcReject | None = None
    # A file gzipped as one member (not per record) is read through Python's gzip, so that
    # offsets are exact positions in its uncompressed stream.
    whole_gzip = _gzipped_whole(path)
    with gzip.open(path, "rb") if whole_gzip else path.open("rb") as stream:
        records = iter(ArchiveIterator(stream, parse_http=True, auto_decode="none"))
        while True:
            try:
                record = next(records)
            except StopIteration:
                break
            except (OSError, ValueError, EOFError) as error:
                if whole_gzip:  # the pending record was read whole before the error
                    yield from [pending] if pending is not None else []
                    yield _rest_lost(stats, max(stream.tell(), (last_start or 0) + 1), path,
                                     f"unreadable: {error}: uncompressed bytes from")
                    return
                yield from _end_of_file(stats, path, last_start, pending, f"unreadable: {error}")
                return
            if pending is not None:
                yield pending
                pending = None
            last_start = record.stream_pos
            stats.records += 1
            if record.record_type != WarcRecordType.response:
                stats.skipped_types[str(record.record_type)] += 1
                continue
            url = _target_uri(record)
            if not host_kept(url, hosts):
                stats.filtered_hosts += 1
                continue
            if keep_date is not None and not keep_date(_record_date(record)):
                stats.outside_interval += 1
                continue
            if max_records is not None and stats.responses >= max_records:
                stats.stopped_at_max = True
                return
            stats.responses += 1
            pending = _outcome(record, url, max_bytes)
            if pending is None:  # the payload ends before its length: the file is cut here
                yield _rest_lost(stats, last_start, path, "truncated inside this record")
                return
    if whole_gzip:
        yield from [pending] if pending is not None else []
        return
    yield from _end_of_file(stats, path, last_start, pending, "truncated or damaged")


def _gzipped_whole(path: Path) -> bool:
    """Whether a file is gzip whose first member runs to its end (one member, not per record)."""
    with path.open("rb") as stream:
        if stream.read(2) != b"\x1f\x8b":
            return False
        stream.seek(0)
        inflater = zlib.decompressobj(wbits=31)
        while not inflater.eof:
            chunk = inflater.unconsumed_tail or stream.read(_READ_CHUNK)
            if not chunk:
                return True  # cut short: one member that never ended
            try:
                inflater.decompress(chunk, _READ_CHUNK)  # output dropped: only the end matters
            except zlib.error:
                return False
        return not inflater.unused_data and not stream.read(1)


def _end_of_file(
    stats: ReadStats,
    path: Path,
    last_start: int | None,
    pending: WarcPage | WarcReject | None,
    what: str,
) -> Iterator[WarcReject | WarcPage]:
    """The held-back outcome of the last record, if it ended whole, and any lost rest."""
    if last_start is None:
        if path.stat().st_size and path.read_bytes()[:_MAX_HEADER_BYTES].strip():
            yield _rest_lost(stats, 0, path, f"{what}: no WARC record could be read")
        return
    tail = _unread_tail(path, last_start)
    if tail == last_start:  # the last record itself is cut short: lost with the rest
        yield _rest_lost(stats, last_start, path, f"{what} inside its last record")
        return
    if pending is not None:
        yield pending
    if tail is not None:
        yield _rest_lost(stats, tail, path, f"{what} after the last whole record")


def _rest_lost(stats: ReadStats, offset: int, path: Path, what: str) -> WarcReject:
    """The one reject for the unreadable rest of a file, from ``offset`` on."""
    stats.truncated_at = offset
    size = path.stat().st_size
    return WarcReject(offset, None, None,
                      f"WARC file {what}: bytes {offset} to {size} (end of file) lost")


def _outcome(record: WarcRecord, url: str, max_bytes: int) -> WarcPage | WarcReject | None:
    """The page or reject of one response record; None when its payload is cut short."""
    offset, record_id = record.stream_pos, record.record_id or ""
    when = _record_date(record)

    def reject(reason: str) -> WarcReject:
        return WarcReject(offset, record_id, url or None, reason)

    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
        return reject(f"WARC-Target-URI is not an http(s) URL: {url[:200]!r}")
    if not record.is_http:
        return reject("response record without an HTTP response")
    headers = record.http_headers
    status = headers.status_code
    if status is None or not 200 <= status < 300:
        return reject(f"HTTP {status}")
    content_type = headers.get("Content-Type")
    media_type = media_type_of(content_type) or "text/html"
    if media_type not in TEXT_TYPES:
        return reject(f"not an article page: content type {media_type}")
    length = record.content_length
    if length > max_bytes:
        return reject(f"body larger than {max_bytes} bytes")
    content = _read_payload(record, length)
    if content is None:
        return None
    try:
        content = _decoded(content, headers.get("Content-Encoding"), max_bytes)
    except ValueError as error:
        return reject(str(error))
    if not content.strip():
        return reject("empty response body")
    return WarcPage(offset, record_id, url, when, status, content_type, content)


def _read_payload(record: WarcRecord, length: int) -> bytes | None:
    """The record's whole payload, or None when the file ends before it does."""
    chunks: list[bytes] = []
    size = 0
    while size < length:
        chunk = record.reader.read(min(_READ_CHUNK, length - size))
        if not chunk:
            return None
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _decoded(content: bytes, encoding: str | None, cap: int) -> bytes:
    """A payload without its Content-Encoding (gzip, deflate), capped at ``cap`` bytes.

    Common Crawl stores payloads decoded; other crawlers keep what the server sent.

    Raises:
        ValueError: an encoding we do not decode, or a body that does not decode.
    """
    name = (encoding or "identity").strip().lower()
    if name in ("identity", ""):
        return content
    if name in ("gzip", "x-gzip"):
        try:
            return gunzip_capped(content, cap, "the payload")
        except FetchError as error:  # corrupt, truncated or too large
            raise ValueError(str(error)) from error
    if name == "deflate":
        try:
            inflater = zlib.decompressobj()
            out = inflater.decompress(content, cap + 1)
        except zlib.error as error:
            raise ValueError(f"cannot inflate the payload: {error}") from error
        if len(out) > cap:
            raise ValueError(f"payload larger than {cap} bytes uncompressed")
        return out
    raise ValueError(f"unsupported Content-Encoding {encoding!r}")


def _target_uri(record: WarcRecord) -> str:
    """WARC-Target-URI, without the angle brackets some WARC 1.0 writers put around it."""
    return (record.headers.get("WARC-Target-URI") or "").strip().strip("<>").strip()


def _record_date(record: WarcRecord) -> datetime | None:
    """The record's WARC-Date as an aware UTC datetime, if it has a valid one."""
    try:
        moment = record.record_date
    except (ValueError, OverflowError):
        return None
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def _unread_tail(path: Path, last_start: int) -> int | None:
    """Where the unread part of a file begins, or None when it ended cleanly.

    The reader stops quietly when a file ends inside a gzip member or a WARC header
    block; checking the last record and the bytes after it tells that apart from a clean
    end. Returns ``last_start`` when the last record does not end in the file, the
    offset just past it when something unreadable follows it. Only the last record is
    read again.
    """
    size = path.stat().st_size
    with path.open("rb") as stream:
        file_gzipped = stream.read(2) == b"\x1f\x8b"
        stream.seek(last_start)
        gzipped = stream.read(2) == b"\x1f\x8b"
        stream.seek(last_start)
        if file_gzipped and not gzipped:  # not at a member: nothing to check here
            return None
        if gzipped:
            end, record = _gzip_member(stream)
            # The member may be whole while the record in it is not (a cut header block).
            if record is not None and _record_length(record) is None:
                return last_start
        else:
            length = _record_length(stream.read(_MAX_HEADER_BYTES), size - last_start)
            end = None if length is None else last_start + length
        if end is None or end > size:  # the last record itself is cut short
            return last_start
        stream.seek(end)
        rest = stream.read(_MAX_HEADER_BYTES)
    if end < size and rest.strip(b"\r\n\t \x00"):
        return end
    return None


def _gzip_member(stream: BinaryIO) -> tuple[int | None, bytes | None]:
    """The offset just past the gzip member at the stream's position, and its content.

    The content is None past ``_MAX_MEMBER_BYTES`` (not checked further); the offset is
    None when the member does not end in the file.
    """
    start = stream.tell()
    inflater = zlib.decompressobj(wbits=31)
    consumed, out, size = 0, [], 0
    while not inflater.eof:
        chunk = stream.read(_READ_CHUNK)
        if not chunk:
            return None, None
        try:
            piece = inflater.decompress(chunk, _MAX_MEMBER_BYTES)
        except zlib.error:
            return None, None
        consumed += len(chunk)
        size += len(piece)
        if size > _MAX_MEMBER_BYTES or inflater.unconsumed_tail:
            return start + consumed, None  # too large to check: taken as whole
        out.append(piece)
    return start + consumed - len(inflater.unused_data), b"".join(out)


def _record_length(data: bytes, available: int | None = None) -> int | None:
    """The length of the WARC record ``data`` starts with, or None when it is cut short.

    Args:
        data: the record's bytes (at least its header block).
        available: bytes the record may take (default: ``len(data)``).
    """
    split = data.find(b"\r\n\r\n")
    if split < 0:
        return None
    match = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", data[:split])
    if match is None:
        return None
    length = split + 4 + int(match.group(1)) + 4
    return length if length <= (len(data) if available is None else available) else None


# Writing (test fixtures, the benchmark)


@dataclass(frozen=True)
class RecordSpec:
    """A record to write: a response (HTTP status, headers and payload) or another type."""

    url: str
    date: datetime
    body: bytes = b""
    record_type: str = "response"  # response, revisit, request, metadata, ...
    status: int = 200
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "text/html; charset=utf-8"),)


def write_warc(path: Path, records: Iterable[RecordSpec]) -> list[int]:
    """Write records to ``path`` with FastWARC's writer, gzipped per record for ``.gz``.

    Returns:
        Each record's offset in the file.
    """
    offsets: list[int] = []
    with path.open("wb") as raw:
        stream = GzipWriter(raw) if path.name.endswith(".gz") else raw
        for spec in records:
            offsets.append(raw.tell())
            http = f"HTTP/1.1 {spec.status} X\r\n" + "".join(
                f"{name}: {value}\r\n" for name, value in spec.headers)
            record = WarcRecord()
            record.init_headers(getattr(WarcRecordType, spec.record_type), content_length=0)
            record.headers["WARC-Target-URI"] = spec.url
            record.record_date = spec.date
            kind = "request" if spec.record_type == "request" else "response"
            record.headers["Content-Type"] = f"application/http; msgtype={kind}"
            record.set_bytes_content(http.encode("latin-1") + b"\r\n" + spec.body)
            record.write(stream)
            if isinstance(stream, GzipWriter):
                stream.finish()
            raw.flush()
    return offsets
