-- Source names as analysts see them (issue 19): source health figures that agree with the
-- article counts beside them, and an index for news_reprocess's choice of pages by source.
--
-- An article belongs to the source that loaded it first (v_articles.source_name). The same
-- page reached later through another source (a sitemap listing the feed's articles, a URL
-- list) is loaded again, into the article that already exists: it is no article of the
-- later source. `articles_per_run` counted such loads too, so `demo-sitemap` read
-- "0 articles, 4.0 articles/run". It now counts articles the way `articles` does: the
-- articles first loaded for the source on the day, per run of the source that day. The old
-- figure stays, under the name that says what it is: `inputs_loaded_per_run`, the source's
-- inputs that ended loaded (into its own article or one another source loaded first).
--
-- mv_source_days keeps its columns (its `articles_per_run` is the inputs loaded per run);
-- the consumer views name and compute the figures. CREATE OR REPLACE VIEW keeps grants and
-- may change a column's expression, not its name or type; new columns go at the end.

CREATE OR REPLACE VIEW v_source_health_daily AS
SELECT source_name, day, articles, bodiless_pages, runs,
       round(articles::numeric / nullif(runs, 0), 1) AS articles_per_run,
       fetches, failed_fetches, fetch_success_rate, median_latency_ms, share_missing_date,
       share_missing_author, share_missing_body, body_chars_median, body_chars_median_30d,
       body_length_drift, articles_30d, problems, cardinality(problems) > 0 AS failing,
       articles_per_run AS inputs_loaded_per_run
FROM mv_source_days;

-- The same columns, plus the latest active day's own counts at the end, so a reader sees
-- which day the per-run figures describe and the articles they are computed from.
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
       coalesce(h.problems, '{}') AS problems, coalesce(h.failing, false) AS failing,
       h.articles AS health_day_articles, h.inputs_loaded_per_run
FROM names n
LEFT JOIN LATERAL (
    SELECT * FROM v_source_health_daily d
    WHERE d.source_name = n.source_name
      AND (d.articles > 0 OR d.fetches > 0 OR d.bodiless_pages > 0)
    ORDER BY d.day DESC LIMIT 1
) h ON true;

-- news_reprocess selects pages by the source analysts see, their article's: reach an
-- article from its page without reading every article for each page.
CREATE INDEX articles_page ON articles (page_id);
