"""URLs from untrusted data: joins and splits that never raise, and registrable domains.

Every URL newsflow reads from a page, a feed, a sitemap, a redirect or a list goes through
``join_url`` / ``split_url`` / ``http_url`` here: ``urllib.parse`` raises ``ValueError``
on inputs such as ``http://[oops/`` or an out-of-range port, and one such link must cost
one input, not a stage. ``registrable_domain`` is the public-suffix rule (eTLD+1) from the
list shipped in the ``publicsuffixlist`` package, read offline.
"""

import ipaddress
import logging
from functools import lru_cache
from urllib.parse import SplitResult, urljoin, urlsplit

from publicsuffixlist import PublicSuffixList

LOGGER = logging.getLogger(__name__)

# Characters no URL we follow may hold: controls, spaces and the DEL (a link with a
# newline or a NUL is a mistake or an injection, never an address).
_FORBIDDEN = frozenset(chr(c) for c in (*range(0x21), 0x7F))
# Longer than any real article URL; browsers and servers cut around here.
MAX_URL_CHARS = 8192


def split_url(url: str) -> SplitResult | None:
    """``urlsplit(url)`` with its port checked, or None when it cannot be parsed."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError on a port out of range or not a number)
        return parts
    except (ValueError, TypeError):
        return None


def join_url(base: str, reference: str) -> str | None:
    """``urljoin(base, reference)``, or None when either cannot be parsed."""
    try:
        joined = urljoin(base, reference.strip())
    except (ValueError, TypeError):
        return None
    return joined if split_url(joined) is not None else None


def http_url(reference: str, base: str = "") -> str | None:
    """The absolute http(s) URL ``reference`` names (relative to ``base``), or None.

    None for anything else: another scheme, no host, control characters or spaces
    inside, more than ``MAX_URL_CHARS`` characters, or a URL that cannot be parsed.
    """
    reference = (reference or "").strip()
    if not reference or len(reference) > MAX_URL_CHARS or _FORBIDDEN & set(reference):
        return None
    url = join_url(base, reference) if base else reference
    parts = split_url(url) if url else None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


@lru_cache(maxsize=1)
def _suffix_list() -> PublicSuffixList:
    # The snapshot inside the package: no download, ever.
    return PublicSuffixList()


@lru_cache(maxsize=65536)
def _registrable(host: str) -> str:
    try:
        ipaddress.ip_address(host.strip("[]"))
        return host  # an address is its own site
    except ValueError:
        pass
    host = host.rstrip(".")
    try:
        host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        return host
    return _suffix_list().privatesuffix(host) or host


def registrable_domain(url: str | None) -> str | None:
    """The registrable domain (public suffix + one label) of an http(s) URL's host.

    ``https://news.bbc.co.uk/x`` -> ``bbc.co.uk``; ``https://a.github.io/`` ->
    ``a.github.io`` (github.io is a public suffix: its users are separate sites). An IP
    address or a host that is itself a suffix (``localhost``) is its own site. None
    for anything that is no http(s) URL with a host.
    """
    parts = split_url(url) if url else None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return _registrable(parts.hostname.lower())


def same_site(url: str | None, other: str | None) -> bool:
    """Both are http(s) URLs of one registrable domain."""
    site = registrable_domain(url)
    return site is not None and site == registrable_domain(other)
