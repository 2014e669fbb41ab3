"""Cleaning a batch's fetched pages while the fetch task waits on hosts.

Politeness makes fetching mostly waiting (40 hosts at one request a second each), and
the CPU stages only start when the last page is in. So, beside its fetch threads, the
fetch task runs ``FetchedPageCleaner``: a thread that takes chunks of the batch's items
already at stage ``fetched`` and cleans them in worker processes, with the clean
stage's own code (``pipeline.clean_chunk``, ``item_stage.save_outcomes``): same results,
same rejects. The ``clean`` task still guarantees the stage: it cleans whatever is left
at ``fetched`` (the last partial chunk, WARC and drop-folder pages, anything this loop
did not finish), so the overlap is an optimisation only, safe to kill at any moment:
what it saved is saved, what it had not saved is still ``fetched``.

An item whose cleaning failed unexpectedly is left at ``fetched`` for the clean task,
which rejects it or, when every item fails, fails loudly.
"""

import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import threading
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

from newsflow import item_stage, pipeline, settings, staging
from newsflow.crawl import BatchCrawler

LOGGER = logging.getLogger(__name__)

# Seconds between two looks for a full chunk of fetched pages when no chunk is in flight.
POLL_SECONDS = 0.5
_PR_SET_PDEATHSIG = 1
# How much lower the workers' priority is than the task's: they clean on idle CPU only.
WORKER_NICENESS = 10


def wanted(items: list[staging.BatchItem]) -> bool:
    """Whether to clean during this fetch: the setting is on and more than a chunk of the
    items are URLs (fetched at the hosts' pace; files are read at once)."""
    urls = sum(1 for item in items if item.input.startswith(("http://", "https://")))
    return settings.CLEAN_DURING_FETCH and urls > item_stage.CHUNK_SIZE


class FetchedPageCleaner:
    """Cleans the batch's fetched pages, a full chunk at a time, until ``finish``.

    Create it before the fetch threads start: its worker processes are forked here, while
    the task has one thread (forking a process with other threads running can copy a lock
    that one of them held). The workers get no database connection; this object's thread
    reads the chunks and saves the outcomes through the crawler's shared connection.

    Args:
        crawler: the fetch task's crawler (its ``db()`` serialises the connection).
        processes: worker processes (``settings.CPU_PROCESSES``).
    """

    def __init__(self, crawler: BatchCrawler, processes: int) -> None:
        self.crawler = crawler
        self.batch_key = crawler.batch_key
        self.processes = max(1, processes)
        self.counts: Counter[tuple[str, str]] = Counter()
        self.left: set[str] = set()  # failed unexpectedly here: the clean task's to decide
        self._in_flight: dict[Future, list[staging.BatchItem]] = {}
        self._fetched = threading.Event()  # the last page is in: send no more chunks
        self._abandoned = False
        self._pool = ProcessPoolExecutor(
            self.processes, mp_context=multiprocessing.get_context("fork"),
            initializer=_worker_setup,
        )
        # A fork pool starts all its workers at the first job: now, before any thread.
        self._pool.submit(int).result()
        self._thread = threading.Thread(target=self._run, name="clean-during-fetch",
                                        daemon=True)

    def start(self) -> None:
        """Start taking chunks of fetched pages."""
        self._thread.start()

    def finish(self) -> item_stage.Stats:
        """After the last page is fetched: finish the chunks in flight, stop, report."""
        self._fetched.set()
        self._thread.join()
        self._pool.shutdown(wait=True, cancel_futures=True)
        stats = item_stage.report_counts("clean during fetch", self.counts)
        cleaned = sum(n for (_, outcome), n in self.counts.items() if outcome == "cleaned")
        rejected = sum(n for (_, outcome), n in self.counts.items() if outcome == "rejected")
        LOGGER.info("cleaned %d pages and rejected %d while fetching; the clean task takes"
                    " the rest (%d failed unexpectedly here and are left to it)",
                    cleaned, rejected, len(self.left))
        return stats

    def abandon(self) -> None:
        """The fetch failed: stop now, saving nothing more; chunks not saved stay ``fetched``."""
        self._abandoned = True
        self._fetched.set()
        self._thread.join(timeout=4 * POLL_SECONDS)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self) -> None:
        try:
            while not self._abandoned and (not self._fetched.is_set() or self._in_flight):
                if not self._fetched.is_set():
                    self._send_full_chunks()
                self._save_finished()
        except Exception:  # the overlap is an optimisation: the clean task does the rest
            LOGGER.exception("cleaning during fetch stopped; the clean task cleans the rest")
            for future in self._in_flight:
                future.cancel()
            self._in_flight.clear()

    def _send_full_chunks(self) -> None:
        """Send chunks of fetched pages not yet sent, a full chunk each, while workers are free."""
        while len(self._in_flight) <= self.processes:
            sent = {item.input for chunk in self._in_flight.values() for item in chunk}
            # Two short turns with the shared connection, so the fetch threads wait less.
            with self.crawler.db() as conn:
                chunk = staging.items_at_stage_except(
                    conn, self.batch_key, "fetched", sent | self.left, item_stage.CHUNK_SIZE)
            if len(chunk) < item_stage.CHUNK_SIZE:
                return
            with self.crawler.db() as conn:
                pages = staging.stored_pages(conn, [item.page_id for item in chunk],
                                             with_content=True)
            job = self._pool.submit(pipeline.clean_chunk, chunk,
                                    [pages[item.page_id] for item in chunk])
            self._in_flight[job] = chunk

    def _save_finished(self) -> None:
        """Save the chunks done within a poll interval (when none is in flight, wait one)."""
        if not self._in_flight:
            self._fetched.wait(POLL_SECONDS)
            return
        done, _ = wait(list(self._in_flight), timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
        for future in done:
            if self._abandoned:
                return
            chunk = self._in_flight.pop(future)
            outcomes = future.result()
            with self.crawler.db() as conn:
                counts: Counter[tuple[str, str]] = Counter()
                try:
                    item_stage.save_outcomes(conn, self.batch_key, "clean", "cleaned", chunk,
                                             outcomes, counts, leave_unexpected=True)
                except BaseException:
                    # Nothing half-saved may ride on a fetch thread's next commit.
                    with contextlib.suppress(Exception):
                        conn.rollback()
                    raise
            self.counts.update(counts)
            self.left.update(item.input for item, (_, _, internal) in zip(
                chunk, outcomes, strict=True) if internal)


def _worker_setup() -> None:
    """In a worker: yield the CPU to the fetch path, and die with the task's process.

    Fetching is the critical path: its threads, PostgreSQL and the servers must get the
    CPU when they want it, the cleaning only what they leave (``WORKER_NICENESS``). Killed
    when the task's process dies (Linux), a worker is never left behind.
    """
    os.nice(WORKER_NICENESS)
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        LOGGER.debug("no prctl here: a worker outlives a killed task until its job ends")
