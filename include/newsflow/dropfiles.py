"""Reading files someone else put down: regular files only, inside their folder, bounded.

A drop folder is written by other people and programs. A symbolic link in it may point
anywhere (``/proc/self/environ``, a key file), a FIFO blocks the reader forever, a tiny
``.gz`` may expand to gigabytes. So a file is opened without following links, component
by component below the folder (``openat`` with ``O_NOFOLLOW``, no window between a check
and the open), with ``O_NONBLOCK`` so a FIFO cannot block, and read only if ``fstat``
says it is a regular file; raw and decompressed bytes are both capped.
"""

import errno
import gzip
import os
import stat
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

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


def walk_folder(folder: Path) -> Iterator[tuple[str, os.stat_result]]:
    """(relative path, lstat) of every entry under ``folder``'s real path, links not followed.

    Folders are listed and entered; a link to a folder is listed, not entered. Hidden
    entries (a name starting with a dot) are left out. Sorted by relative path.
    """
    real = os.path.realpath(folder)
    found: list[tuple[str, os.stat_result]] = []
    for current, folders, files in os.walk(real, followlinks=False):
        folders[:] = sorted(f for f in folders if not f.startswith("."))
        base = os.path.relpath(current, real)
        for name in files + folders:
            if name.startswith("."):
                continue
            full = os.path.join(current, name)
            try:
                info = os.lstat(full)
            except OSError:
                continue
            found.append((name if base == "." else f"{base}/{name}", info))
    return sorted(found, key=lambda entry: entry[0])
