"""Articles in PostgreSQL: the load (upserts, versions, sites, key conflicts), the
enrichment rows and duplicate clusters.

Functions take an open DB-API connection (see ``storage``); callers own transactions.
"""

import json
from typing import Any

from newsflow.duplicates import Assignment, Member, pack, unpack

# Article columns filled from a batch item's extracted fields, with their SQL types.
ARTICLE_FIELDS = {
    "article_key": "text", "canonical_url": "text", "url": "text", "title": "text",
    "subtitle": "text", "authors": "text[]", "published_at": "timestamptz",
    "site_name": "text", "source": "text", "language": "text", "dateline": "text",
    "headings": "text[]", "body": "text", "word_count": "integer", "entities": "jsonb",
    "quotes": "jsonb", "numbers": "jsonb", "dates": "jsonb",
    # Where title, authors, date and language came from (migration 004).
    "title_source": "text", "authors_source": "text", "published_source": "text",
    "modified_at": "timestamptz", "language_source": "text",
    # Each author's kind (person, organisation) and the page's type (migration 010).
    "author_kinds": "text[]", "page_type": "text",
}


# Who wrote an article's current fields (migration 007): extractor, run (batch), when.
PROVENANCE_FIELDS = ("extractor_version", "batch_key", "extracted_at")


# The hash a load compares to skip unchanged articles, of a batch item ``b``'s fields.
FIELDS_SHA256 = "encode(sha256(convert_to(b.fields::text, 'UTF8')), 'hex')"


def upsert_articles(
    conn: Any, batch_key: str, extractor_version: str | None = None
) -> dict[str, int]:
    """Upsert the batch's enriched items into ``articles`` by article key; the caller commits.

    One statement, in one transaction: a failed load leaves no half batch. An article
    reached several ways in the batch is written once, from its first input in input
    order, so re-running the batch writes the same row; a row whose fields did not
    change is not touched at all (its ``updated_at`` neither). A row whose fields do
    change keeps its previous fields in ``article_versions`` (migration 007), and every
    row written records the extractor version, this batch and the time.

    Args:
        conn: an open connection.
        batch_key: the batch to load.
        extractor_version: ``provenance.extractor_version()`` of the extracting process.

    Returns:
        Loaded item counts per source name.
    """
    names = ", ".join(ARTICLE_FIELDS)
    record = ", ".join(f"{name} {sql_type}" for name, sql_type in ARTICLE_FIELDS.items())
    defaults = {"authors": "'{}'", "author_kinds": "'{}'", "headings": "'{}'",
                "entities": "'[]'", "quotes": "'[]'", "numbers": "'[]'", "dates": "'[]'"}
    values = ", ".join(
        f"coalesce(f.{name}, {defaults[name]})" if name in defaults else f"f.{name}"
        for name in ARTICLE_FIELDS
    )
    # source_name is left out: an article reached through several sources stays with the
    # one that loaded it first, so per-source counts do not flip with the order of runs.
    updates = ", ".join(
        f"{name} = EXCLUDED.{name}"
        for name in (*list(ARTICLE_FIELDS)[1:], "page_id", "fields_sha256", *PROVENANCE_FIELDS)
    )
    with conn.cursor() as cur:
        _keep_replaced_versions(cur, batch_key)
        # The site condition is the last guard of the rule the load applies before
        # (refuse_foreign_keys): a stored article never changes hands between sites.
        cur.execute(
            f"INSERT INTO articles ({names}, page_id, source_name, fields_sha256,"
            f" {', '.join(PROVENANCE_FIELDS)}, site)"
            f" SELECT DISTINCT ON (f.article_key) {values}, b.page_id, b.source_name,"
            f"  {FIELDS_SHA256}, %s, %s, now(), b.site"
            f" FROM batch_items b CROSS JOIN LATERAL jsonb_to_record(b.fields) AS f({record})"
            " WHERE b.batch_key = %s AND b.stage = 'enriched'"
            " ORDER BY f.article_key, b.input"
            f" ON CONFLICT (article_key) DO UPDATE SET {updates}, updated_at = now(),"
            "  site = coalesce(articles.site, EXCLUDED.site)"
            " WHERE articles.fields_sha256 IS DISTINCT FROM EXCLUDED.fields_sha256"
            "  AND (articles.site IS NULL OR EXCLUDED.site IS NULL"
            "       OR articles.site = EXCLUDED.site)",
            (extractor_version, batch_key, batch_key),
        )
        cur.execute(
            "UPDATE batch_items SET stage = 'loaded', updated_at = now()"
            " WHERE batch_key = %s AND stage = 'enriched' RETURNING source_name",
            (batch_key,),
        )
        loaded = [row[0] for row in cur.fetchall()]
    return {name: loaded.count(name) for name in sorted(set(loaded))}


