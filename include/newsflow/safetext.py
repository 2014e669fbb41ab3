"""Text from untrusted pages made inert: control characters out at storage, escaped at print.

A title may carry a terminal escape sequence (ESC [ ... or the 8-bit CSI), a NUL that
PostgreSQL's text and jsonb refuse, or a bidirectional override that makes a line read
backwards. ``scrub`` removes them from what is stored (newlines and tabs stay);
``printable`` escapes anything of the kind in what is printed, for rows stored before.
"""

import math
import re
from typing import Any

# C0 controls except tab/newline/carriage return, DEL, C1 controls (8-bit CSI is one),
# and the Unicode bidirectional overrides and isolates.
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# For one line of terminal output: the above plus newlines, tabs and line separators.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def scrub(value: Any) -> Any:
    """``value`` with control characters removed from every string in it (lists, dicts)."""
    if isinstance(value, str):
        return _CONTROLS.sub("", value)
    if isinstance(value, dict):
        return {scrub(key): scrub(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(scrub(item) for item in value)
    return value


def without_nul(value: Any) -> Any:
    """``value`` with NUL characters (which PostgreSQL text cannot hold) removed, nothing else.

    For names that must stay as they are (a dropped file's path may hold an escape
    sequence and is still that file's name).
    """
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {without_nul(key): without_nul(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(without_nul(item) for item in value)
    return value


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
