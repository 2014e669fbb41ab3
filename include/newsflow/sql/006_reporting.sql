-- Reporting: the views analysts and `newsflow report` read, full-text search, and source
-- health per day. Days are UTC dates. An article's day is its publication date, else the day
-- it was first loaded; a source's health day is the day its articles were first loaded (when
-- the extractor ran), since that is when a broken extractor shows.
--
-- The expensive aggregates are materialized (mv_*: entities per day and per week, source
-- health per day) and recomputed by refresh_reporting_views(), which the news_report DAG
-- and `newsflow report` call; the v_* views over them are as fresh as the last refresh.
-- Consumers read the v_* views.

-- Full-text search ----------------------------------------------------------------------

-- The text search configuration for an article's language (ISO 639-1, with or without a
-- region): its stemmer where PostgreSQL ships one, else 'simple' (no stemming, no stop words).
CREATE OR REPLACE FUNCTION newsflow_regconfig(language text) RETURNS regconfig
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE lower(split_part(split_part(coalesce(language, ''), '-', 1), '_', 1))
        WHEN 'ar' THEN 'arabic'::regconfig     WHEN 'da' THEN 'danish'::regconfig
        WHEN 'de' THEN 'german'::regconfig     WHEN 'el' THEN 'greek'::regconfig
        WHEN 'en' THEN 'english'::regconfig    WHEN 'es' THEN 'spanish'::regconfig
        WHEN 'fi' THEN 'finnish'::regconfig    WHEN 'fr' THEN 'french'::regconfig
        WHEN 'ga' THEN 'irish'::regconfig      WHEN 'hu' THEN 'hungarian'::regconfig
        WHEN 'id' THEN 'indonesian'::regconfig WHEN 'it' THEN 'italian'::regconfig
        WHEN 'lt' THEN 'lithuanian'::regconfig WHEN 'ne' THEN 'nepali'::regconfig
        WHEN 'nl' THEN 'dutch'::regconfig      WHEN 'no' THEN 'norwegian'::regconfig
        WHEN 'nb' THEN 'norwegian'::regconfig  WHEN 'nn' THEN 'norwegian'::regconfig
        WHEN 'pt' THEN 'portuguese'::regconfig WHEN 'ro' THEN 'romanian'::regconfig
        WHEN 'ru' THEN 'russian'::regconfig    WHEN 'sv' THEN 'swedish'::regconfig
        WHEN 'ta' THEN 'tamil'::regconfig      WHEN 'tr' THEN 'turkish'::regconfig
        ELSE 'simple'::regconfig
    END
$$;

-- Title (weight A), subtitle (B) and body (C). A tsvector may not exceed 1 MB: at most
-- 106,000 characters in all keep it below that whatever the text (even distinct
-- one-character words of a four-byte script cost about 12 bytes each: some 640 kB), and
-- 100,000 characters of body cover all but the longest articles.
ALTER TABLE articles ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector(newsflow_regconfig(language), left(coalesce(title, ''), 2000)), 'A')
    || setweight(to_tsvector(newsflow_regconfig(language), left(coalesce(subtitle, ''), 4000)), 'B')
    || setweight(to_tsvector(newsflow_regconfig(language), left(body, 100000)), 'C')
) STORED;
CREATE INDEX articles_search_vector ON articles USING gin (search_vector);
CREATE INDEX articles_source_loaded ON articles (source_name, first_loaded_at);

