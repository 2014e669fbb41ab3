-- Sources and polite fetching: conditional GETs, the shared per-host limiter, robots.txt per
-- run, each run's source options and interval, inputs taken once, and a richer fetch log.

-- The last good copy of each feed and sitemap, for conditional GETs: a 304 re-reads it.
CREATE TABLE source_documents (
    url           text PRIMARY KEY,
    etag          text,
    last_modified text,
    content_type  text,
    body          bytea       NOT NULL,
    fetched_at    timestamptz NOT NULL DEFAULT now(),  -- when the body last changed
    checked_at    timestamptz NOT NULL DEFAULT now()   -- when it was last confirmed
);

-- Per-host request slots, claimed by every fetching process: the minimum interval between
-- two requests to one host holds across threads, tasks and machines.
CREATE TABLE host_slots (
    host    text PRIMARY KEY,
    next_at timestamptz NOT NULL
);

-- robots.txt as fetched once per origin per run (batch), shared by the run's tasks.
CREATE TABLE robots_files (
    batch_key  text        NOT NULL,
    robots_url text        NOT NULL,
    status     integer,
    body       text        NOT NULL DEFAULT '',
    error      text,
    fetched_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (batch_key, robots_url)
);

-- The sources a run used, with their options, so later tasks need not re-read the file.
CREATE TABLE batch_sources (
    batch_key    text        NOT NULL,
    source_name  text        NOT NULL,
    kind         text        NOT NULL,
    location     text        NOT NULL,
    options      jsonb       NOT NULL DEFAULT '{}',
    window_start timestamptz,
    window_end   timestamptz,
    PRIMARY KEY (batch_key, source_name)
);

-- Each input (canonical URL, or a file's content hash) of a source belongs to the first
-- interval that took it: later runs of other intervals skip it, re-runs of that one take it.
-- A URL whose fetch failed there moves to the next interval that lists it.
CREATE TABLE taken_inputs (
    source_name  text        NOT NULL,
    input_key    text        NOT NULL,
    input        text        NOT NULL,   -- as staged by the run that took it
    window_key   text        NOT NULL,   -- 'start/end' in ISO 8601, or 'unbounded'
    batch_key    text        NOT NULL,   -- the run that took it
    taken_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source_name, input_key)
);

ALTER TABLE fetch_log
    ADD COLUMN purpose      text,                          -- feed, sitemap, robots, page
    ADD COLUMN attempt      integer NOT NULL DEFAULT 1,    -- 2 and up are retries
    ADD COLUMN redirect_to  text,                          -- a 3xx answer's target
    ADD COLUMN not_modified boolean NOT NULL DEFAULT false; -- a 304 to a conditional GET

ALTER TABLE pages
    ADD COLUMN charset        text,   -- as decided: header, BOM, <meta>, then detection
    ADD COLUMN canonical_link text;   -- the page's <link rel="canonical">, absolute

-- Source health counts page, feed and sitemap requests; a robots.txt 404 is no failure
-- (it means "no rules"), so robots.txt requests are left out of both counts.
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
           AS last_fetch_at
FROM names n;
