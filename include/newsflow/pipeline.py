"""The pipeline's stages over one batch: discover, fetch, clean, extract, load.

Each stage reads the batch's items from PostgreSQL, does its work, writes its results
(or a reject with the reason) back, and returns per-source counts. Stages take only a
connection and a batch key, so any worker can run any stage of any batch.

Per-item failures become rejects; a stage raises (and Airflow retries it) when it cannot
do its job at all: the database is gone, the sources file is broken, every source
failed, or every item hit an unexpected error.
"""

import logging
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from newsflow import settings, storage
from newsflow.cleaning import CleanDocument, CleaningError, clean_document, detect_format
from newsflow.fetching import (
    FetchedPage,
    FetchError,
    HttpResult,
    canonicalize_url,
    check_article_response,
    file_content_type,
    file_page_key,
    http_get,
    make_session,
    read_drop_file,
)
from newsflow.fields import build_fields
from newsflow.sources import Discovery, Source, list_folder, load_sources, parse_feed

LOGGER = logging.getLogger(__name__)

# Items processed per transaction in the clean and extract stages: bounds memory.
CHUNK_SIZE = 50
# Where the clean and extract stages stage their results in batch_items.
RESULT_COLUMNS = {"cleaned": "cleaned", "extracted": "fields"}

Stats = dict[str, dict[str, int]]


class StageError(RuntimeError):
    """A stage could not do its job; raising it makes Airflow retry the task."""


def discover(conn: Any, batch_key: str, sources_file: Path | None = None) -> Stats:
    """Find the inputs of every enabled source and stage them in the batch.

    Args:
        conn: an open connection.
        batch_key: the batch (one DAG run).
        sources_file: the YAML sources file; defaults to ``settings.sources_file()``.

    Returns:
        ``{source_name: {"found": n}}`` for sources that answered.

    Raises:
        StageError: every enabled source failed.
    """
    sources = [s for s in load_sources(sources_file) if s.enabled]
    session = make_session()
    stats: Stats = {}
    failed = 0
    for source in sources:
        try:
            discoveries = _discover_source(conn, batch_key, source, session)
        except FetchError as error:
            storage.record_reject(conn, batch_key, source.name, source.location, "discover",
                                  str(error))
            conn.commit()
            failed += 1
            continue
        storage.stage_discoveries(conn, batch_key, discoveries)
        conn.commit()
        stats[source.name] = {"found": len(discoveries)}
        LOGGER.info("source %s: found %d", source.name, len(discoveries))
    if sources and failed == len(sources):
        raise StageError(f"all {failed} enabled sources failed discovery; see rejects")
    return stats


def _discover_source(
    conn: Any, batch_key: str, source: Source, session: requests.Session
) -> list[Discovery]:
    """The inputs of one source; feed failures raise FetchError."""
    if source.kind == "folder":
        return list_folder(source)
    result = http_get(session, source.location)
    _log_attempt(conn, batch_key, source.name, result)
    if result.error:
        raise FetchError(f"feed unreachable: {result.error}")
    if result.status != 200:
        raise FetchError(f"feed answered HTTP {result.status}")
    try:
        return parse_feed(result.content, result.final_url or source.location, source.name)
    except ValueError as error:
        raise FetchError(str(error)) from error


def fetch(conn: Any, batch_key: str) -> Stats:
    """Fetch (URLs) or read (files) every discovered item and store its page.

    Args:
        conn: an open connection.
        batch_key: the batch.

    Returns:
        ``{source_name: {"fetched": n, "rejected": m}}``.
    """
    session = make_session()
    counts: Counter[tuple[str, str]] = Counter()
    for item in storage.items_at_stage(conn, batch_key, "discovered"):
        try:
            page = _fetch_item(conn, batch_key, item, session)
        except FetchError as error:
            storage.record_reject(conn, batch_key, item.source_name, item.input, "fetch",
                                  str(error))
            counts[item.source_name, "rejected"] += 1
        else:
            storage.save_page(conn, batch_key, page)
            counts[item.source_name, "fetched"] += 1
        conn.commit()
    return _report("fetch", counts)


def _fetch_item(
    conn: Any, batch_key: str, item: storage.BatchItem, session: requests.Session
) -> FetchedPage:
    """The page of one item, from the web or from its drop folder."""
    if item.input.startswith(("http://", "https://")):
        result = http_get(session, item.input)
        _log_attempt(conn, batch_key, item.source_name, result)
        check_article_response(result)
        final_url = result.final_url or item.input
        return FetchedPage(
            canonicalize_url(final_url), item.source_name, item.input, final_url,
            result.status, result.content_type, result.content,
        )
    path = Path(item.input)
    content = read_drop_file(path)
    relative_path = item.hints.get("relative_path", path.name)
    return FetchedPage(
        file_page_key(item.source_name, relative_path, content), item.source_name,
        item.input, None, None, file_content_type(path), content,
    )