-- Articles matching a web-search style query ("quoted phrase", or, -not), best first, with
-- highlighted snippets. The query is parsed with every language configuration and each
-- article matched with its own language's, so "talks" finds "talk" in English articles and
-- the literal word elsewhere. Rank: ts_rank_cd (cover density), title matches weigh most.
CREATE OR REPLACE FUNCTION search_articles(
    query text,
    since timestamptz DEFAULT NULL,
    source text DEFAULT NULL,
    max_hits integer DEFAULT 20,
    start_sel text DEFAULT '«',
    stop_sel text DEFAULT '»'
) RETURNS TABLE (
    article_id bigint, rank real, source_name text, published_at timestamptz, title text,
    canonical_url text, language text, headline text
)
LANGUAGE sql STABLE AS $$
    WITH configs AS (
        SELECT c.config, websearch_to_tsquery(c.config, search_articles.query) AS tsquery
        FROM unnest(ARRAY['arabic', 'danish', 'german', 'greek', 'english', 'spanish',
                          'finnish', 'french', 'irish', 'hungarian', 'indonesian', 'italian',
                          'lithuanian', 'nepali', 'dutch', 'norwegian', 'portuguese',
                          'romanian', 'russian', 'swedish', 'tamil', 'turkish',
                          'simple']::regconfig[]) AS c(config)
    ),
    hits AS (
        SELECT a.article_id, ts_rank_cd(a.search_vector, c.tsquery) AS rank, c.config,
               c.tsquery
        FROM configs c
        JOIN articles a ON a.search_vector @@ c.tsquery
            AND newsflow_regconfig(a.language) = c.config
        -- Parameters qualified: articles has columns of these names (source).
        WHERE (search_articles.since IS NULL OR a.published_at >= search_articles.since)
          AND (search_articles.source IS NULL OR a.source_name = search_articles.source)
        ORDER BY rank DESC, a.published_at DESC NULLS LAST, a.article_id
        LIMIT search_articles.max_hits
    )
    SELECT h.article_id, h.rank, a.source_name, a.published_at, a.title, a.canonical_url,
           a.language,
           ts_headline(h.config, left(coalesce(a.subtitle || E'\n\n', '') || a.body, 100000),
                       h.tsquery,
                       format('StartSel=%s, StopSel=%s, MaxWords=30, MinWords=12, '
                              'MaxFragments=2, FragmentDelimiter=" … "',
                              search_articles.start_sel, search_articles.stop_sel))
    FROM hits h JOIN articles a USING (article_id)
    ORDER BY h.rank DESC, a.published_at DESC NULLS LAST, h.article_id
$$;

-- Volume --------------------------------------------------------------------------------

CREATE OR REPLACE VIEW v_articles_per_source_day AS
SELECT source_name, (coalesce(published_at, first_loaded_at) AT TIME ZONE 'UTC')::date AS day,
       count(*) AS articles, sum(word_count) AS words,
       count(*) FILTER (WHERE published_at IS NULL) AS undated
FROM articles
GROUP BY 1, 2;

-- Entities per day (materialized) -------------------------------------------------------

-- People, organisations and places only; 'place' covers countries and cities (GPE),
-- other locations (LOC) and buildings, airports, bridges (FAC).
CREATE MATERIALIZED VIEW mv_entity_days AS
SELECT (coalesce(a.published_at, a.first_loaded_at) AT TIME ZONE 'UTC')::date AS day,
       ae.entity_id, count(*) AS articles, sum(ae.mention_count) AS mentions
FROM article_entities ae
JOIN articles a USING (article_id)
JOIN entities e USING (entity_id)
WHERE e.type IN ('PERSON', 'ORG', 'GPE', 'LOC', 'FAC')
GROUP BY 1, 2;
CREATE UNIQUE INDEX mv_entity_days_key ON mv_entity_days (entity_id, day);
CREATE INDEX mv_entity_days_day ON mv_entity_days (day);

CREATE MATERIALIZED VIEW mv_entity_weeks AS
SELECT date_trunc('week', day)::date AS week, entity_id, sum(articles)::bigint AS articles,
       sum(mentions)::bigint AS mentions
FROM mv_entity_days
GROUP BY 1, 2;
CREATE UNIQUE INDEX mv_entity_weeks_key ON mv_entity_weeks (entity_id, week);
CREATE INDEX mv_entity_weeks_week ON mv_entity_weeks (week);

-- One row per day and entity mentioned that day (the base of the two views below and of
-- reports over any period): articles mentioning it and mentions.
CREATE OR REPLACE VIEW v_entity_days AS
SELECT d.day, e.entity_id, e.name, e.type,
       CASE e.type WHEN 'PERSON' THEN 'person' WHEN 'ORG' THEN 'organisation' ELSE 'place' END
           AS kind,
       d.articles, d.mentions
FROM mv_entity_days d JOIN entities e USING (entity_id);