# Serialises loads of the same article keys (by hash bucket), so that a load always sees
# the article another load of the same key committed: a version is never lost.
ARTICLE_KEYS_LOCK_ID = 0x6E657773 + 9


ARTICLE_KEY_BUCKETS = 256


def lock_article_keys(conn: Any, batch_key: str) -> None:
    """Lock the batch's article keys until the transaction ends (advisory, by hash bucket).

    Taken before the load reads anything: two loads of one new article at once then run
    one after the other, and the second copies the first's fields into
    ``article_versions`` before replacing them. Buckets are locked in ascending order so
    two loads cannot deadlock, and at most ``ARTICLE_KEY_BUCKETS`` locks are held.
    """
    with conn.cursor() as cur:
        cur.execute(
            "SELECT DISTINCT abs(hashtext(fields->>'article_key') %% %s) AS bucket"
            " FROM batch_items WHERE batch_key = %s AND stage = 'enriched' ORDER BY bucket",
            (ARTICLE_KEY_BUCKETS, batch_key),
        )
        buckets = [row[0] for row in cur.fetchall()]
        for bucket in buckets:
            cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", (ARTICLE_KEYS_LOCK_ID, bucket))


def enriched_keys(conn: Any, batch_key: str) -> list[tuple[str, str, str, str | None]]:
    """(input, source name, article key, url) of the batch's items ready to load, by input."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT input, source_name, fields->>'article_key', fields->>'url' FROM batch_items"
            " WHERE batch_key = %s AND stage = 'enriched' ORDER BY input",
            (batch_key,),
        )
        return cur.fetchall()


def article_owners(conn: Any, keys: list[str]) -> dict[str, tuple[str | None, str | None, str]]:
    """(site, url, source name) of the stored articles among ``keys``."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT article_key, site, url, source_name FROM articles WHERE article_key = ANY(%s)",
            (keys,),
        )
        return {row[0]: row[1:] for row in cur.fetchall()}


def save_item_sites(conn: Any, batch_key: str, sites: dict[str, str]) -> None:
    """Record the site each input of the batch was loaded from (input -> site)."""
    records = json.dumps([{"input": i, "site": s} for i, s in sites.items()])
    with conn.cursor() as cur:
        cur.execute(
            "UPDATE batch_items b SET site = r.site"
            " FROM jsonb_to_recordset(%s::jsonb) AS r(input text, site text)"
            " WHERE b.batch_key = %s AND b.input = r.input",
            (records, batch_key),
        )


def record_key_conflicts(conn: Any, batch_key: str, conflicts: list[dict[str, str]]) -> None:
    """Keep the batch's key conflicts (source_name, input, article_key, owner_site, input_site)."""
    if not conflicts:
        return
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO article_key_conflicts (batch_key, source_name, input, article_key,"
            " owner_site, input_site)"
            " SELECT %s, r.source_name, r.input, r.article_key, r.owner_site, r.input_site"
            " FROM jsonb_to_recordset(%s::jsonb) AS r(source_name text, input text,"
            "  article_key text, owner_site text, input_site text)"
            " ON CONFLICT (batch_key, source_name, input) DO UPDATE"
            " SET owner_site = EXCLUDED.owner_site, input_site = EXCLUDED.input_site,"
            " detected_at = now()",
            (batch_key, json.dumps(conflicts)),
        )


def _keep_replaced_versions(cur: Any, batch_key: str) -> None:
    """Copy the articles this batch's load is about to change into ``article_versions``.

    The batch's existing articles are locked first, until the load commits, so two
    loads at once keep each replaced version once; in article key order, the order the
    upsert takes them in, so two loads cannot deadlock.
    """
    cur.execute(
        # The keys as one array, as in articles_changed_now: an IN (subquery) may be
        # planned as a nested loop re-reading the staged fields per article.
        "SELECT 1 FROM articles WHERE article_key = ANY(ARRAY(SELECT b.fields->>'article_key'"
        "  FROM batch_items b WHERE b.batch_key = %s AND b.stage = 'enriched'))"
        " ORDER BY article_key FOR UPDATE",
        (batch_key,),
    )
    cur.execute(
        "INSERT INTO article_versions (article_id, fields, fields_sha256, extractor_version,"
        " batch_key, extracted_at, replaced_by_batch)"
        " SELECT a.article_id, article_fields(a), a.fields_sha256, a.extractor_version,"
        "  a.batch_key, a.extracted_at, %s"
        " FROM articles a JOIN ("
        "  SELECT DISTINCT ON (b.fields->>'article_key') b.fields->>'article_key' AS article_key,"
        f"   {FIELDS_SHA256} AS fields_sha256"
        "  FROM batch_items b WHERE b.batch_key = %s AND b.stage = 'enriched'"
        "  ORDER BY b.fields->>'article_key', b.input"
        " ) n USING (article_key)"
        " WHERE a.fields_sha256 IS DISTINCT FROM n.fields_sha256"
        " ORDER BY a.article_id",
        (batch_key, batch_key),
    )


