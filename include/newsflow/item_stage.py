"""What every stage shares (``Stats``, ``StageError``, ``report_counts``), and the machinery
of the item stages (clean, extract, enrich; see ``pipeline``).

An item stage reads the batch's items at one stage from PostgreSQL, chunk by chunk, works
on each chunk (in a pool of forked worker processes when the batch is big enough), and
saves each chunk's results and rejects in one transaction. Per-item failures become
rejects; the stage raises (and Airflow retries it) only when every item failed unexpectedly.
"""

import logging
import multiprocessing
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from newsflow import settings, staging
from newsflow.cleaning import CleaningError
from newsflow.crawl import internal_error

LOGGER = logging.getLogger(__name__)

# Items processed per transaction in the clean, extract and enrich stages: bounds memory.
# Each chunk is one job of a stage's worker processes (settings.CPU_PROCESSES).
CHUNK_SIZE = 50
# Where the clean and extract stages stage their results in batch_items.
RESULT_COLUMNS = {"cleaned": "cleaned", "extracted": "fields"}

Stats = dict[str, dict[str, int]]


class StageError(RuntimeError):
    """A stage could not do its job; raising it makes Airflow retry the task."""


@contextmanager
def cpu_pool(items: int) -> Iterator[Any]:
    """Worker processes for a CPU stage's chunks, or None when one process will do.

    Forked, so the workers share what the task loaded before (the spaCy model); they
    only compute, the task alone talks to the database.
    """
    processes = min(settings.CPU_PROCESSES, -(-items // CHUNK_SIZE))
    if processes < 2:
        yield None
        return
    pool = multiprocessing.get_context("fork").Pool(processes)
    try:
        yield pool
    except BaseException:
        pool.terminate()
        raise
    else:
        pool.close()
    finally:
        pool.join()


def in_order(pool: Any, work: Callable[..., Any], jobs: Iterable[tuple]) -> Iterator[tuple]:
    """``(job, work(*job))`` for each job, in order; a pool works up to two jobs ahead per process.

    Jobs are drawn (and their inputs read) only as results are taken, so memory stays
    bounded by the chunks in flight.
    """
    if pool is None:
        for job in jobs:
            yield job, work(*job)
        return
    pending: deque[tuple[tuple, Any]] = deque()
    for job in jobs:
        pending.append((job, pool.apply_async(work, job)))
        if len(pending) > 2 * settings.CPU_PROCESSES:
            done, result = pending.popleft()
            yield done, result.get()
    while pending:
        done, result = pending.popleft()
        yield done, result.get()


def run_item_stage(
    conn: Any,
    batch_key: str,
    stage: str,
    *,
    source: str,
    target: str,
    work: Callable[[staging.BatchItem, staging.StoredPage], dict[str, Any]],
    with_content: bool = False,
    done_before: bool = False,
) -> Stats:
    """Apply ``work`` to each item at stage ``source``, chunk by chunk, storing its result.

    A CleaningError rejects the item with its message. Any other exception rejects it as
    an internal error (logged with its traceback), so one odd page cannot sink the batch;
    but when every item fails that way the stage itself is broken, and it raises (unless
    some of the batch's items got through this stage before: ``done_before``).
    """
    counts: Counter[tuple[str, str]] = Counter()
    items = staging.count_at_stage(conn, batch_key, source)
    unexpected = 0

    def jobs() -> Iterator[tuple]:
        for chunk in staging.pages_of_items(conn, batch_key, source, CHUNK_SIZE):
            pages = staging.stored_pages(
                conn, [item.page_id for item in chunk], with_content=with_content
            )
            yield stage, work, chunk, [pages[item.page_id] for item in chunk]

    with cpu_pool(items) as pool:
        for (_, _, chunk, _), outcomes in in_order(pool, work_on_chunk, jobs()):
            unexpected += save_outcomes(conn, batch_key, stage, target, chunk, outcomes, counts)
    if items and unexpected == items and not done_before:
        raise StageError(f"{stage} failed unexpectedly on all {unexpected} items")
    return report_counts(stage, counts)


def save_outcomes(
    conn: Any,
    batch_key: str,
    stage: str,
    target: str,
    chunk: list[staging.BatchItem],
    outcomes: list[tuple[dict[str, Any] | None, str | None, bool]],
    counts: Counter[tuple[str, str]],
    *,
    leave_unexpected: bool = False,
) -> int:
    """Store a chunk's outcomes (``work_on_chunk``): results and rejects; commits.

    Returns how many items failed unexpectedly. With ``leave_unexpected``, those are not
    rejected but left at their stage, for the stage's own task to decide.
    """
    results: dict[str, dict[str, Any]] = {}
    rejects: list[tuple[str, str, str]] = []
    unexpected = 0
    for item, (result, reason, internal) in zip(chunk, outcomes, strict=True):
        if reason is None:
            results[item.input] = result
            counts[item.source_name, target] += 1
            continue
        unexpected += internal
        if internal and leave_unexpected:
            continue
        rejects.append((item.source_name, item.input, reason))
        counts[item.source_name, "rejected"] += 1
    return unexpected + save_chunk(conn, batch_key, stage, target, results, rejects, counts)


def save_chunk(
    conn: Any,
    batch_key: str,
    stage: str,
    target: str,
    results: dict[str, dict[str, Any]],
    rejects: list[tuple[str, str, str]],
    counts: Counter[tuple[str, str]],
) -> int:
    """Store a chunk's results and rejects; commits. Returns how many results failed to save.

    Saved as one statement; if PostgreSQL refuses it (a value no JSON or column takes),
    item by item, and an item it refuses is rejected as an internal error: one odd result
    must not fail the stage on every retry. The counts move from ``target`` to
    ``rejected`` for those.
    """
    column = RESULT_COLUMNS.get(target, "fields")
    try:
        staging.record_rejects(conn, batch_key, stage, rejects)
        staging.save_stage_results(conn, batch_key, target, column, results)
        conn.commit()
        return 0
    except Exception:
        LOGGER.exception("%s: saving a chunk of %d failed; saving item by item", stage,
                         len(results))
        conn.rollback()
    staging.record_rejects(conn, batch_key, stage, rejects)
    conn.commit()
    failed = 0
    sources = {i: s for s, i, _ in rejects}
    for input_, result in results.items():
        try:
            staging.save_stage_results(conn, batch_key, target, column, {input_: result})
            conn.commit()
            continue
        except Exception as error:
            conn.rollback()
            reason = internal_error(error)
        source_name = staging.item_source(conn, batch_key, input_) or sources.get(input_, "")
        staging.record_rejects(conn, batch_key, stage, [(source_name, input_, reason)])
        conn.commit()
        counts[source_name, target] -= 1
        counts[source_name, "rejected"] += 1
        failed += 1
    return failed


def work_on_chunk(
    stage: str,
    work: Callable[[staging.BatchItem, staging.StoredPage], dict[str, Any]],
    chunk: list[staging.BatchItem],
    pages: list[staging.StoredPage],
) -> list[tuple[dict[str, Any] | None, str | None, bool]]:
    """Per item: (result, None, False), or (None, reject reason, whether unexpected).

    A CleaningError rejects the item with its message; any other exception rejects it as
    an internal error, logged with its traceback. Runs in a pool worker or in the task.
    """
    outcomes: list[tuple[dict[str, Any] | None, str | None, bool]] = []
    for item, page in zip(chunk, pages, strict=True):
        try:
            outcomes.append((work(item, page), None, False))
        except CleaningError as error:
            outcomes.append((None, str(error), False))
        except Exception as error:
            LOGGER.exception("%s of %s failed unexpectedly", stage, item.input)
            outcomes.append((None, f"internal error: {type(error).__name__}: {error}", True))
    return outcomes

def report_counts(stage: str, counts: Counter[tuple[str, str]]) -> Stats:
    """Log and return per-source counts of a stage (every stage reports this way)."""
    stats: Stats = {}
    for (source_name, outcome), count in sorted(counts.items()):
        stats.setdefault(source_name, {})[outcome] = count
    for source_name, outcomes in stats.items():
        LOGGER.info("%s, source %s: %s", stage, source_name,
                    ", ".join(f"{k} {v}" for k, v in outcomes.items()))
    return stats
