-- Reporting views: the interface for analysts. Raw tables may change; these keep their columns.

CREATE OR REPLACE VIEW v_articles AS
SELECT article_id, article_key, canonical_url, url, source_name, site_name, source,
       title, subtitle, authors, published_at, language, dateline, headings,
       body, word_count, first_loaded_at, updated_at
FROM articles;

CREATE OR REPLACE VIEW v_article_authors AS
SELECT a.article_id, author.name AS author, author.position AS author_position
FROM articles a
CROSS JOIN LATERAL unnest(a.authors) WITH ORDINALITY AS author(name, position);

CREATE OR REPLACE VIEW v_rejects AS
SELECT source_name, input, stage, reason, attempts, first_seen_at, last_seen_at, batch_key
FROM rejects;

-- Per source: what it yielded, what it lost, and how its HTTP fetches went.
CREATE OR REPLACE VIEW v_source_health AS
WITH names AS (
    SELECT source_name FROM articles
    UNION SELECT source_name FROM rejects
    UNION SELECT source_name FROM fetch_log
)
SELECT n.source_name,
       (SELECT count(*) FROM articles a WHERE a.source_name = n.source_name) AS articles,
       (SELECT max(a.updated_at) FROM articles a WHERE a.source_name = n.source_name)
           AS last_article_at,
       (SELECT count(*) FROM rejects r WHERE r.source_name = n.source_name) AS rejects,
       (SELECT count(*) FROM fetch_log f WHERE f.source_name = n.source_name) AS fetches,
       (SELECT count(*) FROM fetch_log f
         WHERE f.source_name = n.source_name AND (f.error IS NOT NULL OR f.status >= 400))
           AS failed_fetches,
       (SELECT max(f.fetched_at) FROM fetch_log f WHERE f.source_name = n.source_name)
           AS last_fetch_at
FROM names n;
