-- Provenance, article versions, raw page compression and retention (issue 7).

-- Which extractor (newsflow version + hash of the settings that shape its output) last
-- changed an article's fields, in which run (batch_key: the Airflow run id, as everywhere),
-- and when. Rows loaded before this migration have nulls: their extractor is unknown.
ALTER TABLE articles
    ADD COLUMN extractor_version text,
    ADD COLUMN batch_key         text,
    ADD COLUMN extracted_at      timestamptz;

-- An article's stored fields as one JSON object: everything but identity and bookkeeping.
-- Versions keep this object, so columns added later are kept (and diffed) too.
CREATE FUNCTION article_fields(a articles) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT to_jsonb(a) - ARRAY['article_id', 'article_key', 'source_name', 'fields_sha256',
                               'first_loaded_at', 'updated_at', 'extractor_version',
                               'batch_key', 'extracted_at']
$$;

-- The previous fields of an article, kept each time a load changes them (a re-extraction
-- with a new extractor, or a changed page): the current fields stay in `articles`.
CREATE TABLE article_versions (
    version_id        bigserial   PRIMARY KEY,
    article_id        bigint      NOT NULL REFERENCES articles ON DELETE CASCADE,
    fields            jsonb       NOT NULL,   -- article_fields() as they were
    fields_sha256     text        NOT NULL,
    extractor_version text,
    batch_key         text,                   -- the run that had written them
    extracted_at      timestamptz,
    replaced_by_batch text        NOT NULL,   -- the run whose load replaced them
    replaced_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX article_versions_article ON article_versions (article_id, version_id);

-- Raw pages: compressed in the column (lz4 where the server is built with it, as the
-- PostgreSQL images are; pglz otherwise, e.g. the embedded server), transparent to every
-- reader. A retention job may prune the content of old pages; the row stays, so articles
-- keep their page_id and re-extraction can say which pages are gone.
DO $$
BEGIN
    ALTER TABLE pages ALTER COLUMN content SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    ALTER TABLE pages ALTER COLUMN content SET COMPRESSION pglz;
END
$$;
ALTER TABLE pages
    ALTER COLUMN content DROP NOT NULL,
    ADD COLUMN content_pruned_at timestamptz,
    ADD CONSTRAINT pages_content_or_pruned
        CHECK ((content IS NULL) = (content_pruned_at IS NOT NULL));
CREATE INDEX pages_fetched_at ON pages (fetched_at);

-- The new columns go last: CREATE OR REPLACE VIEW may only add columns at the end.
CREATE OR REPLACE VIEW v_articles AS
SELECT article_id, article_key, canonical_url, url, source_name, site_name, source,
       title, subtitle, authors, published_at, language, dateline, headings,
       body, word_count, first_loaded_at, updated_at,
       title_source, authors_source, published_source, modified_at, language_source,
       extractor_version, batch_key, extracted_at
FROM articles;

-- Every version of each article, oldest first; the last one (is_current) is the live row.
CREATE VIEW v_article_versions AS
WITH all_versions AS (
    SELECT v.article_id, v.version_id AS sort_key, false AS is_current, v.extractor_version,
           v.batch_key, v.extracted_at, v.replaced_by_batch, v.replaced_at, v.fields
    FROM article_versions v
    UNION ALL
    SELECT a.article_id, NULL, true, a.extractor_version, a.batch_key, a.extracted_at,
           NULL, NULL, article_fields(a)
    FROM articles a
)
SELECT a.article_id, a.article_key,
       row_number() OVER (PARTITION BY v.article_id
                          ORDER BY v.is_current, v.sort_key) AS version_no,
       v.is_current, v.extractor_version, v.batch_key, v.extracted_at,
       v.replaced_by_batch, v.replaced_at, v.fields
FROM all_versions v JOIN articles a USING (article_id);

-- What changed between consecutive versions of an article: one row per field that differs.
CREATE VIEW v_article_field_changes AS
WITH paired AS (
    SELECT article_id, article_key, version_no, extractor_version, fields,
           lead(version_no) OVER w AS next_version_no,
           lead(extractor_version) OVER w AS next_extractor_version,
           lead(batch_key) OVER w AS next_batch_key,
           lead(fields) OVER w AS next_fields
    FROM v_article_versions
    WINDOW w AS (PARTITION BY article_id ORDER BY version_no)
)
SELECT p.article_id, p.article_key, p.version_no AS from_version,
       p.next_version_no AS to_version, p.extractor_version AS from_extractor,
       p.next_extractor_version AS to_extractor, p.next_batch_key AS changed_by_batch,
       k.field, p.fields -> k.field AS old_value, p.next_fields -> k.field AS new_value
FROM paired p
CROSS JOIN LATERAL jsonb_object_keys(p.fields || p.next_fields) AS k(field)
WHERE p.next_fields IS NOT NULL
  AND (p.fields -> k.field) IS DISTINCT FROM (p.next_fields -> k.field);

-- Re-extraction finds the last stored results of a page.
CREATE INDEX batch_items_page ON batch_items (page_id);
