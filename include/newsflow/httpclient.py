"""The HTTP client: ``Fetcher.get`` is the one way newsflow talks HTTP.

Per request it checks the SSRF guard (``fetching.guard_url``, a connection pool that checks
the peer) and robots.txt, waits for the host's turn, sends at most one GET (redirects are
followed by hand so each hop is checked again), streams the body up to a size cap and a
per-page time limit, and retries 408, 429, 5xx and connection failures with exponential
backoff or the server's ``Retry-After``. Every request it sends is reported to
``on_attempt`` for the fetch log; a host that keeps timing out opens its circuit
(``HostBreaker``).
"""

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import BinaryIO

import requests
import requests.adapters
import urllib3
import urllib3.connection

from newsflow import settings
from newsflow.fetching import (
    Attempt,
    FetchError,
    GuardedAdapter,
    HttpResult,
    PrivatePeerError,
    RobotsVerdict,
    canonicalize_url,
    guard_url,
    host_of,
    media_type_of,
)
from newsflow.weburls import http_url, join_url

LOGGER = logging.getLogger(__name__)


REDIRECT_STATUSES = (301, 302, 303, 307, 308)


class LocalLimiter:
    """A per-host minimum interval within one process (PostgreSQL's is in ``politeness``)."""

    def __init__(self) -> None:
        self._next_at: dict[str, float] = {}
        self._lock = threading.Lock()

    def __call__(self, host: str, interval: float) -> None:
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next_at.get(host, now))
            self._next_at[host] = slot + interval
        time.sleep(max(0.0, slot - time.monotonic()))