def clean(conn: Any, batch_key: str) -> Stats:
    """Clean every fetched page of the batch (trafilatura or the plain-text parser).

    Args:
        conn: an open connection.
        batch_key: the batch.

    Returns:
        ``{source_name: {"cleaned": n, "rejected": m}}``.
    """
    return _run_item_stage(
        conn, batch_key, "clean", source="fetched", target="cleaned", work=_clean_item,
        with_content=True,
    )


def _clean_item(item: storage.BatchItem, page: storage.StoredPage) -> dict[str, Any]:
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

    Args:
        conn: an open connection.
        batch_key: the batch.

    Returns:
        ``{source_name: {"extracted": n, "rejected": m}}``.
    """
    return _run_item_stage(
        conn, batch_key, "extract", source="cleaned", target="extracted", work=_extract_item
    )


def _extract_item(item: storage.BatchItem, page: storage.StoredPage) -> dict[str, Any]:
    """The article fields of one cleaned page."""
    return build_fields(
        CleanDocument.from_dict(item.cleaned or {}),
        input_=item.input, url=page.final_url, page_key=page.page_key, hints=item.hints,
    )


def _run_item_stage(
    conn: Any,
    batch_key: str,
    stage: str,
    *,
    source: str,
    target: str,
    work: Callable[[storage.BatchItem, storage.StoredPage], dict[str, Any]],
    with_content: bool = False,
) -> Stats:
    """Apply ``work`` to each item at stage ``source``, chunk by chunk, storing its result.

    A CleaningError rejects the item with its message. Any other exception rejects it as
    an internal error (logged with its traceback), so one odd page cannot sink the batch;
    but when every item fails that way the stage itself is broken, and it raises.
    """
    counts: Counter[tuple[str, str]] = Counter()
    items = storage.items_at_stage(conn, batch_key, source)
    unexpected = 0
    for chunk in storage.chunked(items, CHUNK_SIZE):
        pages = storage.stored_pages(
            conn, [item.page_id for item in chunk], with_content=with_content
        )
        results: dict[str, dict[str, Any]] = {}
        for item in chunk:
            try:
                results[item.input] = work(item, pages[item.page_id])
            except CleaningError as error:
                reason = str(error)
            except Exception as error:
                LOGGER.exception("%s of %s failed unexpectedly", stage, item.input)
                reason = f"internal error: {type(error).__name__}: {error}"
                unexpected += 1
            else:
                counts[item.source_name, target] += 1
                continue
            storage.record_reject(conn, batch_key, item.source_name, item.input, stage, reason)
            counts[item.source_name, "rejected"] += 1
        storage.save_stage_results(conn, batch_key, target, RESULT_COLUMNS[target], results)
        conn.commit()
    if items and unexpected == len(items):
        raise StageError(f"{stage} failed unexpectedly on all {unexpected} items")
    return _report(stage, counts)


def load(conn: Any, batch_key: str) -> Stats:
    """Upsert the batch's articles in one transaction and report the batch per source.

    Args:
        conn: an open connection.
        batch_key: the batch.

    Returns:
        Per source: items per final stage (``loaded``, ``rejected``, ...).
    """
    loaded = storage.upsert_articles(conn, batch_key)
    summary = storage.batch_summary(conn, batch_key)
    for source_name, stages in summary.items():
        LOGGER.info(
            "source %s: found %d, loaded %d, rejected %d", source_name, sum(stages.values()),
            loaded.get(source_name, 0), stages.get("rejected", 0),
        )
    return summary


def _log_attempt(conn: Any, batch_key: str, source_name: str, result: HttpResult) -> None:
    """Write one HTTP attempt to the fetch log."""
    storage.log_fetch(
        conn, batch_key, source_name, result.url, status=result.status,
        size=len(result.content), elapsed_ms=result.elapsed_ms, error=result.error,
    )


def _report(stage: str, counts: Counter[tuple[str, str]]) -> Stats:
    """Log and return per-source counts of a stage."""
    stats: Stats = {}
    for (source_name, outcome), count in sorted(counts.items()):
        stats.setdefault(source_name, {})[outcome] = count
    for source_name, outcomes in stats.items():
        LOGGER.info("%s, source %s: %s", stage, source_name,
                    ", ".join(f"{k} {v}" for k, v in outcomes.items()))
    return stats
