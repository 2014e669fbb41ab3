"""The load stage: upsert a batch's articles, settle article keys and near-duplicates,
and report the batch (its ledger, per source) in one transaction.
"""

import logging
from collections import Counter
from typing import Any

from newsflow import article_store, ledger, provenance, settings, staging
from newsflow.duplicates import assign_clusters
from newsflow.item_stage import Stats
from newsflow.weburls import registrable_domain

LOGGER = logging.getLogger(__name__)


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