# Serialises duplicate-cluster assignment, so two loads at once never open two clusters
# for one story.
DUPLICATES_LOCK_ID = 0x6E657773 + 5


def articles_changed_now(conn: Any, batch_key: str) -> list[int]:
    """Ids of the batch's articles inserted or updated by the current transaction.

    The upsert sets ``updated_at = now()`` (the transaction's start time) on exactly the
    rows it writes and leaves unchanged articles alone, so their child rows stay too.
    """
    # The keys as one array, computed once: as an IN (subquery) the planner may re-read
    # every staged item's fields for each article (quadratic in the batch size).
    with conn.cursor() as cur:
        cur.execute(
            "SELECT a.article_id FROM articles a WHERE a.article_key = ANY(ARRAY("
            " SELECT b.fields->>'article_key' FROM batch_items b WHERE b.batch_key = %s))"
            " AND a.updated_at = now() ORDER BY a.article_id",
            (batch_key,),
        )
        return [row[0] for row in cur.fetchall()]


def replace_article_children(conn: Any, article_ids: list[int]) -> None:
    """Replace the entity, quote, number and date rows of articles from their JSON columns.

    Set-based (one statement per table for all articles), in the caller's transaction;
    delete-then-insert, so re-enriching an article never duplicates its rows.
    """
    if not article_ids:
        return
    with conn.cursor() as cur:
        for table in ("article_entities", "quotes", "numbers", "mentioned_dates"):
            cur.execute(f"DELETE FROM {table} WHERE article_id = ANY(%s)", (article_ids,))
        # Sorted, so concurrent loads take the new names' index locks in one order.
        cur.execute(
            "INSERT INTO entities (name, name_key, type)"
            " SELECT DISTINCT ON (lower(e.item->>'name'), e.item->>'type')"
            "  e.item->>'name', lower(e.item->>'name'), e.item->>'type'"
            " FROM articles a CROSS JOIN LATERAL jsonb_array_elements(a.entities) AS e(item)"
            " WHERE a.article_id = ANY(%s)"
            " ORDER BY lower(e.item->>'name'), e.item->>'type', a.article_id"
            " ON CONFLICT (name_key, type) DO NOTHING",
            (article_ids,),
        )
        cur.execute(
            "INSERT INTO article_entities (article_id, entity_id, mention_count, mention_offsets)"
            " SELECT a.article_id, n.entity_id, (e.item->>'mentions')::int,"
            "  ARRAY(SELECT int4range((s.span->>0)::int, (s.span->>1)::int)"
            "   FROM jsonb_array_elements(e.item->'spans') WITH ORDINALITY AS s(span, n)"
            "   ORDER BY s.n)"
            " FROM articles a CROSS JOIN LATERAL jsonb_array_elements(a.entities) AS e(item)"
            " JOIN entities n ON n.name_key = lower(e.item->>'name') AND n.type = e.item->>'type'"
            " WHERE a.article_id = ANY(%s)",
            (article_ids,),
        )
        cur.execute(
            "INSERT INTO quotes (article_id, position, quote_text, speaker_text,"
            " speaker_entity_id, verb, start_char, end_char)"
            " SELECT a.article_id, q.position, q.item->>'text', q.item->>'speaker_text',"
            "  n.entity_id, q.item->>'verb', (q.item->>'start')::int, (q.item->>'end')::int"
            " FROM articles a CROSS JOIN LATERAL"
            "  jsonb_array_elements(a.quotes) WITH ORDINALITY AS q(item, position)"
            " LEFT JOIN entities n ON n.name_key = lower(q.item->>'speaker')"
            "  AND n.type = q.item->>'speaker_type'"
            " WHERE a.article_id = ANY(%s)",
            (article_ids,),
        )
        cur.execute(
            "INSERT INTO numbers (article_id, position, number_text, value, kind, unit,"
            " approximate, counted, event, start_char, end_char)"
            " SELECT a.article_id, x.position, x.item->>'text', (x.item->>'value')::numeric,"
            "  x.item->>'kind', x.item->>'unit',"
            "  coalesce((x.item->>'approximate')::boolean, false),"
            "  x.item->>'object', x.item->>'event', (x.item->>'start')::int, (x.item->>'end')::int"
            " FROM articles a CROSS JOIN LATERAL"
            "  jsonb_array_elements(a.numbers) WITH ORDINALITY AS x(item, position)"
            " WHERE a.article_id = ANY(%s)",
            (article_ids,),
        )
        cur.execute(
            "INSERT INTO mentioned_dates (article_id, position, date_text, granularity,"
            " date_from, date_to, start_char, end_char)"
            " SELECT a.article_id, d.position, d.item->>'text', d.item->>'granularity',"
            "  (d.item->>'date_from')::date, (d.item->>'date_to')::date,"
            "  (d.item->>'start')::int, (d.item->>'end')::int"
            " FROM articles a CROSS JOIN LATERAL"
            "  jsonb_array_elements(a.dates) WITH ORDINALITY AS d(item, position)"
            " WHERE a.article_id = ANY(%s)",
            (article_ids,),
        )


