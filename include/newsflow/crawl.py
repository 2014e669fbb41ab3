"""Crawling for one batch: the fetcher wired to PostgreSQL, discovery per source kind, page fetches.

``BatchCrawler`` gives the discover and fetch stages a ``Fetcher`` whose per-host slots,
robots.txt files and fetch-log rows live in PostgreSQL, so they hold across the threads of
one task, the tasks of one run and runs on other workers. One connection is shared by the
threads; every database call goes through ``db()``, which serialises and commits.
"""

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from newsflow import settings, source_state, staging
from newsflow.dropfiles import file_content_type, file_page_key, read_drop_file
from newsflow.fetching import (
    TEXT_TYPES,
    Attempt,
    FetchedPage,
    FetchError,
    canonicalize_url,
    check_article_response,
    host_of,
    media_type_of,
)
from newsflow.httpclient import Fetcher
from newsflow.pagebytes import (
    as_utf8,
    canonical_link,
    check_text,
    gunzip_capped,
    page_charset,
    with_charset,
)
from newsflow.politeness import RobotsFile, RobotsRules, SharedHostLimiter
from newsflow.sitemaps import SitemapError, parse_sitemap
from newsflow.sources import (
    Discovery,
    Source,
    SourceConfigError,
    Window,
    parse_feed,
    parse_url_list,
)
from newsflow.sourcesets import read_config_file

LOGGER = logging.getLogger(__name__)

# (input, reason) of inputs a source could not turn into discoveries.
Rejects = list[tuple[str, str]]


