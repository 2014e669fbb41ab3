-- WARC sources (issue 20): the WARC files each run reads, one mapped task per file, and
-- the provenance of every page read from an archive.

-- The WARC files a run (batch) reads. Discover lists them ('listed'); the file's mapped
-- task reads it into the batch's staging and marks it 'done' with its counts, so a retry
-- or a re-run of the interval does not read it again. span_start/span_end: the times this
-- file's records are placed by (its own name time up to the next file's); records dated
-- outside the span count at its edge, so each record belongs to exactly one interval.
CREATE TABLE warc_files (
    warc_file_id     bigserial   PRIMARY KEY,
    batch_key        text        NOT NULL,
    source_name      text        NOT NULL,
    location         text        NOT NULL,   -- absolute path or http(s) URL
    dated            timestamptz,            -- from the file name, else its first WARC-Date
    span_start       timestamptz,
    span_end         timestamptz,
    state            text        NOT NULL DEFAULT 'listed' CHECK (state IN ('listed', 'done')),
    records_read     integer,                -- records of any type
    responses        integer,                -- response records taken: pages + rejects
    pages_staged     integer,
    rejects          integer,                -- record rejects, plus 1 for a lost rest of file
    skipped_records  integer,                -- request, metadata, revisit, warcinfo, ...
    filtered_hosts   integer,                -- responses of hosts the source does not keep
    outside_interval integer,                -- responses placed in another run's interval
    error            text,                   -- why the file (or its rest) was not read
    listed_at        timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,
    UNIQUE (batch_key, source_name, location)
);

-- Where a page read from an archive came from: the WARC file, the record's offset in it
-- (of its gzip member, when gzipped per record) and its WARC-Record-ID; its WARC-Date (the
-- crawl's fetch time; fetched_at stays the time newsflow stored it, which retention uses).
ALTER TABLE pages
    ADD COLUMN warc_file      text,
    ADD COLUMN warc_offset    bigint,
    ADD COLUMN warc_record_id text,
    ADD COLUMN warc_date      timestamptz;

-- The same columns in the same order, plus the page's archive provenance at the end
-- (CREATE OR REPLACE VIEW keeps the view's grants and may only add columns at the end).
CREATE OR REPLACE VIEW v_articles AS
SELECT a.article_id, a.article_key, a.canonical_url, a.url, a.source_name, a.site_name,
       a.source, a.title, a.subtitle, a.authors, a.published_at, a.language, a.dateline,
       a.headings, a.body, a.word_count, a.first_loaded_at, a.updated_at,
       a.title_source, a.authors_source, a.published_source, a.modified_at,
       a.language_source, a.extractor_version, a.batch_key, a.extracted_at,
       p.warc_file, p.warc_offset, p.warc_record_id, p.warc_date
FROM articles a LEFT JOIN pages p ON p.page_id = a.page_id;

-- Per run and WARC file: what was read and what it gave.
CREATE VIEW v_warc_files AS
SELECT batch_key, source_name, location, dated, state, records_read, responses,
       pages_staged, rejects, skipped_records, filtered_hosts, outside_interval, error,
       listed_at, finished_at
FROM warc_files;
