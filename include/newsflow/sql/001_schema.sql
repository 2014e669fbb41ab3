-- Core tables. Raw tables are written by the pipeline only; analysts read the views (002).

-- Every page as fetched or read, kept so that stored pages can be re-extracted later.
CREATE TABLE pages (
    page_id        bigserial PRIMARY KEY,
    page_key       text        NOT NULL UNIQUE,  -- canonical URL, or file:<source>/<path>#<sha256>
    source_name    text        NOT NULL,
    input          text        NOT NULL,         -- the URL or file path as discovered
    final_url      text,                         -- after redirects; null for files
    http_status    integer,
    content_type   text,
    content        bytea       NOT NULL,
    content_sha256 text        NOT NULL,
    fetched_at     timestamptz NOT NULL DEFAULT now()
);

-- The work of one DAG run: each discovered input and the furthest stage it reached.
-- Tasks pass only the batch key; everything else is read from here.
CREATE TABLE batch_items (
    batch_key   text        NOT NULL,
    input       text        NOT NULL,
    source_name text        NOT NULL,
    hints       jsonb       NOT NULL DEFAULT '{}',  -- what discovery knew: feed title, date, ...
    page_id     bigint      REFERENCES pages,
    cleaned     jsonb,                               -- output of the clean stage
    fields      jsonb,                               -- output of the extract stage
    stage       text        NOT NULL DEFAULT 'discovered'
        CHECK (stage IN ('discovered', 'fetched', 'cleaned', 'extracted', 'loaded', 'rejected')),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (batch_key, input)
);
CREATE INDEX batch_items_stage ON batch_items (batch_key, stage);

CREATE TABLE articles (
    article_id      bigserial PRIMARY KEY,
    article_key     text        NOT NULL UNIQUE,  -- canonical URL, or the file page key
    canonical_url   text,
    url             text,
    page_id         bigint      NOT NULL REFERENCES pages,
    source_name     text        NOT NULL,
    title           text,
    subtitle        text,
    authors         text[]      NOT NULL DEFAULT '{}',
    published_at    timestamptz,
    site_name       text,
    source          text,                         -- attribution line, e.g. "Al Jazeera and agencies"
    language        text,
    dateline        text,
    headings        text[]      NOT NULL DEFAULT '{}',
    body            text        NOT NULL,
    word_count      integer     NOT NULL,
    entities        jsonb       NOT NULL DEFAULT '[]',
    quotes          jsonb       NOT NULL DEFAULT '[]',
    numbers         jsonb       NOT NULL DEFAULT '[]',
    dates           jsonb       NOT NULL DEFAULT '[]',
    fields_sha256   text        NOT NULL,         -- lets a re-load skip rows that did not change
    first_loaded_at timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX articles_published_at ON articles (published_at);
CREATE INDEX articles_source_name ON articles (source_name);

-- Every input that did not become an article, with the stage that gave up and why.
-- One row per input and stage: re-running an interval updates it instead of adding rows.
CREATE TABLE rejects (
    reject_id     bigserial PRIMARY KEY,
    source_name   text        NOT NULL,
    input         text        NOT NULL,
    stage         text        NOT NULL,
    reason        text        NOT NULL,
    batch_key     text        NOT NULL,            -- the latest run that rejected it
    attempts      integer     NOT NULL DEFAULT 1,
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (source_name, input, stage)
);

-- One row per HTTP attempt, for source-health reporting.
CREATE TABLE fetch_log (
    fetch_id    bigserial PRIMARY KEY,
    batch_key   text        NOT NULL,
    source_name text        NOT NULL,
    url         text        NOT NULL,
    status      integer,
    bytes       integer,
    elapsed_ms  integer     NOT NULL,
    error       text,
    fetched_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX fetch_log_source ON fetch_log (source_name, fetched_at);