-- One row per day and entity mentioned that day: articles mentioning it, mentions, the same
-- for the day before, the change, and its rank among that day's entities of its kind
-- (person, organisation, place) by articles, then mentions. Filter on day and rank <= 10.
CREATE OR REPLACE VIEW v_top_entities_daily AS
SELECT d.day, d.entity_id, d.name, d.type, d.kind, d.articles, d.mentions,
       coalesce(p.articles, 0) AS previous_articles, d.articles - coalesce(p.articles, 0) AS change,
       rank() OVER (PARTITION BY d.day, d.kind ORDER BY d.articles DESC, d.mentions DESC) AS rank
FROM v_entity_days d
LEFT JOIN mv_entity_days p ON p.entity_id = d.entity_id AND p.day = d.day - 1;

-- The same per ISO week (starting Monday) against the week before.
CREATE OR REPLACE VIEW v_top_entities_weekly AS
SELECT w.week, e.entity_id, e.name, e.type,
       CASE e.type WHEN 'PERSON' THEN 'person' WHEN 'ORG' THEN 'organisation' ELSE 'place' END
           AS kind,
       w.articles, w.mentions, coalesce(p.articles, 0) AS previous_articles,
       w.articles - coalesce(p.articles, 0) AS change,
       rank() OVER (PARTITION BY w.week,
                    CASE e.type WHEN 'PERSON' THEN 'person' WHEN 'ORG' THEN 'organisation'
                     ELSE 'place' END
                    ORDER BY w.articles DESC, w.mentions DESC) AS rank
FROM mv_entity_weeks w
JOIN entities e USING (entity_id)
LEFT JOIN mv_entity_weeks p ON p.entity_id = w.entity_id AND p.week = w.week - 7;

-- Speakers and facts --------------------------------------------------------------------

-- One row per speaker resolved to an entity: quotes, articles, first and last time quoted,
-- and the three latest quotes (text, article, publication time), newest first.
CREATE OR REPLACE VIEW v_top_speakers AS
SELECT e.entity_id, e.name AS speaker, e.type AS speaker_type, count(*) AS quotes,
       count(DISTINCT q.article_id) AS articles, min(a.published_at) AS first_quoted_at,
       max(a.published_at) AS last_quoted_at,
       jsonb_path_query_array(
           jsonb_agg(jsonb_build_object('quote', q.quote_text, 'article_id', q.article_id,
                                        'published_at', a.published_at)
                     ORDER BY a.published_at DESC NULLS LAST, q.article_id DESC, q.position),
           '$[0 to 2]') AS latest_quotes
FROM quotes q
JOIN articles a USING (article_id)
JOIN entities e ON e.entity_id = q.speaker_entity_id
GROUP BY e.entity_id;

-- One row per counted object, event, kind and unit ("people" / "killing" / count): how
-- many facts and articles, the value range and median, and the latest fact as written.
CREATE OR REPLACE VIEW v_numeric_facts AS
SELECT lower(n.counted) AS counted, lower(n.event) AS event, n.kind, n.unit,
       count(*) AS facts, count(DISTINCT n.article_id) AS articles,
       min(n.value) AS min_value, max(n.value) AS max_value,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY n.value) AS median_value,
       (array_agg(n.number_text ORDER BY a.published_at DESC NULLS LAST, n.number_id DESC))[1]
           AS latest_text,
       (array_agg(n.value ORDER BY a.published_at DESC NULLS LAST, n.number_id DESC))[1]
           AS latest_value,
       (array_agg(n.article_id ORDER BY a.published_at DESC NULLS LAST, n.number_id DESC))[1]
           AS latest_article_id,
       max(a.published_at) AS latest_published_at
FROM numbers n JOIN articles a USING (article_id)
WHERE n.counted IS NOT NULL OR n.event IS NOT NULL
GROUP BY 1, 2, 3, 4;

-- Duplicates ----------------------------------------------------------------------------

