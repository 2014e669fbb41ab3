"""The bytes of a page: its charset, whether it is text at all, its canonical link, gunzip.

Pages and documents are decoded the way browsers do (header, BOM, ``<meta>``, detection);
head tags are found by a linear scan, never a backtracking expression.
"""

import codecs
import gzip
import io
import re
from collections.abc import Iterator

import webencodings
from charset_normalizer import from_bytes

from newsflow.fetching import FetchError, media_type_of
from newsflow.weburls import http_url

# Bytes of a page searched for a <meta> charset, as browsers do (HTML spec: 1024).
META_SNIFF_BYTES = 4096


# Characters text does not have: controls other than whitespace, and U+FFFD (bytes the
# charset could not decode). A page with more than MAX_BINARY_SHARE of them is binary
# (an image, a PDF, random bytes) whatever its Content-Type or file name says; text in
# the wrong charset stays well below (a few accented letters per line).
_NOT_TEXT = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ufffd]")


MAX_BINARY_SHARE = 0.1


_CHARSET_PARAMETER = re.compile(rb"""charset\s*=\s*["']?\s*([a-zA-Z0-9_:.-]+)""", re.I)


# An attribute starts after a character that cannot be part of its name: a match tried
# from inside a name fails at once, so the scan stays linear on a tag of one long word.
_ATTRIBUTE = re.compile(
    r"""(?<![a-zA-Z-])([a-zA-Z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))"""
)


# Longest tag read for a canonical link or a charset: real ones are far shorter.
MAX_TAG_CHARS = 16384


def page_charset(content: bytes, content_type: str | None) -> str:
    """The charset of a page: a BOM's, else the header's, else a <meta>'s, else detected.

    A byte-order mark is checked first, as browsers do: it is evidence about the bytes
    themselves, where a header may be a server-wide default. Names are normalised to
    Python codec names; unknown names are skipped.
    """
    for bom, name in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16"),
                      (codecs.BOM_UTF16_BE, "utf-16")):
        if content.startswith(bom):
            return name
    match = re.search(r"charset\s*=\s*[\"']?([^\s;\"']+)", content_type or "", re.I)
    declared = _codec_name(match.group(1)) if match else None
    if declared:
        return declared
    declared = _meta_charset(content[:META_SNIFF_BYTES])
    if declared:
        return declared
    try:
        content.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    matches = from_bytes(content[:200_000])
    # Western pages without a declaration are nearly always cp1252, which detection
    # often mistakes for another single-byte code page.
    if any("cp1252" in match.could_be_from_charset for match in matches):
        return "cp1252"
    best = matches.best()
    return (_codec_name(best.encoding) or "utf-8") if best else "utf-8"


def as_utf8(content: bytes, charset: str) -> bytes:
    """The page re-encoded as UTF-8 without BOM or NULs; undecodable bytes become U+FFFD."""
    codec = "utf-8-sig" if charset == "utf-8" else charset
    return content.decode(codec, errors="replace").replace("\x00", "").encode("utf-8")


def check_text(content: bytes, name: str) -> None:
    """Raise FetchError when UTF-8 ``content`` is binary rather than text.

    Args:
        content: the page as stored (``as_utf8``).
        name: the page's name for the message.
    """
    text = content.decode("utf-8", errors="replace")
    odd = sum(1 for _ in _NOT_TEXT.finditer(text))
    if text and odd > MAX_BINARY_SHARE * len(text):
        raise FetchError(
            f"binary content, not text: {odd} of {len(text)} characters are control"
            f" characters or undecodable bytes ({name})"
        )


def with_charset(content_type: str | None, charset: str, default: str = "text/html") -> str:
    """``content_type`` (or ``default``) with its charset parameter set to ``charset``."""
    media_type = media_type_of(content_type) or default
    return f"{media_type}; charset={charset}"


def _codec_name(label: str) -> str | None:
    """Python's codec for a charset label, by the WHATWG Encoding Standard's table.

    Only the labels a browser knows count: Python also accepts labels of codecs that
    are no text encoding (``hex``, ``rot13``, ``zlib``, ...), which decode to bytes or
    raise. The standard's ``replacement`` and ``x-user-defined`` have no Python text
    codec; like unknown labels they give None, and the caller detects the charset.
    """
    encoding = webencodings.lookup(label.strip()[:64])
    if encoding is None or encoding.name in ("replacement", "x-user-defined"):
        return None
    name = encoding.codec_info.name
    try:
        codecs.lookup(name)
    except LookupError:
        return None
    # WHATWG's utf-16 is little-endian; a BOM, checked first, says otherwise.
    return "utf-16" if name in ("utf-16-le", "utf-16-be") else name


def _tags(text: str, name: str) -> Iterator[str]:
    """Each ``<name ...>`` tag of ``text``, found in one linear pass (no backtracking).

    A tag ends at its first ``>``, as the old regular expression had it; one longer than
    ``MAX_TAG_CHARS`` is skipped, and an unclosed one ends the scan.
    """
    lowered, opener, start = text.lower(), "<" + name, 0
    while True:
        begin = lowered.find(opener, start)
        if begin < 0:
            return
        after = begin + len(opener)
        end = lowered.find(">", after)
        if end < 0:
            return
        if lowered[after] in " \t\n\r\f/>" and end - begin <= MAX_TAG_CHARS:
            yield text[begin:end + 1]
        start = end + 1


def _attributes(tag: str) -> dict[str, str]:
    """A tag's attributes by lower-cased name (the first of a name wins)."""
    found: dict[str, str] = {}
    for match in _ATTRIBUTE.finditer(tag):
        value = next(g for g in match.groups()[1:] if g is not None)
        found.setdefault(match.group(1).lower(), value)
    return found


def _meta_charset(head: bytes) -> str | None:
    """The codec of the first ``<meta>`` charset declaration in ``head`` that names one."""
    for tag in _tags(head.decode("latin-1"), "meta"):
        match = _CHARSET_PARAMETER.search(tag.encode("latin-1"))
        name = _codec_name(match.group(1).decode("ascii")) if match else None
        if name:
            return name
    return None


def canonical_link(content: bytes, charset: str, base_url: str) -> str | None:
    """The absolute http(s) URL of the page's ``<link rel="canonical">``, if it has one.

    A link that is no parseable http(s) URL is ignored.
    """
    head = content[:200_000].decode(charset, errors="replace")
    end = head.lower().find("</head>")
    for tag in _tags(head if end < 0 else head[:end], "link"):
        attributes = _attributes(tag)
        if "canonical" in attributes.get("rel", "").lower().split() and attributes.get("href"):
            return http_url(attributes["href"], base_url)
    return None


def gunzip_capped(data: bytes, cap: int, name: str) -> bytes:
    """Gunzip ``data`` when it is gzip (by its magic bytes), reading at most ``cap`` bytes.

    Raises:
        FetchError: corrupt, truncated, or larger than ``cap`` once uncompressed.
    """
    if not data.startswith(b"\x1f\x8b"):
        return data
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            out = stream.read(cap + 1)
    except (OSError, EOFError) as error:
        raise FetchError(f"cannot gunzip {name}: {error}") from error
    if len(out) > cap:
        raise FetchError(f"{name} larger than {cap} bytes uncompressed")
    return out
