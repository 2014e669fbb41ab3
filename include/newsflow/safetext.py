"""Text from untrusted pages made inert: control characters out at storage, escaped at print.

A title may carry a terminal escape sequence (ESC [ ... or the 8-bit CSI), a NUL that
PostgreSQL's text and jsonb refuse, or a bidirectional override that makes a line read
backwards. ``scrub`` removes them from what is stored (newlines and tabs stay);
``printable`` escapes anything of the kind in what is printed, for rows stored before;
``escape_log_arguments`` does the same for what newsflow's loggers are given to print
(a dropped file's name, a page's URL, a reject reason quoting the page).
"""

import logging
import math
import os
import re
from collections.abc import Callable
from typing import Any

# C0 controls except tab/newline/carriage return, DEL, C1 controls (8-bit CSI is one),
# and the Unicode bidirectional overrides and isolates.
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# For one line of terminal output: the above plus newlines, tabs and line separators.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _each_string(value: Any, change: Callable[[str], str]) -> Any:
    """``value`` with ``change`` applied to every string in it (lists, tuples, dicts)."""
    if isinstance(value, str):
        return change(value)
    if isinstance(value, dict):
        return {_each_string(key, change): _each_string(item, change)
                for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_each_string(item, change) for item in value)
    return value


def scrub(value: Any) -> Any:
    """``value`` with control characters removed from every string in it (lists, dicts)."""
    return _each_string(value, lambda text: _CONTROLS.sub("", text))


def without_nul(value: Any) -> Any:
    """``value`` with NUL characters (which PostgreSQL text cannot hold) removed, nothing else.

    For names that must stay as they are (a dropped file's path may hold an escape
    sequence and is still that file's name).
    """
    return _each_string(value, lambda text: text.replace("\x00", ""))


def finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float in it (lists, dicts) replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(finite(item) for item in value)
    return value


def printable(text: str) -> str:
    """``text`` for one terminal line: each control character shown escaped (``\\x1b``)."""
    return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def _printable_argument(value: Any) -> Any:
    """A log argument as it may be printed: strings, paths and exceptions escaped."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, os.PathLike):
        return printable(os.fsdecode(value))
    if isinstance(value, BaseException):
        return printable(str(value))
    return value  # numbers and the like keep their type for %d and %.1f


def escape_log_arguments() -> None:
    """Escape control characters in the arguments of every ``newsflow.*`` log record.

    Installed once, when the package is imported, as a log record factory around the one
    in place, so it holds whatever handler prints the record (a terminal, Airflow's task
    log): an escape sequence or a newline in a file's name cannot recolour a terminal or
    fake a log line. The format strings are ours and are left alone.
    """
    previous = logging.getLogRecordFactory()
    if getattr(previous, "newsflow_escapes", False):
        return

    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        # logging.makeLogRecord (structlog's formatter calls it) makes a record named None.
        if isinstance(record.name, str) and record.name.startswith("newsflow") and record.args:
            if isinstance(record.args, dict):
                record.args = {key: _printable_argument(value)
                               for key, value in record.args.items()}
            else:
                record.args = tuple(_printable_argument(value) for value in record.args)
        return record

    make_record.newsflow_escapes = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(make_record)
