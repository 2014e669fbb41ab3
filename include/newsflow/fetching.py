"""Fetching: polite, bounded HTTP GETs, drop-folder reads, charsets and canonical page keys.

``Fetcher.get`` is the one way newsflow talks HTTP. Per request it checks the SSRF guard and
robots.txt, waits for the host's turn, sends at most one GET (redirects are followed by
hand so each hop is checked again), streams the body up to a size cap and a per-page time
limit, and retries 408, 429, 5xx and connection failures with exponential backoff or the
server's ``Retry-After``. Every request it sends is reported to ``on_attempt`` for the
fetch log.
"""

import codecs
import contextlib
import functools
import gzip
import hashlib
import io
import ipaddress
import logging
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit, urlunsplit

import requests
import requests.adapters
import urllib3
import urllib3.connection
import webencodings
from charset_normalizer import from_bytes
from courlan import normalize_url
from courlan.clean import clean_query

from newsflow import dropfiles, settings
from newsflow.weburls import http_url, join_url, split_url

LOGGER = logging.getLogger(__name__)

# Content types we can turn into an article; anything else is rejected with its type.
TEXT_TYPES = ("text/html", "application/xhtml+xml", "text/plain")
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
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


class FetchError(Exception):
    """An input could not be fetched or read; the message is the reject reason."""


@dataclass(frozen=True)
class HttpResult:
    """What a GET (after redirects and retries) returned; ``error`` is set when it failed."""

    url: str
    final_url: str | None
    status: int | None
    content_type: str | None
    content: bytes
    elapsed_ms: int
    error: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    redirects: tuple[str, ...] = ()

    @property
    def not_modified(self) -> bool:
        """The server answered a conditional GET with 304."""
        return self.status == 304


@dataclass(frozen=True)
class Attempt:
    """One HTTP request as sent, for the fetch log."""

    url: str
    attempt: int  # 1 for the first try of this URL, 2 for the first retry, ...
    status: int | None
    size: int
    elapsed_ms: int
    error: str | None
    location: str | None  # where a redirect pointed
    not_modified: bool


@dataclass(frozen=True)
class RobotsVerdict:
    """What robots.txt says about one URL."""

    allowed: bool
    crawl_delay: float | None = None
    reason: str | None = None


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
    charset: str | None = None
    canonical_link: str | None = None

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


def host_of(url: str) -> str:
    """The lower-cased host name of a URL: the unit of politeness."""
    parts = split_url(url)
    return ((parts.hostname if parts else None) or "").lower()


@dataclass(frozen=True)
class PrivateHosts:
    """The non-public destinations the deployment allows (``NEWSFLOW_PRIVATE_HOSTS``).

    Each entry may name one port (``127.0.0.1:8765``, ``[::1]:8765``, ``intranet:8080``);
    without one, every port of the host or network is allowed.
    """

    names: frozenset[tuple[str, int | None]] = frozenset()
    networks: tuple[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, int | None], ...] = ()

    def allows_name(self, host: str, port: int) -> bool:
        """``host`` (a name from a URL) on ``port`` is allowed whatever it resolves to."""
        host = host.lower().rstrip(".")
        return (host, None) in self.names or (host, port) in self.names

    def allows_address(self, ip: ipaddress.IPv4Address | ipaddress.IPv6Address,
                       port: int) -> bool:
        """``ip`` on ``port`` lies in an allowed network."""
        return any(ip.version == net.version and ip in net and allowed in (None, port)
                   for net, allowed in self.networks)


# An entry with a port: "[v6]:port", "host:port" or "a.b.c.d/n:port".
_WITH_PORT = re.compile(
    r"\[(?P<v6>[^\]]+)\]:(?P<port6>[0-9]{1,5})|(?P<host>[^:\[\]]+):(?P<port>[0-9]{1,5})")
_HOST_NAME = re.compile(r"(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*")


@functools.lru_cache(maxsize=8)
def parse_private_hosts(setting: str) -> PrivateHosts:
    """The allow-list in a ``NEWSFLOW_PRIVATE_HOSTS`` value: names, addresses, CIDRs.

    Raises:
        ValueError: an entry is neither (the entry's position is named, not its text).
    """
    names: set[tuple[str, int | None]] = set()
    networks = []
    for number, entry in enumerate(re.split(r"[\s,]+", setting.strip()), start=1):
        if not entry:
            continue
        port: int | None = None
        problem = (f"NEWSFLOW_PRIVATE_HOSTS: entry {number} is no host name, address or CIDR"
                   " network (with an optional :port)")
        qualified = _WITH_PORT.fullmatch(entry)
        if qualified:
            entry = qualified.group("v6") or qualified.group("host")
            port = int(qualified.group("port6") or qualified.group("port"))
            if not 0 < port < 65536:
                raise ValueError(problem)
        try:
            networks.append((ipaddress.ip_network(entry.strip("[]"), strict=False), port))
            continue
        except ValueError:
            pass
        name = entry.lower().rstrip(".")
        if not _HOST_NAME.fullmatch(name):
            raise ValueError(problem)
        names.add((name, port))
    return PrivateHosts(frozenset(names), tuple(networks))


def private_hosts() -> PrivateHosts:
    """The allow-list in force (the setting, read now)."""
    return parse_private_hosts(settings.private_hosts())


