"""The fetch stage: each discovered item fetched (URLs) or read (drop-folder files), stored.

Hosts are fetched in parallel, each host's pages one after another (``crawl.run_by_host``);
one failed page is one reject; a source past its fetch budget is deferred to the next run.
While it waits on hosts, the task cleans the pages already fetched (``clean_during_fetch``).
"""

import logging
import threading
import time
from collections import Counter
from typing import Any

from newsflow import settings, staging
from newsflow.clean_during_fetch import FetchedPageCleaner, wanted
from newsflow.crawl import BatchCrawler, internal_error, run_by_host
from newsflow.fetching import FetchError
from newsflow.item_stage import StageError, Stats, report_counts

LOGGER = logging.getLogger(__name__)


def fetch(conn: Any, batch_key: str) -> Stats:
    """Fetch (URLs) or read (files) every discovered item and store its page.

    Hosts are fetched in parallel (a thread per host, at most ``settings.FETCH_WORKERS``),
    each host's pages one after another at the host's interval, which PostgreSQL enforces
    across tasks. Meanwhile, with ``settings.CLEAN_DURING_FETCH``, full chunks of fetched
    pages are cleaned in worker processes (the clean task cleans the rest).

    Args:
        conn: an open connection.
        batch_key: the batch.

    Returns:
        ``{source_name: {"fetched": n, "rejected": m}}``.
    """
    crawler = BatchCrawler(conn, batch_key)
    counts: Counter[tuple[str, str]] = Counter()
    budget = SourceBudget(settings.SOURCE_FETCH_SECONDS)

    def fetch_one(item: staging.BatchItem) -> None:
        try:
            budget.check(item)
            page = crawler.fetch_page(item)
            with crawler.db() as db:
                staging.save_page(db, batch_key, page)
                counts[item.source_name, "fetched"] += 1
            return
        except FetchError as error:
            reason = str(error)
        except Exception as error:  # one odd page costs that page, not the stage
            LOGGER.exception("fetch of %s failed unexpectedly", item.input)
            reason = internal_error(error)
            counts[item.source_name, "unexpected"] += 1
        with crawler.db() as db:
            db.rollback()
            staging.record_reject(db, batch_key, item.source_name, item.input, "fetch", reason)
            counts[item.source_name, "rejected"] += 1

    items = staging.items_at_stage(conn, batch_key, "discovered")
    # Forked before the fetch threads start (see clean_during_fetch).
    cleaner = _cleaner(crawler) if wanted(items) else None
    if cleaner:
        cleaner.start()
    try:
        run_by_host(items, fetch_one, settings.FETCH_WORKERS)
    except BaseException:
        if cleaner:
            cleaner.abandon()
        raise
    if cleaner:
        cleaner.finish()
    unexpected = sum(n for (_, outcome), n in counts.items() if outcome == "unexpected")
    if items and unexpected == len(items):
        raise StageError(f"fetch failed unexpectedly on all {unexpected} items")
    return report_counts("fetch", counts)


def _cleaner(crawler: BatchCrawler) -> FetchedPageCleaner | None:
    """The cleaner of fetched pages, or None when its processes cannot start (an
    optimisation: without it the clean task cleans everything)."""
    try:
        return FetchedPageCleaner(crawler, settings.CPU_PROCESSES)
    except OSError as error:
        LOGGER.warning("not cleaning during fetch: its worker processes did not start: %s",
                       error)
        return None


class SourceBudget:
    """Each source's wall-clock budget for fetching URLs in one run.

    The clock of a source starts at its first page; past the budget its remaining URLs
    are rejected as deferred (nothing is requested), and the next run takes them again
    (``source_state.take_inputs``), so one slow source cannot hold the night.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._started: dict[str, float] = {}
        self._lock = threading.Lock()

    def check(self, item: staging.BatchItem) -> None:
        """Raise FetchError when ``item``'s source has used up its budget."""
        if self.seconds <= 0 or not item.input.startswith(("http://", "https://")):
            return
        with self._lock:
            started = self._started.setdefault(item.source_name, time.monotonic())
        if time.monotonic() - started > self.seconds:
            raise FetchError(f"deferred to the next run: source {item.source_name} used its"
                             f" fetch budget of {self.seconds:g} s in this run")
