"""Named source sets: the only sources files a run may use, and how config files are read.

A source set is a file ``NAME.yaml`` in the deployment's sources folder
(``$NEWSFLOW_SOURCES_DIR``); a run picks one by NAME (the trigger form offers the names),
never by path. Config files (sets, URL lists) are read safely: the real path must lie
under its folder, the file must be a regular file (no FIFO, device or folder; the last
component no symbolic link) no larger than ``settings.MAX_CONFIG_BYTES``. Messages about
configuration name files and rules, never their contents.

No heavy imports here: DAG files list the sets at parse time.
"""

import os
import re
import stat
from pathlib import Path

from newsflow import settings

# A set's name: lower-case letters, digits, '-' and '_', as file stem, enum value and label.
SET_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
SET_SUFFIX = ".yaml"


class SourceConfigError(ValueError):
    """The sources configuration cannot be used as it is; the message is one line."""


def set_names(folder: Path | None = None) -> list[str]:
    """The names of the source sets in ``folder`` (default: the sources folder), sorted.

    Only regular files named ``NAME.yaml`` with a valid NAME count; a missing folder has
    no sets.
    """
    folder = folder or settings.sources_dir()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    return sorted(
        entry.name.removesuffix(SET_SUFFIX) for entry in entries
        if entry.name.endswith(SET_SUFFIX)
        and SET_NAME.fullmatch(entry.name.removesuffix(SET_SUFFIX))
        and entry.is_file(follow_symlinks=False)
    )


def set_path(name: str, folder: Path | None = None) -> Path:
    """The file of the set called ``name``.

    Raises:
        SourceConfigError: no such set (an invalid name is not echoed back).
    """
    folder = folder or settings.sources_dir()
    if not isinstance(name, str) or not SET_NAME.fullmatch(name):
        raise SourceConfigError(
            "source set: not a set name (lower-case letters, digits, '-' and '_')")
    if name not in set_names(folder):
        raise SourceConfigError(f"source set {name}: no such set in {folder}")
    return folder / f"{name}{SET_SUFFIX}"


def contained(path: Path, root: Path, what: str) -> Path:
    """The real path of ``path`` (symbolic links resolved), which must lie under ``root``.

    Raises:
        SourceConfigError: it lies elsewhere.
    """
    real, real_root = Path(os.path.realpath(path)), Path(os.path.realpath(root))
    if real != real_root and real_root not in real.parents:
        raise SourceConfigError(f"{what} is outside {real_root}")
    return real


def read_config_file(path: Path, what: str, cap: int | None = None) -> bytes:
    """The bytes of a config file: a regular file, opened without blocking, size-capped.

    Args:
        path: the file (callers check its folder with ``contained`` first).
        what: how messages name it, e.g. "source set default".
        cap: the most bytes accepted; defaults to ``settings.MAX_CONFIG_BYTES``.

    Raises:
        SourceConfigError: missing, unreadable, a symbolic link, no regular file, too large.
    """
    cap = cap or settings.MAX_CONFIG_BYTES
    # O_NONBLOCK: opening a FIFO returns at once instead of waiting for a writer.
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    try:
        descriptor = os.open(path, flags)
    except OSError as error:
        raise SourceConfigError(f"{what}: cannot open ({error.strerror})") from None
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise SourceConfigError(f"{what}: not a regular file")
        if info.st_size > cap:
            raise SourceConfigError(f"{what}: larger than {cap} bytes")
        chunks, size = [], 0
        while size <= cap:
            chunk = os.read(descriptor, min(65536, cap + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as error:
        raise SourceConfigError(f"{what}: cannot read ({error.strerror})") from None
    finally:
        os.close(descriptor)
    if size > cap:
        raise SourceConfigError(f"{what}: larger than {cap} bytes")
    return b"".join(chunks)
