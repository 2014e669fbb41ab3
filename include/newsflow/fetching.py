"""Fetching: HTTP GETs with a size cap and timeouts, drop-folder reads, canonical page keys."""

import gzip
import hashlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests
from courlan import normalize_url
from courlan.clean import clean_query
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from newsflow import settings

LOGGER = logging.getLogger(__name__)

# Content types we can turn into an article; anything else is rejected with its type.
TEXT_TYPES = ("text/html", "application/xhtml+xml", "text/plain")


class FetchError(Exception):
    """An input could not be fetched or read; the message is the reject reason."""


@dataclass(frozen=True)
class HttpResult:
    """What one GET returned; ``error`` is set when no usable response arrived."""

    url: str
    final_url: str | None
    status: int | None
    content_type: str | None
    content: bytes
    elapsed_ms: int
    error: str | None = None


@dataclass(frozen=True)
class FetchedPage:
    """A page's raw bytes as stored, under its stable key."""

    page_key: str
    source_name: str
    input: str
    final_url: str | None
    http_status: int | None
    content_type: str | None
    content: bytes

    @property
    def content_sha256(self) -> str:
        """Hex SHA-256 of the raw content."""
        return hashlib.sha256(self.content).hexdigest()


def canonicalize_url(url: str) -> str:
    """Normalise a URL so one article reached two ways gets one key.

    Lower-cases scheme and host, drops default ports, fragments and tracking
    parameters (``utm_*`` and friends), and sorts the query. The query is cleaned on
    its own: courlan's strict mode would drop every parameter off its short allow-list,
    and its HTML unescaping would read ``&region=`` as ``®ion=``.
    """
    parts = urlsplit(url.strip())
    query = clean_query(parts.query)
    base = normalize_url(urlunsplit(parts._replace(query="", fragment="")), strict=True)
    return f"{base}?{query}" if query else base


def make_session() -> requests.Session:
    """A requests session that names newsflow and retries transient failures with backoff."""
    session = requests.Session()
    session.headers["User-Agent"] = settings.USER_AGENT
    retry = Retry(
        total=3,
        backoff_factor=0.5,
        status_forcelist=(408, 429, 500, 502, 503, 504),
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def http_get(session: requests.Session, url: str, max_bytes: int | None = None) -> HttpResult:
    """GET ``url``, reading at most ``max_bytes`` of body.

    Args:
        session: from ``make_session``.
        url: an absolute http(s) URL.
        max_bytes: body cap; defaults to ``settings.MAX_BODY_BYTES``.

    Returns:
        The result; network failures and oversized bodies come back with ``error`` set
        rather than raised, so the caller can log the attempt and reject the input.
    """
    cap = max_bytes or settings.MAX_BODY_BYTES
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        with session.get(
            url, stream=True, timeout=(settings.CONNECT_TIMEOUT, settings.READ_TIMEOUT)
        ) as response:
            content_type = response.headers.get("Content-Type")
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_content(chunk_size=65536):
                size += len(chunk)
                if size > cap:
                    return HttpResult(
                        url, response.url, response.status_code, content_type, b"", elapsed(),
                        f"body larger than {cap} bytes",
                    )
                chunks.append(chunk)
            return HttpResult(
                url, response.url, response.status_code, content_type, b"".join(chunks),
                elapsed(),
            )
    except requests.RequestException as error:
        return HttpResult(url, None, None, None, b"", elapsed(), f"{type(error).__name__}: {error}")


def check_article_response(result: HttpResult) -> None:
    """Raise FetchError unless ``result`` is a 2xx response of a text type we can extract."""
    if result.error:
        raise FetchError(result.error)
    if result.status is None or not 200 <= result.status < 300:
        raise FetchError(f"HTTP {result.status}")
    media_type = (result.content_type or "text/html").split(";")[0].strip().lower()
    if media_type not in TEXT_TYPES:
        raise FetchError(f"not an article page: content type {media_type}")
    if not result.content.strip():
        raise FetchError("empty response body")


def read_drop_file(path: Path) -> bytes:
    """Read a drop-folder file, gunzipping ``.gz`` files; raises FetchError on failure."""
    name = path.name.lower().removesuffix(".gz")
    if not name.endswith(settings.DROP_SUFFIXES):
        raise FetchError(f"unsupported file type: {path.name}")
    try:
        data = path.read_bytes()
        if path.name.lower().endswith(".gz"):
            data = gzip.decompress(data)
    except (OSError, EOFError, gzip.BadGzipFile) as error:
        raise FetchError(f"cannot read {path.name}: {error}") from error
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