-- One row per story published more than once (near-duplicate cluster of 2+ articles): its
-- member count, sources, who published it first and when, and how long the copies took.
CREATE OR REPLACE VIEW v_duplicate_stories AS
SELECT s.cluster_id, count(*) AS member_count, count(DISTINCT a.source_name) AS source_count,
       array_agg(DISTINCT a.source_name ORDER BY a.source_name) AS sources,
       (array_agg(a.article_id ORDER BY a.published_at NULLS LAST, a.article_id))[1]
           AS first_article_id,
       (array_agg(a.source_name ORDER BY a.published_at NULLS LAST, a.article_id))[1]
           AS first_publisher,
       (array_agg(a.site_name ORDER BY a.published_at NULLS LAST, a.article_id))[1]
           AS first_site_name,
       (array_agg(a.title ORDER BY a.published_at NULLS LAST, a.article_id))[1] AS title,
       min(a.published_at) AS first_published_at, max(a.published_at) AS last_published_at,
       max(a.published_at) - min(a.published_at) AS spread
FROM article_signatures s JOIN articles a USING (article_id)
GROUP BY s.cluster_id
HAVING count(*) > 1;

-- Source health per day (materialized) --------------------------------------------------

-- Per source and day: articles first loaded, shares missing a date, an author or a body
-- (a page the cleaner found no article text in), the median body length against the
-- source's own median over the 30 days before, and that day's fetches (robots.txt aside:
-- its 404 means "no rules") and runs. `problems` names what looks broken:
--   fetch failures   fewer than 80 % of requests succeeded
--   no body          over 20 % of pages gave no article text
--   body length      median body length off by more than half from the 30-day median
--   dates, authors   the share missing jumped by over 50 points from the 30-day share
-- The baselines need 5 articles in the 30 days before; a new source is not judged on them.
CREATE MATERIALIZED VIEW mv_source_days AS
WITH loaded AS (
    SELECT source_name, (first_loaded_at AT TIME ZONE 'UTC')::date AS day,
           count(*) AS articles,
           count(*) FILTER (WHERE published_at IS NULL) AS missing_date,
           count(*) FILTER (WHERE cardinality(authors) = 0) AS missing_author,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY length(body)) AS body_chars_median
    FROM articles GROUP BY 1, 2
), bodiless AS (
    SELECT source_name, (last_seen_at AT TIME ZONE 'UTC')::date AS day, count(*) AS pages
    FROM rejects WHERE stage = 'clean' AND reason LIKE 'body too short%' GROUP BY 1, 2
), requests AS (
    SELECT source_name, (fetched_at AT TIME ZONE 'UTC')::date AS day, count(*) AS fetches,
           count(*) FILTER (WHERE error IS NOT NULL OR status >= 400) AS failed_fetches,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY elapsed_ms) AS median_latency_ms
    FROM fetch_log WHERE purpose IS DISTINCT FROM 'robots' GROUP BY 1, 2
), batches AS (
    SELECT source_name, batch_key, (min(updated_at) AT TIME ZONE 'UTC')::date AS day,
           count(*) FILTER (WHERE stage = 'loaded') AS loaded
    FROM batch_items GROUP BY 1, 2
), runs AS (
    SELECT source_name, day, count(*) AS runs, sum(loaded) AS loaded FROM batches GROUP BY 1, 2
), days AS (
    SELECT source_name, day FROM loaded UNION SELECT source_name, day FROM bodiless
    UNION SELECT source_name, day FROM requests UNION SELECT source_name, day FROM runs
)
SELECT d.source_name, d.day,
       coalesce(l.articles, 0) AS articles, coalesce(b.pages, 0) AS bodiless_pages,
       coalesce(r.runs, 0) AS runs,
       round(r.loaded::numeric / nullif(r.runs, 0), 1) AS articles_per_run,
       coalesce(f.fetches, 0) AS fetches, coalesce(f.failed_fetches, 0) AS failed_fetches,
       round(1 - f.failed_fetches::numeric / nullif(f.fetches, 0), 3) AS fetch_success_rate,
       f.median_latency_ms,
       round(l.missing_date::numeric / nullif(l.articles, 0), 3) AS share_missing_date,
       round(l.missing_author::numeric / nullif(l.articles, 0), 3) AS share_missing_author,
       round(coalesce(b.pages, 0)::numeric
             / nullif(coalesce(l.articles, 0) + coalesce(b.pages, 0), 0), 3) AS share_missing_body,
       l.body_chars_median, base.body_chars_median AS body_chars_median_30d,
       round((l.body_chars_median / nullif(base.body_chars_median, 0) - 1)::numeric, 3)
           AS body_length_drift,
       base.articles AS articles_30d,
       array_remove(ARRAY[
           CASE WHEN f.fetches > 0 AND f.failed_fetches::numeric / f.fetches > 0.2
                THEN 'fetch failures' END,
           CASE WHEN b.pages::numeric / (coalesce(l.articles, 0) + b.pages) > 0.2
                THEN 'no body' END,
           CASE WHEN base.articles >= 5
                 AND abs(l.body_chars_median / nullif(base.body_chars_median, 0) - 1) > 0.5
                THEN 'body length' END,
           CASE WHEN base.articles >= 5
                 AND l.missing_date::numeric / l.articles - base.missing_date > 0.5
                THEN 'dates' END,
           CASE WHEN base.articles >= 5
                 AND l.missing_author::numeric / l.articles - base.missing_author > 0.5
                THEN 'authors' END
       ], NULL) AS problems
