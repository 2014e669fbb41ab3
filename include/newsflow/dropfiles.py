"""Reading files someone else put down: regular files only, inside their folder, bounded.

A drop folder is written by other people and programs. A symbolic link in it may point
anywhere (``/proc/self/environ``, a key file), a FIFO blocks the reader forever, a tiny
``.gz`` may expand to gigabytes. So a file is opened without following links, component
by component below the folder (``openat`` with ``O_NOFOLLOW``, no window between a check
and the open), with ``O_NONBLOCK`` so a FIFO cannot block, and read only if ``fstat``
says it is a regular file; raw and decompressed bytes are both capped.
"""

import contextlib
import errno
import gzip
import hashlib
import heapq
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from newsflow import settings
from newsflow.fetching import FetchError

# Read with O_NOFOLLOW: the last component may not be a link; O_NONBLOCK: a FIFO opens
# at once (and is then refused as no regular file) instead of waiting for a writer.
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
_DIR_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0)
_CHUNK = 65536


class FileRefused(Exception):
    """A file was not read; the message is the reason."""


def _open_under(root: Path, relative: str) -> int:
    """A descriptor of ``root/relative``, every component opened without following links."""
    parts = PurePosixPath(relative).parts
    if not parts or any(part in ("..", ".", "/") for part in parts) or relative.startswith("/"):
        raise FileRefused(f"not a path inside the folder: {relative!r}")
    try:
        directory = os.open(os.path.realpath(root), _DIR_FLAGS)
    except OSError as error:
        raise FileRefused(f"cannot open folder {root}: {error.strerror}") from error
    try:
        for part in parts[:-1]:
            try:
                inner = os.open(part, _DIR_FLAGS, dir_fd=directory)
            except OSError as error:
                raise _refusal(relative, error, "a folder on the way") from error
            os.close(directory)
            directory = inner
        try:
            return os.open(parts[-1], _FILE_FLAGS, dir_fd=directory)
        except OSError as error:
            raise _refusal(relative, error, "the file") from error
    finally:
        os.close(directory)


def _refusal(name: str, error: OSError, what: str) -> FileRefused:
    if error.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
        return FileRefused(f"symbolic link, not followed ({what} is a link): {name}")
    return FileRefused(f"cannot read {name}: {error.strerror}")


def _chunks(descriptor: int, name: str) -> Iterator[bytes]:
    """The bytes of a regular file's descriptor, 64 KiB at a time; the descriptor is closed."""
    with os.fdopen(descriptor, "rb", buffering=0) as stream:
        if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
            raise FileRefused(f"not a regular file: {name}")
        os.set_blocking(stream.fileno(), True)
        while chunk := stream.read(_CHUNK):
            yield chunk


def _capped(chunks: Iterator[bytes], cap: int, name: str, what: str = "") -> bytes:
    out, size = [], 0
    for chunk in chunks:
        size += len(chunk)
        if size > cap:
            raise FileRefused(f"{name} larger than {cap} bytes{what}")
        out.append(chunk)
    return b"".join(out)


