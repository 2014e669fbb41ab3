"""Politeness: robots.txt rules per host and the per-host request interval shared in PostgreSQL.

robots.txt follows RFC 9309: a 2xx body is obeyed (Disallow/Allow with wildcards, parsed
by Protego), 4xx means no rules, and 5xx, 429 or an unreachable server mean the whole
host is off limits for this run. ``Crawl-delay`` raises the host's interval.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import urlsplit

from protego import Protego

from newsflow.fetching import RobotsVerdict

LOGGER = logging.getLogger(__name__)

# The token our User-Agent is matched by in robots.txt groups.
ROBOTS_AGENT = "newsflow"


@dataclass(frozen=True)
class RobotsFile:
    """A host's robots.txt as fetched: HTTP status, body, or the error that stopped it."""

    status: int | None
    body: str
    error: str | None = None

    @cached_property
    def rules(self) -> Protego:
        """The parsed rules (parsed once per file)."""
        return Protego.parse(self.body)

    def verdict(self, url: str) -> RobotsVerdict:
        """May ``url`` be fetched, and how slowly."""
        if self.error or self.status is None or self.status == 429 or self.status >= 500:
            detail = self.error or f"HTTP {self.status}"
            return RobotsVerdict(False, None, f"robots.txt unavailable ({detail}): host skipped")
        if not 200 <= self.status < 300:
            return RobotsVerdict(True)
        rules = self.rules
        if not rules.can_fetch(url, ROBOTS_AGENT):
            return RobotsVerdict(False, rules.crawl_delay(ROBOTS_AGENT), "disallowed by robots.txt")
        return RobotsVerdict(True, rules.crawl_delay(ROBOTS_AGENT))


def robots_url(url: str) -> str:
    """The robots.txt URL that governs ``url``."""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}/robots.txt"


class RobotsRules:
    """Robots verdicts for URLs, loading each origin's robots.txt once.

    Args:
        load: ``load(robots_txt_url)`` returns the RobotsFile, from a per-run cache or
            the network.
    """

    def __init__(self, load: Callable[[str], RobotsFile]) -> None:
        self._load = load
        self._files: dict[str, RobotsFile] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def __call__(self, url: str) -> RobotsVerdict:
        return self.file_for(url).verdict(url)

    def file_for(self, url: str) -> RobotsFile:
        """The RobotsFile of ``url``'s origin, loaded on first use."""
        key = robots_url(url)
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._files:
                self._files[key] = self._load(key)
            return self._files[key]


class SharedHostLimiter:
    """Per-host spacing that holds across threads, tasks and machines.

    Args:
        claim: ``claim(host, interval)`` reserves the host's next slot (in PostgreSQL)
            and returns how many seconds from now that slot starts.
        sleep: for tests only.
    """

    def __init__(
        self, claim: Callable[[str, float], float], sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._claim = claim
        self._sleep = sleep

    def __call__(self, host: str, interval: float) -> None:
        wait = self._claim(host, interval)
        if wait > 0:
            self._sleep(wait)