class Fetcher:
    """Polite HTTP GETs: one requests session per host and thread, shared waits and robots.

    Args:
        wait_turn: ``wait_turn(host, interval)`` blocks until this process may send the
            next request to ``host``; defaults to an in-process ``LocalLimiter``.
        robots: ``robots(url)`` returns the RobotsVerdict for a URL; None obeys nothing
            (used to fetch robots.txt itself).
        on_attempt: called with every Attempt, for the fetch log.
    """

    def __init__(
        self,
        *,
        wait_turn: Callable[[str, float], None] | None = None,
        robots: Callable[[str], RobotsVerdict] | None = None,
        on_attempt: Callable[[Attempt], None] | None = None,
    ) -> None:
        self.wait_turn = wait_turn or LocalLimiter()
        self.robots = robots
        self.on_attempt = on_attempt or (lambda attempt: None)
        self._local = threading.local()
        self.breaker = HostBreaker(settings.HOST_TIMEOUTS_IN_A_ROW)

    def session(self, host: str) -> requests.Session:
        """This thread's session for ``host`` (keep-alive per host, no cookies across hosts).

        Its connections are refused when they reach an address the SSRF guard refuses.
        """
        sessions = self._local.__dict__.setdefault("sessions", {})
        if host not in sessions:
            session = requests.Session()
            session.headers["User-Agent"] = settings.USER_AGENT
            for prefix in ("http://", "https://"):
                session.mount(prefix, GuardedAdapter())
            sessions[host] = session
        return sessions[host]

    def close(self) -> None:
        """Close this thread's sessions."""
        for session in self._local.__dict__.pop("sessions", {}).values():
            session.close()

    def get(
        self,
        url: str,
        *,
        conditional: tuple[str | None, str | None] | None = None,
        max_bytes: int | None = None,
        accept: tuple[str, ...] | None = None,
        use_robots: bool = True,
        sink: BinaryIO | None = None,
        time_limit: float | None = None,
    ) -> HttpResult:
        """GET ``url`` politely, following redirects; every hop passes the SSRF guard.

        Args:
            url: an absolute http(s) URL.
            conditional: (ETag, Last-Modified) of the last copy, sent as
                If-None-Match / If-Modified-Since.
            max_bytes: body cap; defaults to ``settings.MAX_BODY_BYTES``.
            accept: media types worth downloading; a 2xx of another type is not read.
            use_robots: consult robots.txt (off only to fetch robots.txt itself).
            sink: a file the body is streamed into instead of ``content`` (a WARC file);
                emptied before each try.
            time_limit: seconds for the whole GET; defaults to ``settings.PAGE_TIME_LIMIT``.

        Returns:
            The result. Failures come back with ``error`` set (never raised), so the
            caller can reject the input with that reason.
        """
        started = time.monotonic()
        deadline = started + (time_limit or settings.PAGE_TIME_LIMIT)
        cap = max_bytes or settings.MAX_BODY_BYTES
        headers = _conditional_headers(conditional)
        current, hops = url, []

        def failed(message: str, status: int | None = None) -> HttpResult:
            return HttpResult(url, current, status, None, b"", _ms_since(started), message,
                              redirects=tuple(hops))

        if http_url(url) is None:
            return failed(f"not a valid http(s) URL: {url[:200]!r}")
        seen = {canonicalize_url(url)}

        while True:
            try:
                guard_url(current)
            except FetchError as error:
                return failed(str(error))
            interval = settings.HOST_INTERVAL
            if self.robots is not None and use_robots:
                verdict = self.robots(current)
                if not verdict.allowed:
                    return failed(verdict.reason or "disallowed by robots.txt")
                if verdict.crawl_delay:
                    interval = max(interval, min(verdict.crawl_delay, settings.MAX_CRAWL_DELAY))
            response = self._get_with_retries(current, headers, cap, accept, deadline, interval,
                                              sink)
            if response.status not in REDIRECT_STATUSES or response.error:
                return HttpResult(
                    url, current, response.status, response.content_type, response.content,
                    _ms_since(started), response.error, response.etag, response.last_modified,
                    tuple(hops),
                )
            if not response.final_url:
                return failed(f"HTTP {response.status} without a Location", response.status)
            target = response.final_url
            if len(hops) >= settings.MAX_REDIRECTS:
                return failed(f"too many redirects (more than {settings.MAX_REDIRECTS})",
                              response.status)
            if canonicalize_url(target) in seen:
                return failed(f"redirect loop: {current} -> {target}", response.status)
            seen.add(canonicalize_url(target))
            hops.append(current)
            current = target

    def _get_with_retries(
        self,
        url: str,
        headers: dict[str, str],
        cap: int,
        accept: tuple[str, ...] | None,
        deadline: float,
        interval: float,
        sink: BinaryIO | None = None,
    ) -> HttpResult:
        """One URL, retried on transient failures; a redirect's target is in ``final_url``."""
        host = host_of(url)
        for attempt in range(1, settings.FETCH_RETRIES + 2):
            if self.breaker.is_open(host):
                return HttpResult(url, url, None, None, b"", 0, self.breaker.reason(host))
            self.wait_turn(host, interval)
            if time.monotonic() >= deadline:
                return HttpResult(url, url, None, None, b"", 0, _time_limit_message())
            result, retry_after = self._request(url, headers, cap, accept, deadline, sink)
            self.breaker.record(host, _is_timeout(result))
            size = len(result.content) if sink is None else sink.tell()
            self.on_attempt(Attempt(
                url, attempt, result.status, size, result.elapsed_ms,
                result.error, result.final_url if result.status in REDIRECT_STATUSES else None,
                result.not_modified,
            ))
            if attempt > settings.FETCH_RETRIES or not _is_transient(result):
                return result
            delay = settings.RETRY_BACKOFF * 2 ** (attempt - 1)
            if retry_after is not None:
                delay = max(delay, min(retry_after, settings.MAX_RETRY_AFTER))
            if time.monotonic() + delay >= deadline:
                return result
            LOGGER.info("retrying %s in %.1f s after %s", url, delay,
                        result.error or f"HTTP {result.status}")
            time.sleep(delay)
        raise AssertionError("unreachable")

    def _request(
        self,
        url: str,
        headers: dict[str, str],
        cap: int,
        accept: tuple[str, ...] | None,
        deadline: float,
        sink: BinaryIO | None = None,
    ) -> tuple[HttpResult, float | None]:
        """Send one GET without following redirects; returns the result and Retry-After."""
        started = time.monotonic()
        session = self.session(host_of(url))
        read_timeout = max(0.1, min(settings.READ_TIMEOUT, deadline - started))
        try:
            with session.get(
                url, headers=headers, stream=True, allow_redirects=False,
                timeout=(settings.CONNECT_TIMEOUT, read_timeout),
            ) as response:
                status = response.status_code
                content_type = response.headers.get("Content-Type")
                location = response.headers.get("Location")
                extra = {
                    "etag": response.headers.get("ETag"),
                    "last_modified": response.headers.get("Last-Modified"),
                }
                retry_after = _retry_after(response.headers.get("Retry-After"))
                target = join_url(url, location) if location else None
                if location and target is None:
                    return HttpResult(url, None, status, content_type, b"", _ms_since(started),
                                      f"redirect to an invalid Location: {location[:200]!r}",
                                      ), None

                def result(content: bytes = b"", error: str | None = None) -> HttpResult:
                    final = target if status in REDIRECT_STATUSES else url
                    return HttpResult(url, final, status, content_type, content,
                                      _ms_since(started), error, **extra)

                if status in REDIRECT_STATUSES or status == 304:
                    return result(), retry_after
                media_type = media_type_of(content_type)
                # No Content-Type at all is read as HTML, as browsers do.
                if accept and 200 <= status < 300 and media_type and media_type not in accept:
                    return result(error=f"not an article page: content type {media_type}"), None
                content, error = _read_body(response, cap, deadline, sink)
                return result(content, error), retry_after
        except PrivatePeerError as error:
            return HttpResult(url, None, None, None, b"", _ms_since(started), str(error)), None
        except ValueError as error:
            # requests parses a redirect's Location even when it does not follow it; the
            # URL itself passed http_url, so an unparseable Location is what raised.
            message = f"redirect to an invalid Location ({type(error).__name__}: {error})"
            return HttpResult(url, None, None, None, b"", _ms_since(started), message), None
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as error:
            message = f"{type(error).__name__}: {error}"
            return HttpResult(url, None, None, None, b"", _ms_since(started), message), None