FROM days d
LEFT JOIN loaded l USING (source_name, day)
LEFT JOIN bodiless b USING (source_name, day)
LEFT JOIN requests f USING (source_name, day)
LEFT JOIN runs r USING (source_name, day)
LEFT JOIN LATERAL (
    SELECT count(*) AS articles,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY length(a.body)) AS body_chars_median,
           avg((a.published_at IS NULL)::int) AS missing_date,
           avg((cardinality(a.authors) = 0)::int) AS missing_author
    FROM articles a
    WHERE a.source_name = d.source_name
      AND a.first_loaded_at >= (d.day - 30)::timestamp AT TIME ZONE 'UTC'
      AND a.first_loaded_at < d.day::timestamp AT TIME ZONE 'UTC'
) base ON true;
CREATE UNIQUE INDEX mv_source_days_key ON mv_source_days (source_name, day);

CREATE OR REPLACE VIEW v_source_health_daily AS
SELECT *, cardinality(problems) > 0 AS failing FROM mv_source_days;

-- v_source_health keeps its columns (robots.txt requests still left out of the counts) and
-- gains, at the end, the health of each source's latest active day (a day it was fetched
-- from or yielded pages) from v_source_health_daily.
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
       (SELECT count(*) FROM fetch_log f
         WHERE f.source_name = n.source_name AND f.purpose IS DISTINCT FROM 'robots')
           AS fetches,
       (SELECT count(*) FROM fetch_log f
         WHERE f.source_name = n.source_name AND f.purpose IS DISTINCT FROM 'robots'
           AND (f.error IS NOT NULL OR f.status >= 400))
           AS failed_fetches,
       (SELECT max(f.fetched_at) FROM fetch_log f WHERE f.source_name = n.source_name)
           AS last_fetch_at,
       h.day AS health_day, h.fetch_success_rate, h.median_latency_ms, h.runs,
       h.articles_per_run, h.share_missing_date, h.share_missing_author, h.share_missing_body,
       h.body_chars_median, h.body_chars_median_30d, h.body_length_drift,
       coalesce(h.problems, '{}') AS problems, coalesce(h.failing, false) AS failing
FROM names n
LEFT JOIN LATERAL (
    SELECT * FROM v_source_health_daily d
    WHERE d.source_name = n.source_name
      AND (d.articles > 0 OR d.fetches > 0 OR d.bodiless_pages > 0)
    ORDER BY d.day DESC LIMIT 1
) h ON true;

-- Refresh -------------------------------------------------------------------------------

-- Recompute the materialized views without blocking readers (CONCURRENTLY needs their
-- unique indexes). Days first: weeks are summed from them.
CREATE OR REPLACE FUNCTION refresh_reporting_views() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    REFRESH MATERIALIZED VIEW CONCURRENTLY mv_entity_days;
    REFRESH MATERIALIZED VIEW CONCURRENTLY mv_entity_weeks;
    REFRESH MATERIALIZED VIEW CONCURRENTLY mv_source_days;
END
$$;
