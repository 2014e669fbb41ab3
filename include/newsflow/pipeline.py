"""The pipeline's stages over one batch: discover (``discovery``), fetch (``fetch_stage``),
then clean, extract, enrich and load, here.

Each stage reads the batch's items from PostgreSQL, does its work, writes its results
(or a reject with the reason) back, and returns per-source counts. Stages take only a
connection and a batch key, so any worker can run any stage of any batch.

Per-item failures become rejects; a stage raises (and Airflow retries it) when it cannot
do its job at all: the database is gone, the sources file is broken, every source
failed, or every item hit an unexpected error.
"""

import dataclasses
import functools
import logging
import multiprocessing
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from newsflow import (
    article_store,
    ledger,
    provenance,
    settings,
    source_state,
    staging,
)
from newsflow.cleaning import CleanDocument, CleaningError, clean_document, detect_format
from newsflow.crawl import internal_error
from newsflow.duplicates import assign_clusters
from newsflow.fields import build_fields, reject_reason
from newsflow.safetext import scrub
from newsflow.weburls import http_url, registrable_domain, same_site

LOGGER = logging.getLogger(__name__)

# Items processed per transaction in the clean, extract and enrich stages: bounds memory.
# Each chunk is one job of a stage's worker processes (settings.CPU_PROCESSES).
CHUNK_SIZE = 50
# Where the clean and extract stages stage their results in batch_items.
RESULT_COLUMNS = {"cleaned": "cleaned", "extracted": "fields"}

Stats = dict[str, dict[str, int]]


class StageError(RuntimeError):
    """A stage could not do its job; raising it makes Airflow retry the task."""


def clean(conn: Any, batch_key: str) -> Stats:
    """Clean every fetched page of the batch (trafilatura or the plain-text parser).

    Args:
        conn: an open connection.
        batch_key: the batch.

    Returns:
        ``{source_name: {"cleaned": n, "rejected": m}}``.
    """
    # The fetch task may have cleaned much of the batch while it waited on hosts
    # (settings.CLEAN_DURING_FETCH): those results count, this task cleans the rest.
    before = staging.stage_outcomes(conn, batch_key, "cleaned", "clean")
    if before:
        cleaned = sum(s.get("cleaned", 0) for s in before.values())
        rejected = sum(s.get("rejected", 0) for s in before.values())
        LOGGER.info("clean: %d pages cleaned and %d rejected before this task (during fetch,"
                    " or by an earlier try); cleaning the %d still fetched now", cleaned,
                    rejected, staging.count_at_stage(conn, batch_key, "fetched"))
    now = _run_item_stage(
        conn, batch_key, "clean", source="fetched", target="cleaned", work=_clean_item,
        with_content=True, done_before=bool(before),
    )
    if not before:
        return now
    totals = Counter({(name, k): v for name, stats in before.items() for k, v in stats.items()})
    totals.update({(name, k): v for name, stats in now.items() for k, v in stats.items()})
    return report_counts("clean (whole batch)", totals)


def clean_chunk(
    chunk: list[staging.BatchItem], pages: list[staging.StoredPage]
) -> list[tuple[dict[str, Any] | None, str | None, bool]]:
    """The clean stage's outcomes for one chunk (see ``_work_on_chunk``); for pool workers."""
    return _work_on_chunk("clean", _clean_item, chunk, pages)


def _clean_item(item: staging.BatchItem, page: staging.StoredPage) -> dict[str, Any]:
    """The cleaned document of one fetched page."""
    content = page.content or b""
    document = clean_document(content, detect_format(page.content_type, content), page.final_url)
    length = sum(len(p) for p in document.paragraphs)
    if length < settings.MIN_BODY_CHARS:
        raise CleaningError(
            f"body too short for an article ({length} < {settings.MIN_BODY_CHARS} characters)"
        )
    return document.to_dict()


def extract(conn: Any, batch_key: str) -> Stats:
    """Decide the stored fields of every cleaned item of the batch.

    A page that is not an article (a listing, product or forum page, ...) is rejected
    with the reason ``not an article (<page_type>)``, unless its source has ``accept: any``.

    Args:
        conn: an open connection.
        batch_key: the batch.

    Returns:
        ``{source_name: {"extracted": n, "rejected": m}}``.
    """
    options = source_state.batch_source_options(conn, batch_key)
    trusting = frozenset(name for name, opts in options.items() if opts.get("trust_canonical"))
    accept = {name: str(opts.get("accept", "article")) for name, opts in options.items()}
    return _run_item_stage(
        conn, batch_key, "extract", source="cleaned", target="extracted",
        work=functools.partial(_extract_item, trusting=trusting, accept=accept),
    )