def lock_duplicate_clusters(conn: Any) -> None:
    """Take the cluster-assignment lock until the transaction ends."""
    with conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (DUPLICATES_LOCK_ID,))


def signed_articles(conn: Any, batch_key: str, article_ids: list[int]) -> list[Member]:
    """The staged MinHash of each article, from the input the article was loaded from."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT DISTINCT ON (a.article_id) a.article_id, a.published_at,"
            "  decode(b.fields->'minhash'->>'signature', 'hex'),"
            "  translate(b.fields->'minhash'->>'bands', '[]', '{}')::bigint[]"
            " FROM articles a JOIN batch_items b"
            "  ON b.batch_key = %s AND b.fields->>'article_key' = a.article_key"
            " WHERE a.article_id = ANY(%s) AND jsonb_typeof(b.fields->'minhash') = 'object'"
            " ORDER BY a.article_id, b.input",
            (batch_key, article_ids),
        )
        return [Member(row[0], row[1], unpack(row[2]), row[3]) for row in cur.fetchall()]


def band_neighbours(conn: Any, members: list[Member]) -> list[Member]:
    """Stored articles, other than ``members``, that share an LSH band with one of them."""
    if not members:
        return []
    bands = sorted({key for member in members for key in member.bands})
    with conn.cursor() as cur:
        cur.execute(
            "SELECT s.article_id, a.published_at, s.signature, s.bands, s.cluster_id"
            " FROM article_signatures s JOIN articles a USING (article_id)"
            " WHERE s.bands && %s::bigint[] AND NOT s.article_id = ANY(%s)",
            (bands, [member.article_id for member in members]),
        )
        return [Member(r[0], r[1], unpack(r[2]), r[3], r[4]) for r in cur.fetchall()]


def save_clusters(
    conn: Any, members: list[Member], assignments: dict[int, Assignment]
) -> None:
    """Store the signatures of ``members`` with their assigned clusters, in one statement."""
    records = [
        {
            "article_id": m.article_id, "signature": pack(m.hashvalues).hex(),
            "bands": "{" + ",".join(map(str, m.bands)) + "}",
            "cluster_id": assignments[m.article_id].cluster_id,
            "matched_article_id": assignments[m.article_id].matched_article_id,
            "similarity": assignments[m.article_id].similarity,
        }
        for m in members
    ]
    if not records:
        return
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO article_signatures (article_id, signature, bands, cluster_id,"
            " matched_article_id, similarity)"
            " SELECT r.article_id, decode(r.signature, 'hex'), r.bands::bigint[], r.cluster_id,"
            "  r.matched_article_id, r.similarity"
            " FROM jsonb_to_recordset(%s::jsonb) AS r(article_id bigint, signature text,"
            "  bands text, cluster_id bigint, matched_article_id bigint, similarity real)"
            " ORDER BY r.article_id"
            " ON CONFLICT (article_id) DO UPDATE SET signature = EXCLUDED.signature,"
            " bands = EXCLUDED.bands, cluster_id = EXCLUDED.cluster_id,"
            " matched_article_id = EXCLUDED.matched_article_id,"
            " similarity = EXCLUDED.similarity, assigned_at = now()",
            (json.dumps(records),),
        )
