"""The clean, extract and enrich stages over one batch.

The pipeline: discover (``discovery``), fetch (``fetch_stage``), then clean, extract and
enrich (here, on the shared machinery of ``item_stage``), then load (``load_stage``).

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
from collections import Counter
from typing import Any

from newsflow import settings, source_state, staging
from newsflow.cleaning import CleanDocument, CleaningError, clean_document, detect_format
from newsflow.fields import build_fields, reject_reason
from newsflow.item_stage import (
    CHUNK_SIZE,
    StageError,
    Stats,
    cpu_pool,
    in_order,
    report_counts,
    run_item_stage,
    save_chunk,
    work_on_chunk,
)
from newsflow.safetext import scrub
from newsflow.weburls import http_url, same_site

LOGGER = logging.getLogger(__name__)


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
    now = run_item_stage(
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
    """The clean stage's outcomes for one chunk (see ``work_on_chunk``); for pool workers."""
    return work_on_chunk("clean", _clean_item, chunk, pages)


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
    return run_item_stage(
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
    with cpu_pool(items) as pool:
        for (chunk,), outcomes in in_order(pool, _enrich_chunk, chunks):
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
            failed += save_chunk(conn, batch_key, "enrich", "enriched", results, rejects,
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