def _extract_item(
    item: staging.BatchItem, page: staging.StoredPage, trusting: frozenset[str] = frozenset(),
    accept: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The article fields of one cleaned page, control characters removed.

    Args:
        item: the cleaned item.
        page: its stored page.
        trusting: the sources whose pages' canonical links are believed, any site.
        accept: each source's ``accept`` option; a page that is no article is rejected
            (``not an article (<page_type>)``) unless its source accepts ``any``.
    """
    document = CleanDocument.from_dict(item.cleaned or {})
    canonical = document.canonical_url
    if canonical and not _canonical_believed(canonical, page.final_url,
                                             trusted=item.source_name in trusting):
        document = dataclasses.replace(document, canonical_url=None)
    fields = build_fields(
        document, input_=item.input, url=page.final_url, page_key=page.page_key,
        hints=item.hints,
    )
    reason = reject_reason(fields, (accept or {}).get(item.source_name, "article"))
    if reason:
        raise CleaningError(reason)
    if canonical and document.canonical_url is None:
        fields["canonical_hint"] = canonical
    return scrub(fields)


def _canonical_believed(canonical: str, final_url: str | None, *, trusted: bool) -> bool:
    """A page's canonical link may be its article key.

    With the source's ``trust_canonical``, always. Otherwise, on the web only when it
    names the same registrable domain (public-suffix eTLD+1) as the URL the page came
    from: any page may claim any canonical link, and believing a foreign one would let
    it take another outlet's article key. A dropped file has no URL to compare with: its
    link counts only with ``trust_canonical``.
    """
    if http_url(canonical) is None:
        return False
    if trusted:
        return True
    return final_url is not None and same_site(canonical, final_url)


def enrich(conn: Any, batch_key: str) -> Stats:
    """Add entities, quotes, numbers, mentioned dates and a MinHash to each extracted item.

    The bodies of each chunk of items are parsed as one spaCy batch.

    Args:
        conn: an open connection.
        batch_key: the batch.

    Returns:
        ``{source_name: {"enriched": n, "rejected": m}}``.

    Raises:
        OSError: the spaCy model is not installed (the task fails, no item is rejected).
        StageError: every item failed unexpectedly.
    """
    # Imported here: spaCy takes a second to import, which DAG parsing need not pay.
    from newsflow import enrichment

    enrichment.load_model()  # here: a missing model fails the task before any work
    counts: Counter[tuple[str, str]] = Counter()
    items = staging.count_at_stage(conn, batch_key, "extracted")
    failed = 0
    chunks = ((chunk,) for chunk in staging.pages_of_items(conn, batch_key, "extracted",
                                                           CHUNK_SIZE))
    with _cpu_pool(items) as pool:
        for (chunk,), outcomes in _in_order(pool, _enrich_chunk, chunks):
            results: dict[str, dict[str, Any]] = {}
            rejects: list[tuple[str, str, str]] = []
            for item, outcome in zip(chunk, outcomes, strict=True):
                if isinstance(outcome, str):
                    rejects.append((item.source_name, item.input, outcome))
                    counts[item.source_name, "rejected"] += 1
                    failed += 1
                else:
                    results[item.input] = {**(item.fields or {}), **outcome}
                    counts[item.source_name, "enriched"] += 1
            failed += _save_chunk(conn, batch_key, "enrich", "enriched", results, rejects,
                                  counts)
    if items and failed == items:
        raise StageError(f"enrich failed unexpectedly on all {failed} items")
    return report_counts("enrich", counts)


def _enrich_chunk(chunk: list[staging.BatchItem]) -> list[dict[str, Any] | str]:
    """The enrichment of each item, or the reject reason of the exception it raised.

    The chunk is parsed as one batch; if that fails, item by item, so that one odd
    article is rejected instead of its whole chunk. Runs in a pool worker or in the task.
    """
    from newsflow import enrichment

    nlp = enrichment.load_model()
    fields = [item.fields or {} for item in chunk]
    try:
        return list(enrichment.enrich_many(fields, nlp))
    except Exception:
        LOGGER.exception("enriching a chunk of %d failed; retrying item by item", len(chunk))
    outcomes: list[dict[str, Any] | str] = []
    for item, one in zip(chunk, fields, strict=True):
        try:
            outcomes.append(enrichment.enrich_fields(one, nlp))
        except Exception as error:
            LOGGER.exception("enrich of %s failed unexpectedly", item.input)
            outcomes.append(f"internal error: {type(error).__name__}: {error}")
    return outcomes


@contextmanager
def _cpu_pool(items: int) -> Iterator[Any]:
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


def _in_order(pool: Any, work: Callable[..., Any], jobs: Iterable[tuple]) -> Iterator[tuple]:
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


def _run_item_stage(
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

    with _cpu_pool(items) as pool:
        for (_, _, chunk, _), outcomes in _in_order(pool, _work_on_chunk, jobs()):
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
    """Store a chunk's outcomes (``_work_on_chunk``): results and rejects; commits.

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
    return unexpected + _save_chunk(conn, batch_key, stage, target, results, rejects, counts)


def _save_chunk(
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


def _work_on_chunk(
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


def load(conn: Any, batch_key: str) -> Stats:
    """Upsert the batch's articles in one transaction; per source, items per final stage."""
    return load_batch(conn, batch_key)[0]


def load_batch(conn: Any, batch_key: str) -> tuple[Stats, int]:
    """Upsert the batch's articles in one transaction and report the batch per source.

    In the same transaction, each new or changed article's entities, quotes, numbers and
    dates rows are replaced, and it is put in its near-duplicate cluster.

    Args:
        conn: an open connection.
        batch_key: the batch.

    Returns:
        Per source: items per final stage (``loaded``, ``rejected``, ...); and how many
        articles the load inserted or changed (0: the articles table is as it was).
    """
    article_store.lock_article_keys(conn, batch_key)
    conflicts = refuse_foreign_keys(conn, batch_key)
    loaded = article_store.upsert_articles(conn, batch_key, provenance.extractor_version())
    changed = article_store.articles_changed_now(conn, batch_key)
    article_store.replace_article_children(conn, changed)
    clustered = _assign_duplicates(conn, batch_key, changed)
    conn.commit()
    LOGGER.info("load: %d articles new or changed, %d of them joined a near-duplicate's cluster",
                len(changed), clustered)
    balance = ledger.batch_ledger(conn, batch_key)
    (LOGGER.info if balance.balanced else LOGGER.error)(
        "ledger: %d inputs, %d articles, %d rejects, %d lost, %d counted twice",
        balance.inputs, balance.articles, balance.rejects, balance.lost, balance.duplicates,
    )
    summary = staging.batch_summary(conn, batch_key)
    for source_name, count in conflicts.items():
        summary.setdefault(source_name, {})["key_conflicts"] = count
    for source_name, stages in summary.items():
        LOGGER.info(
            "source %s: found %d, loaded %d, rejected %d, key conflicts %d", source_name,
            sum(v for k, v in stages.items() if k != "key_conflicts"),
            loaded.get(source_name, 0), stages.get("rejected", 0),
            stages.get("key_conflicts", 0),
        )
    return summary, len(changed)


def item_site(url: str | None, source_name: str) -> str:
    """The site an article comes from: its URL's registrable domain, or its drop folder's."""
    return registrable_domain(url) or f"file:{source_name}"


def refuse_foreign_keys(conn: Any, batch_key: str) -> dict[str, int]:
    """Reject the batch's items whose article key belongs to another site; returns counts.

    A key belongs to the site of its stored article, else to the site of the batch's first
    input (in input order) with that key. An input of another site is rejected at stage
    ``load``, recorded in ``article_key_conflicts`` (view ``v_article_key_conflicts``)
    and logged; the article stays as it was. Call with the keys locked.

    Returns:
        Conflicts per source name.
    """
    items = article_store.enriched_keys(conn, batch_key)
    stored = article_store.article_owners(conn, sorted({key for _, _, key, _ in items if key}))
    owners = {key: site or item_site(url, source) for key, (site, url, source) in stored.items()}
    sites: dict[str, str] = {}
    conflicts: list[dict[str, str]] = []
    for input_, source_name, key, url in items:
        site = item_site(url, source_name)
        owner = owners.setdefault(key, site)
        if owner == site:
            sites[input_] = site
            continue
        conflicts.append({"source_name": source_name, "input": input_, "article_key": key,
                          "owner_site": owner, "input_site": site})
        LOGGER.warning("key conflict: %s (%s, site %s) claims article %s of site %s;"
                       " not loaded", input_, source_name, site, key, owner)
    article_store.save_item_sites(conn, batch_key, sites)
    article_store.record_key_conflicts(conn, batch_key, conflicts)
    staging.record_rejects(conn, batch_key, "load", [
        (c["source_name"], c["input"],
         f"article key {c['article_key']} belongs to site {c['owner_site']}; this page is"
         f" from {c['input_site']}: not loaded, the article is unchanged")
        for c in conflicts
    ])
    return dict(Counter(c["source_name"] for c in conflicts))


def _assign_duplicates(conn: Any, batch_key: str, article_ids: list[int]) -> int:
    """Store the articles' signatures in their clusters; returns how many joined another."""
    article_store.lock_duplicate_clusters(conn)
    members = article_store.signed_articles(conn, batch_key, article_ids)
    neighbours = article_store.band_neighbours(conn, members)
    assignments = assign_clusters(members, neighbours, settings.DUPLICATE_THRESHOLD)
    article_store.save_clusters(conn, members, assignments)
    return sum(1 for a in assignments.values() if a.matched_article_id is not None)


def report_counts(stage: str, counts: Counter[tuple[str, str]]) -> Stats:
    """Log and return per-source counts of a stage (every stage reports this way)."""
    stats: Stats = {}
    for (source_name, outcome), count in sorted(counts.items()):
        stats.setdefault(source_name, {})[outcome] = count
    for source_name, outcomes in stats.items():
        LOGGER.info("%s, source %s: %s", stage, source_name,
                    ", ".join(f"{k} {v}" for k, v in outcomes.items()))
    return stats