class BatchCrawler:
    """HTTP for one batch: shared limiter, robots.txt once per origin per run, fetch log.

    Args:
        conn: the stage's open connection (shared by its threads through ``db``).
        batch_key: the batch.
    """

    def __init__(self, conn: Any, batch_key: str) -> None:
        self.conn = conn
        self.batch_key = batch_key
        self._lock = threading.RLock()
        self._context = threading.local()
        self.fetcher = Fetcher(
            wait_turn=SharedHostLimiter(self._claim),
            robots=RobotsRules(self._load_robots),
            on_attempt=self._log_attempt,
        )

    @contextmanager
    def db(self) -> Iterator[Any]:
        """The connection, for one thread at a time; commits on leaving."""
        with self._lock:
            yield self.conn
            self.conn.commit()

    @contextmanager
    def acting_for(self, source_name: str, purpose: str) -> Iterator[None]:
        """Attribute this thread's requests (fetch-log rows) to a source and a purpose."""
        previous = getattr(self._context, "tag", None)
        self._context.tag = (source_name, purpose)
        try:
            yield
        finally:
            self._context.tag = previous

    def _claim(self, host: str, interval: float) -> float:
        with self._lock:
            return source_state.claim_host_slot(self.conn, host, interval)

    def _log_attempt(self, attempt: Attempt) -> None:
        source_name, purpose = getattr(self._context, "tag", None) or ("", "page")
        with self.db() as conn:
            staging.log_fetch(
                conn, self.batch_key, source_name, attempt.url, status=attempt.status,
                size=attempt.size, elapsed_ms=attempt.elapsed_ms, error=attempt.error,
                purpose=purpose, attempt=attempt.attempt, redirect_to=attempt.location,
                not_modified=attempt.not_modified,
            )

    def _load_robots(self, robots_url: str) -> RobotsFile:
        """This run's copy of a robots.txt: from PostgreSQL, else fetched and stored."""
        with self.db() as conn:
            row = source_state.robots_file(conn, self.batch_key, robots_url)
        if row is None:
            source_name, _ = getattr(self._context, "tag", None) or ("", "robots")
            # Guarded like every request: its address, the peer it reaches, its redirects.
            with self.acting_for(source_name, "robots"):
                result = self.fetcher.get(
                    robots_url, use_robots=False, max_bytes=settings.MAX_ROBOTS_BYTES,
                )
            body = result.content.decode("utf-8", errors="replace")
            with self.db() as conn:
                row = source_state.save_robots_file(
                    conn, self.batch_key, robots_url, result.status, body, result.error
                )
        return RobotsFile(*row)

    # Discovery

    def discover_source(self, source: Source, window: Window) -> tuple[list[Discovery], Rejects]:
        """The inputs a feed, sitemap or URL list lists now, and those it could not use.

        Drop folders are the discover stage's (``discovery``): it reads only what it takes.

        Raises:
            FetchError: the source itself could not be read.
        """
        if source.kind == "urls":
            try:
                data = read_config_file(Path(source.location), f"URL list of {source.name}")
                text = data.decode("utf-8-sig")
            except SourceConfigError as error:
                raise FetchError(str(error)) from error
            except UnicodeDecodeError:
                raise FetchError(f"URL list of {source.name}: not UTF-8 text") from None
            return parse_url_list(text, source.name)
        if source.kind == "feed":
            body, base = self.source_document(source, source.location, "feed")
            try:
                return parse_feed(body, base, source.name)
            except ValueError as error:
                raise FetchError(str(error)) from error
        return self._walk_sitemaps(source, window)

    def source_document(
        self, source: Source, url: str, purpose: str, max_bytes: int | None = None
    ) -> tuple[bytes, str]:
        """A feed or sitemap by conditional GET: (body, base URL); a 304 re-reads the copy."""
        with self.db() as conn:
            stored = source_state.source_document(conn, url)
        conditional = (stored.etag, stored.last_modified) if stored else None
        with self.acting_for(source.name, purpose):
            result = self.fetcher.get(url, conditional=conditional, max_bytes=max_bytes)
        if result.error:
            raise FetchError(f"{purpose} unreachable: {result.error}")
        base = result.final_url or url
        if result.not_modified and stored is not None:
            with self.db() as conn:
                source_state.touch_source_document(conn, url)
            LOGGER.info("%s %s not modified: re-reading the stored copy", purpose, url)
            return stored.body, base
        if result.status != 200:
            raise FetchError(f"{purpose} answered HTTP {result.status}")
        with self.db() as conn:
            source_state.save_source_document(conn, url, source_state.SourceDocument(
                result.etag, result.last_modified, result.content_type, result.content,
            ))
        return result.content, base

    def _walk_sitemaps(self, source: Source, window: Window) -> tuple[list[Discovery], Rejects]:
        """Read a sitemap or index breadth-first, bounded in depth and count, loops cut."""
        max_depth = source.options.get("max_depth", settings.MAX_SITEMAP_DEPTH)
        max_sitemaps = source.options.get("max_sitemaps", settings.MAX_SITEMAPS)
        queue: deque[tuple[str, int]] = deque([(source.location, 0)])
        seen: set[str] = set()
        found: list[Discovery] = []
        rejects: Rejects = []
        while queue:
            url, depth = queue.popleft()
            if _url_key(url) in seen:
                LOGGER.warning("source %s: sitemap %s listed again (a loop); read once",
                               source.name, url)
                continue
            if len(seen) >= max_sitemaps:
                rejects.append((url, f"sitemap not read: over {max_sitemaps} sitemaps per run"))
                continue
            seen.add(_url_key(url))
            try:
                body, base = self.source_document(
                    source, url, "sitemap", settings.MAX_SITEMAP_BYTES
                )
                sitemap = parse_sitemap(gunzip_capped(body, settings.MAX_SITEMAP_BYTES, url), base)
            except (FetchError, SitemapError) as error:
                if depth == 0:
                    raise FetchError(str(error)) from error
                rejects.append((url, str(error)))
                continue
            except Exception as error:  # one odd child sitemap costs that sitemap only
                if depth == 0:
                    raise
                LOGGER.exception("source %s: sitemap %s failed unexpectedly", source.name, url)
                rejects.append((url, internal_error(error)))
                continue
            rejects.extend(sitemap.invalid)
            for child in sitemap.children:
                if window.start and child.lastmod and child.lastmod < window.start:
                    continue  # unchanged since before the interval: holds nothing for it
                if depth + 1 > max_depth:
                    rejects.append((child.loc, f"sitemap nested deeper than {max_depth} levels"))
                    continue
                queue.append((child.loc, depth + 1))
            for entry in sitemap.entries:
                hints = {
                    "title": entry.news_title,
                    "published": entry.news_published.isoformat() if entry.news_published else None,
                    "lastmod": entry.lastmod.isoformat() if entry.lastmod else None,
                    "publication": entry.news_publication,
                    "language": entry.news_language,
                    "sitemap": url,
                }
                found.append(Discovery(
                    source.name, entry.loc, {k: v for k, v in hints.items() if v}, entry.dated
                ))
        return found, rejects

    # Fetching

    def fetch_page(self, item: staging.BatchItem) -> FetchedPage:
        """The page of one discovered item, from the web or from its drop folder.

        Raises:
            FetchError: with the reject reason.
        """
        if not item.input.startswith(("http://", "https://")):
            return _read_file(item)
        with self.acting_for(item.source_name, "page"):
            result = self.fetcher.get(item.input, accept=TEXT_TYPES)
        check_article_response(result)
        final_url = result.final_url or item.input
        return _stored_as_utf8(FetchedPage(
            canonicalize_url(final_url), item.source_name, item.input, final_url,
            result.status, result.content_type, result.content,
        ))