def guard_url(url: str) -> None:
    """Refuse URLs that are not http(s) or whose host resolves to a non-public address.

    Private, loopback, link-local, site-local, multicast, reserved and unspecified
    addresses are refused, and so are IPv6 addresses that embed such an IPv4 address,
    unless the deployment allows the host or its network (``NEWSFLOW_PRIVATE_HOSTS``): a
    feed, a sitemap, a robots.txt or a redirect must not make us read an intranet or a
    cloud metadata service (SSRF).

    Raises:
        FetchError: with the reason.
    """
    parts = split_url(url)
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(f"not an http(s) URL: {url}")
    allowed = private_hosts()
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as error:
        raise FetchError(f"not an http(s) URL: {url}") from error
    if allowed.allows_name(parts.hostname, port):
        return
    try:
        addresses = _resolve(parts.hostname, port)
    except (socket.gaierror, UnicodeError, ValueError) as error:
        raise FetchError(f"cannot resolve {parts.hostname}: {error}") from error
    for address in addresses:
        refused = non_public(address, allowed, port)
        if refused:
            raise FetchError(f"refused: {parts.hostname} resolves to {refused}{_HOW_TO_ALLOW}")


_HOW_TO_ALLOW = " (a deployment allows it with NEWSFLOW_PRIVATE_HOSTS)"
# NAT64 prefixes (RFC 6052, RFC 8215) and where each may carry its IPv4 address.
_NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")


def _resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to now."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address stands for: mapped, compatible, 6to4, NAT64, Teredo.

    A local-use NAT64 address (64:ff9b:1::/48) may carry its IPv4 address at any of RFC
    6052's positions for prefixes of 48 to 96 bits: every candidate is returned.
    """
    value = int(ip)
    if ip.ipv4_mapped:
        return [ip.ipv4_mapped]
    if value >> 32 == 0 and value > 1:  # IPv4-compatible ::a.b.c.d (not :: or ::1)
        return [ipaddress.IPv4Address(value & 0xFFFFFFFF)]
    if ip.sixtofour:
        return [ip.sixtofour]
    if ip.teredo:
        return list(ip.teredo)
    if ip in _NAT64_WELL_KNOWN:
        return [ipaddress.IPv4Address(value & 0xFFFFFFFF)]
    if ip in _NAT64_LOCAL:
        octets = value.to_bytes(16, "big")
        # Bits 64-71 (octet 8) are always zero in RFC 6052 addresses: skipped.
        candidates = (octets[6:8] + octets[9:11], octets[7:8] + octets[9:12],
                      octets[9:13], octets[12:16])
        return [ipaddress.IPv4Address(candidate) for candidate in candidates]
    return []


def non_public(address: str, allowed: PrivateHosts | None = None, port: int = 0) -> str | None:
    """Why ``address`` may not be reached (e.g. "non-public address 10.0.0.1"), or None.

    An IPv6 address that embeds IPv4 addresses is judged by them; an address the
    deployment allows (``allowed``, on ``port``) is fine.
    """
    allowed = allowed or PrivateHosts()
    ip = ipaddress.ip_address(address.split("%")[0])
    if allowed.allows_address(ip, port):
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.is_site_local:  # fec0::/10, deprecated (RFC 3879) but still routed by some
            return f"site-local address {ip}"
        embedded = embedded_ipv4(ip)
        for inner in embedded:
            if not allowed.allows_address(inner, port) and not _is_public(inner):
                return f"non-public address {inner} (embedded in {ip})"
        if embedded:
            return None
    return None if _is_public(ip) else f"non-public address {ip}"


def _is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """A global unicast address (not private, loopback, link-local, reserved, multicast)."""
    return ip.is_global and not ip.is_multicast


class PrivatePeerError(Exception):
    """A guarded connection reached a non-public address (DNS changed after the check)."""


def _checked_peer(sock: socket.socket, host: str) -> socket.socket:
    """The socket, if its peer may be reached; closed and refused otherwise."""
    allowed = private_hosts()
    address, port = sock.getpeername()[:2]
    if allowed.allows_name(host, port):
        return sock
    refused = non_public(address, allowed, port)
    if refused:
        sock.close()
        raise PrivatePeerError(f"refused: {host} connected to {refused}{_HOW_TO_ALLOW}")
    return sock


class _GuardedHTTPConnection(urllib3.connection.HTTPConnection):
    def _new_conn(self) -> socket.socket:
        return _checked_peer(super()._new_conn(), self.host)


class _GuardedHTTPSConnection(urllib3.connection.HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        return _checked_peer(super()._new_conn(), self.host)


class _GuardedHTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class GuardedAdapter(requests.adapters.HTTPAdapter):
    """Checks the address each connection actually reached, after DNS, not only before.

    ``guard_url`` resolves a host before the request; the name can resolve elsewhere a
    moment later (DNS rebinding). Checking the connected peer closes that gap.
    """

    def init_poolmanager(self, *args: object, **kwargs: object) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _GuardedHTTPPool, "https": _GuardedHTTPSPool,
        }


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


def media_type_of(content_type: str | None) -> str:
    """The bare, lower-cased media type of a Content-Type header ('' when absent)."""
    return (content_type or "").split(";")[0].strip().lower()


def check_article_response(result: HttpResult) -> None:
    """Raise FetchError unless ``result`` is a 2xx response of a text type we can extract."""
    if result.error:
        raise FetchError(result.error)
    if result.status is None or not 200 <= result.status < 300:
        raise FetchError(f"HTTP {result.status}")
    media_type = media_type_of(result.content_type) or "text/html"
    if media_type not in TEXT_TYPES:
        raise FetchError(f"not an article page: content type {media_type}")
    if not result.content.strip():
        raise FetchError("empty response body")


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
        data = dropfiles.read_file(path, settings.MAX_BODY_BYTES, root=root, relative=relative)
    except dropfiles.FileRefused as error:
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