class _ChunkReader:
    """A file-like view of a chunk iterator, for gzip to stream from."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks, self._buffer = chunks, b""

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        if size < 0:
            size = len(self._buffer)
        piece, self._buffer = self._buffer[:size], self._buffer[size:]
        return piece


def _gunzipped(chunks: Iterator[bytes], cap: int, name: str) -> bytes:
    """Decompressed as it streams: stops at ``cap`` output bytes whatever the ratio."""
    try:
        with gzip.GzipFile(fileobj=_ChunkReader(chunks)) as stream:  # type: ignore[arg-type]
            return _capped(iter(lambda: stream.read(_CHUNK), b""), cap, name, " uncompressed")
    except (OSError, EOFError) as error:
        raise FileRefused(f"cannot read {name}: {error}") from error


def read_file(
    path: Path, cap: int, *, root: Path | None = None, relative: str | None = None,
    gunzip: bool | None = None,
) -> bytes:
    """The bytes of a regular file, gunzipped when ``gunzip`` (default: name ends ``.gz``).

    Args:
        path: the file (used alone when no ``root`` is given: then only its last
            component is opened without following links).
        cap: the most bytes read, compressed and again uncompressed.
        root: the folder the file must be inside; with ``relative``, its path below it.
        relative: the file's path below ``root`` (``/``-separated).
        gunzip: decompress; None decides by the name.

    Raises:
        FileRefused: a link, no regular file, unreadable, corrupt, or over the cap.
    """
    name = relative or path.name
    if root is not None and relative is not None:
        descriptor = _open_under(root, relative)
    else:
        try:
            descriptor = os.open(path, _FILE_FLAGS)
        except FileNotFoundError:
            raise  # a path someone typed: said as it is
        except OSError as error:
            raise _refusal(path.name, error, "the file") from error
    chunks = _chunks(descriptor, name)
    try:
        if gunzip if gunzip is not None else path.name.lower().endswith(".gz"):
            return _gunzipped(chunks, cap, name)
        return _capped(chunks, cap, name)
    except OSError as error:
        raise FileRefused(f"cannot read {name}: {error.strerror or error}") from error
    finally:
        chunks.close()


@dataclass(frozen=True)
class FolderScan:
    """The entries one run examines of a drop folder, and where the next run goes on."""

    entries: list[tuple[str, os.stat_result]]  # (relative path, lstat), by relative path
    listed: int  # visible names under the folder
    next_after: str  # the next run examines names after this one ("" = from the start)


def scan_folder(folder: Path, start_after: str = "", limit: int = 0) -> FolderScan:
    """At most ``limit`` entries under ``folder``'s real path, with their lstat; no file read.

    Names are listed (``os.scandir``, links never followed or entered, hidden names left
    out) and only the ``limit`` first relative paths after ``start_after`` in name order
    are kept (wrapping round to the start), in a heap of that size: memory and ``lstat``
    calls are bounded by ``limit``, whatever the folder holds. The next run goes on after
    the last one taken, so a folder larger than ``limit`` is examined in turns. A folder
    reached twice (a bind mount of itself) is listed once. ``limit`` 0: no bound.
    """
    real = os.path.realpath(folder)
    names = _visible_names(real)
    if limit <= 0:
        chosen, listed = sorted(names), None
    else:
        counted = _Counted(names)
        # Names after start_after first (False < True), then the wrapped-round ones.
        chosen = heapq.nsmallest(limit, counted, key=lambda name: (name <= start_after, name))
        listed = counted.count
    entries: list[tuple[str, os.stat_result]] = []
    for relative in sorted(chosen):
        try:
            entries.append((relative, os.lstat(os.path.join(real, relative))))
        except OSError:
            continue  # gone since it was listed: nothing left to take
    listed = len(chosen) if listed is None else listed
    more = limit > 0 and listed > len(chosen)
    return FolderScan(entries, listed, chosen[-1] if more else "")


class _Counted:
    """An iterator that counts what it yields."""

    def __init__(self, items: Iterator[str]) -> None:
        self._items, self.count = items, 0

    def __iter__(self) -> "_Counted":
        return self

    def __next__(self) -> str:
        item = next(self._items)
        self.count += 1
        return item


def _visible_names(real: str) -> Iterator[str]:
    """Every visible relative path under ``real``: folders entered, links not followed.

    Each folder is opened component by component with ``O_NOFOLLOW``, so a folder swapped
    for a link while it is listed is not entered; unreadable folders are skipped.
    """
    pending, seen = [""], set()
    while pending:
        base = pending.pop()
        try:
            descriptor = _open_folder(real, base)
        except OSError:
            continue  # gone, a link now, or unreadable: nothing in it can be listed
        try:
            info = os.fstat(descriptor)
            if (info.st_dev, info.st_ino) in seen:
                continue
            seen.add((info.st_dev, info.st_ino))
            with os.scandir(descriptor) as listing:
                for entry in listing:
                    if entry.name.startswith("."):
                        continue
                    relative = f"{base}/{entry.name}" if base else entry.name
                    with contextlib.suppress(OSError):
                        if entry.is_dir(follow_symlinks=False):
                            pending.append(relative)
                    yield relative
        finally:
            os.close(descriptor)


def _open_folder(real: str, relative: str) -> int:
    """A descriptor of the folder ``real/relative``, no component followed if a link."""
    descriptor = os.open(real, _DIR_FLAGS)
    for part in relative.split("/") if relative else []:
        try:
            inner = os.open(part, _DIR_FLAGS, dir_fd=descriptor)
        finally:
            os.close(descriptor)
        descriptor = inner
    return descriptor


def read_drop_file(path: Path, root: Path | None = None, relative: str | None = None) -> bytes:
    """Read a drop-folder file, gunzipping ``.gz`` files; raises FetchError on failure.

    With ``root`` and ``relative`` the file must be a regular file below ``root``,
    reached without following any link; raw and gunzipped bytes are capped at
    ``settings.MAX_BODY_BYTES`` (see ``dropfiles``).
    """
    name = path.name.lower().removesuffix(".gz")
    if not name.endswith(settings.DROP_SUFFIXES) and not path.is_dir():
        raise FetchError(f"unsupported file type: {path.name}")
    try:
        data = read_file(path, settings.MAX_BODY_BYTES, root=root, relative=relative)
    except FileRefused as error:
        if path.is_dir() and not path.is_symlink():
            raise FetchError(f"a folder, not a file: {path.name}") from error
        raise FetchError(str(error)) from error
    except FileNotFoundError as error:
        raise FetchError(f"cannot read {path.name}: {error.strerror}") from error
    if not data.strip():
        raise FetchError(f"empty file: {path.name}")
    return data


def file_content_type(path: Path) -> str | None:
    """The media type a file is read as, from its name; None when the name says nothing."""
    name = path.name.lower().removesuffix(".gz")
    if name.endswith(".txt"):
        return "text/plain"
    if name.endswith((".html", ".htm")):
        return "text/html"
    return None


def file_page_key(source_name: str, relative_path: str, content: bytes) -> str:
    """A stable key for a dropped file: its path in the folder and a content hash.

    The same file dropped again is the same page; an edited file is a new one.
    """
    return f"file:{source_name}/{relative_path}#{hashlib.sha256(content).hexdigest()[:16]}"