def _read_file(item: staging.BatchItem) -> FetchedPage:
    """A drop-folder item as a page keyed by its path and (as dropped) content hash."""
    path = Path(item.input)
    relative_path = item.hints.get("relative_path", path.name)
    # The folder is the input's path without its relative part: only below it is read.
    root = Path(item.input.removesuffix(relative_path)) if item.input.endswith(
        "/" + relative_path) else None
    if root is None:
        raise FetchError(f"not a file of its drop folder: {item.input}")
    content = read_drop_file(path, root, relative_path)
    return _stored_as_utf8(FetchedPage(
        file_page_key(item.source_name, relative_path, content), item.source_name,
        item.input, None, None, file_content_type(path), content,
    ))


def _stored_as_utf8(page: FetchedPage) -> FetchedPage:
    """The page as stored: UTF-8, its original charset and canonical link recorded.

    Deciding the charset here, where the HTTP header is known (header, BOM, <meta>,
    detection), lets every later reader of ``pages`` take the bytes as UTF-8.

    Raises:
        FetchError: the bytes are binary, not text.
    """
    charset = page_charset(page.content, page.content_type)
    content = as_utf8(page.content, charset)
    check_text(content, page.final_url or Path(page.input).name)
    is_html = media_type_of(page.content_type) != "text/plain"
    link = canonical_link(content, "utf-8", page.final_url or "") if is_html else None
    return replace(
        page, content=content, content_type=with_charset(page.content_type, "utf-8"),
        charset=charset, canonical_link=link,
    )


def internal_error(error: BaseException) -> str:
    """The reject reason of an unexpected exception: ``internal error: <type>: <message>``."""
    return f"internal error: {type(error).__name__}: {str(error)[:500]}"


def _url_key(url: str) -> str:
    """``canonicalize_url``, or the URL itself when it cannot be normalised."""
    try:
        return canonicalize_url(url)
    except ValueError:
        return url


def input_key(discovery: Discovery) -> str:
    """What makes an input the same input across runs: its canonical URL or content hash."""
    if "content_sha256" in discovery.hints:
        return "sha256:" + discovery.hints["content_sha256"]
    if discovery.input.startswith(("http://", "https://")):
        return _url_key(discovery.input)
    return discovery.input


def run_by_host(
    items: list[staging.BatchItem], work: Callable[[staging.BatchItem], None], workers: int
) -> None:
    """Run ``work`` on each item: hosts in parallel, each host's items one after another.

    One thread per distinct host (files count as one host), at most ``workers``.
    Re-raises the first unexpected exception once every host has finished.
    """
    groups: dict[str, list[staging.BatchItem]] = {}
    for item in items:
        host = host_of(item.input) if "://" in item.input else ""
        groups.setdefault(host, []).append(item)

    def run_group(group: list[staging.BatchItem]) -> None:
        for item in group:
            work(item)

    threads = fetch_threads(len(groups), workers)
    LOGGER.info("%d items on %d hosts: %d threads", len(items), len(groups), threads)
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="fetch") as pool:
        futures = [pool.submit(run_group, group) for group in groups.values()]
    for future in futures:
        future.result()


def fetch_threads(hosts: int, ceiling: int) -> int:
    """Threads for fetching from ``hosts`` distinct hosts: one each, at most ``ceiling``."""
    return max(1, min(hosts, ceiling))
