"""The stages' own functions in the benchmark's process, without Airflow or staging: the
component floor, newsflow's side of the peer comparison and the load stage alone.
"""

import sys
import time
from collections import Counter
from typing import Any

from newsflow import article_store, staging, storage
from newsflow.bench_workspace import log

# The component floor: the stages' own functions in this process


def component_floor(urls: list[str], nlp: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Fetch, clean, fields, enrichment of each URL, one after another in this process.

    Returns the figures and the extracted fields of the articles.

    Fetching honours the default per-host interval in process (the URLs go round the
    hosts, so it rarely waits). Enrichment runs per page (``enrich_fields``), so that the
    slowest page can be named; the stage runs ``nlp.pipe`` batches, a little faster.
    One untimed page goes first: one-time loads (language model, spaCy's first call) are
    no page's cost.
    """
    from newsflow import pipeline
    from newsflow.fetching import FetchError
    from newsflow.httpclient import Fetcher

    fetcher = Fetcher()
    _floor_page(fetcher, urls[0], nlp)
    seconds: Counter[str] = Counter()
    cpu_started = time.process_time()
    started = time.perf_counter()
    slowest: tuple[float, str, dict[str, float]] = (0.0, "", {})
    articles = []
    for done, url in enumerate(urls, start=1):
        try:
            took, fields = _floor_page(fetcher, url, nlp)
        except (FetchError, pipeline.CleaningError) as error:
            log(f"floor: {url} rejected: {error}")
            continue
        articles.append(fields)
        seconds.update(took)
        if sum(took.values()) > slowest[0]:
            slowest = (sum(took.values()), url, took)
        if done % 10 == 0 or done == len(urls):
            print(f"\r  floor {done}/{len(urls)}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    wall = time.perf_counter() - started
    fetcher.close()
    return {
        "pages": len(urls), "articles": len(articles), "seconds": round(wall, 1),
        "cpu_seconds": round(time.process_time() - cpu_started, 1),
        "articles_per_s": round(len(articles) / wall, 2),
        "stages": {k: {"seconds": round(v, 1), "items_per_s": round(len(urls) / v, 1)}
                   for k, v in seconds.items()},
        "slowest_page": {"url": slowest[1], "seconds": round(slowest[0], 2),
                         "stages": {k: round(v, 2) for k, v in slowest[2].items()}},
    }, articles


def _floor_page(fetcher: Any, url: str, nlp: Any) -> tuple[dict[str, float], dict[str, Any]]:
    """Seconds each stage's functions took on one page (FetchError, CleaningError pass),
    and its fields."""
    from newsflow import enrichment, pipeline
    from newsflow.fetching import TEXT_TYPES, check_article_response

    took: dict[str, float] = {}
    mark = time.perf_counter()
    result = fetcher.get(url, accept=TEXT_TYPES)
    check_article_response(result)
    page = _stored_page(url, result)
    took["fetch"] = time.perf_counter() - mark
    mark = time.perf_counter()
    cleaned = pipeline._clean_item(
        staging.BatchItem("floor", url, "floor", {}, None, None, None), page)
    took["clean"] = time.perf_counter() - mark
    mark = time.perf_counter()
    fields = pipeline._extract_item(
        staging.BatchItem("floor", url, "floor", {}, None, cleaned, None), page)
    took["fields"] = time.perf_counter() - mark
    mark = time.perf_counter()
    enrichment.enrich_fields(fields, nlp)
    took["enrichment"] = time.perf_counter() - mark
    return took, fields


def _stored_page(url: str, result: Any) -> Any:
    """The page as the fetch stage stores it (see ``BatchCrawler.fetch_page``)."""
    from newsflow.crawl import _stored_as_utf8
    from newsflow.fetching import FetchedPage, canonicalize_url

    final_url = result.final_url or url
    return _stored_as_utf8(FetchedPage(canonicalize_url(final_url), "bench", url, final_url,
                                       result.status, result.content_type, result.content))


def extract_without_enrichment(urls: list[str], processes: int = 1) -> dict[str, Any]:
    """newsflow's fetch, clean and fields (no enrichment) over ``urls``, in ``processes``.

    With more than one, forked workers share the URLs, as news-please's process pool does
    (politeness is then per worker; the sample has one URL per host, so nobody waits).
    """
    started = time.perf_counter()
    if processes > 1:
        import multiprocessing

        with multiprocessing.get_context("fork").Pool(processes) as pool:
            found = pool.map(_peer_article, urls, chunksize=1)
    else:
        found = [_peer_article(url) for url in urls]
    seconds = time.perf_counter() - started
    articles = sum(found)
    return {"urls": len(urls), "articles": articles, "processes": processes,
            "seconds": round(seconds, 2), "articles_per_s": round(articles / seconds, 2)}


_PEER_FETCHER: Any = None


def _peer_article(url: str) -> bool:
    """Whether newsflow makes an article with a body of ``url`` (one fetcher per process)."""
    from newsflow import pipeline
    from newsflow.fetching import TEXT_TYPES, FetchError, check_article_response
    from newsflow.httpclient import Fetcher

    global _PEER_FETCHER
    _PEER_FETCHER = _PEER_FETCHER or Fetcher()
    try:
        result = _PEER_FETCHER.get(url, accept=TEXT_TYPES)
        check_article_response(result)
        page = _stored_page(url, result)
        item = staging.BatchItem("peer", url, "peer", {}, None, None, None)
        cleaned = pipeline._clean_item(item, page)
        item = staging.BatchItem("peer", url, "peer", {}, None, cleaned, None)
        return bool(pipeline._extract_item(item, page).get("body"))
    except (FetchError, pipeline.CleaningError):
        return False


# Load alone


def load_alone(news: str, repeats: int = 2) -> dict[str, Any]:
    """Re-load the run's enriched batch into emptied article tables; the best of ``repeats``."""
    from newsflow import load_stage

    conn = storage.connect(news)
    best: dict[str, Any] = {}
    try:
        (batch_key,) = _one(conn, "SELECT batch_key FROM batch_items LIMIT 1")
        for _ in range(repeats):
            _unload(conn, batch_key)
            started = time.perf_counter()
            loaded = article_store.upsert_articles(conn, batch_key)
            changed = article_store.articles_changed_now(conn, batch_key)
            article_store.replace_article_children(conn, changed)
            conn.commit()
            articles_seconds = time.perf_counter() - started
            _unload(conn, batch_key)
            started = time.perf_counter()
            load_stage.load(conn, batch_key)
            whole_seconds = time.perf_counter() - started
            articles = sum(loaded.values())
            children = {table: _one(conn, f"SELECT count(*) FROM {table}")[0] for table in
                        ("article_entities", "quotes", "numbers", "mentioned_dates")}
            run = {"articles": articles, "child_rows": children,
                   "seconds": round(articles_seconds, 2),
                   "articles_per_s": round(articles / articles_seconds),
                   "with_duplicates_seconds": round(whole_seconds, 2),
                   "with_duplicates_articles_per_s": round(articles / whole_seconds)}
            if not best or run["articles_per_s"] > best["articles_per_s"]:
                best = run
    finally:
        conn.close()
    return best


def _unload(conn: Any, batch_key: str) -> None:
    """Empty the article tables and put the batch back at ``enriched``, to load it again."""
    with conn.cursor() as cur:
        cur.execute("TRUNCATE articles, entities, article_signatures CASCADE")
        cur.execute("UPDATE batch_items SET stage = 'enriched'"
                    " WHERE batch_key = %s AND stage = 'loaded'", (batch_key,))
    conn.commit()


def _one(conn: Any, query: str, args: tuple = ()) -> tuple:
    """The first row of one query."""
    with conn.cursor() as cur:
        cur.execute(query, args)
        return cur.fetchone()
