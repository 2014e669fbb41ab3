"""What a fetch is and what it may reach: results, refusals, page keys and the SSRF guard.

``FetchError`` carries a reject reason; ``HttpResult``, ``Attempt`` and ``FetchedPage`` are
what the HTTP client (``httpclient``) and the drop-folder reader (``dropfiles``) hand on. The
guard (``guard_url``, ``GuardedAdapter``) refuses any host that resolves to, or any peer
that connects from, an address that is not public unless the deployment allows it
(``NEWSFLOW_PRIVATE_HOSTS``).
"""

import functools
import hashlib
import ipaddress
import logging
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import requests
import requests.adapters
import urllib3
import urllib3.connection
from courlan import normalize_url
from courlan.clean import clean_query

from newsflow import settings
from newsflow.weburls import split_url

LOGGER = logging.getLogger(__name__)

# Content types we can turn into an article; anything else is rejected with its type.
TEXT_TYPES = ("text/html", "application/xhtml+xml", "text/plain")


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