def _read_body(
    response: requests.Response, cap: int, deadline: float, sink: BinaryIO | None = None
) -> tuple[bytes, str | None]:
    """Stream a body, stopping past ``cap`` bytes or the deadline; into ``sink`` if given."""
    chunks: list[bytes] = []
    size = 0
    if sink is not None:
        sink.seek(0)
        sink.truncate()
    while True:
        chunk = response.raw.read1(65536, decode_content=True)
        if not chunk:
            return b"".join(chunks), None
        size += len(chunk)
        if size > cap:
            return b"", f"body larger than {cap} bytes"
        if time.monotonic() > deadline:
            return b"", _time_limit_message()
        if sink is None:
            chunks.append(chunk)
        else:
            sink.write(chunk)


class HostBreaker:
    """A per-host circuit breaker: after ``limit`` timeouts in a row, no more requests.

    A host that hangs costs each page the full read timeout, times its retries; after a
    few in a row the rest of its pages are failed at once ("deferred", and taken again
    by the next run) instead of holding the fetch task for hours. Any answer resets the
    count. ``limit`` 0 disables it.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._in_a_row: dict[str, int] = {}
        self._lock = threading.Lock()

    def record(self, host: str, timed_out: bool) -> None:
        """Count one request's outcome."""
        with self._lock:
            self._in_a_row[host] = self._in_a_row.get(host, 0) + 1 if timed_out else 0

    def is_open(self, host: str) -> bool:
        """The host timed out ``limit`` times in a row: send it nothing more."""
        return self.limit > 0 and self._in_a_row.get(host, 0) >= self.limit

    def reason(self, host: str) -> str:
        return (f"deferred to the next run: {host} timed out {self.limit} times in a row"
                " (circuit open for this run)")


def _is_timeout(result: HttpResult) -> bool:
    """The request timed out: no connection in time, no byte in time, or the page's limit."""
    error = result.error or ""
    return "Timeout" in error.split(":")[0] or "timed out" in error or (
        error == _time_limit_message())


def _is_transient(result: HttpResult) -> bool:
    """Worth retrying: a connection failure, 408, 429 or a server error."""
    if result.status is None:
        return result.error is not None and not result.error.startswith(
            ("not an http", "refused:")
        )
    return result.status in (408, 429) or 500 <= result.status < 600


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    with contextlib.suppress(TypeError, ValueError, IndexError):
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    return None


def _conditional_headers(conditional: tuple[str | None, str | None] | None) -> dict[str, str]:
    """If-None-Match / If-Modified-Since for a stored copy."""
    headers: dict[str, str] = {}
    if conditional:
        etag, last_modified = conditional
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
    return headers


def _time_limit_message() -> str:
    return f"time limit of {settings.PAGE_TIME_LIMIT:g} s per page exceeded"


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
