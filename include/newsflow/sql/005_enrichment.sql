-- Enrichment: entities, quotes, numbers and dates per article, and near-duplicate clusters.
-- The load replaces an article's rows here in the transaction that upserts the article,
-- from the article's entities/quotes/numbers/dates JSON; offsets index into articles.body.

-- The enrich stage sits between extract and load.
ALTER TABLE batch_items DROP CONSTRAINT IF EXISTS batch_items_stage_check;
ALTER TABLE batch_items ADD CONSTRAINT batch_items_stage_check CHECK (stage IN (
    'discovered', 'fetched', 'cleaned', 'extracted', 'enriched', 'loaded', 'rejected'));

-- One row per normalised name and type across all articles: "top people this week" is one
-- GROUP BY entity_id.
CREATE TABLE entities (
    entity_id  bigserial PRIMARY KEY,
    name       text        NOT NULL,           -- as first seen, e.g. "John Kerry"
    name_key   text        NOT NULL,           -- lower(name): what makes two names one
    type       text        NOT NULL,           -- spaCy label: PERSON, ORG, GPE, LOC, FAC, NORP, EVENT
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (name_key, type)
);

-- Child rows reference their article; entity ids are not checked by a foreign key (entities
-- are never deleted, and the per-row check would cost the load a third of its time).
CREATE TABLE article_entities (
    article_id      bigint      NOT NULL REFERENCES articles ON DELETE CASCADE,
    entity_id       bigint      NOT NULL,       -- entities.entity_id
    mention_count   integer     NOT NULL,
    mention_offsets int4range[] NOT NULL,     -- [start, end) of each mention in the body
    PRIMARY KEY (article_id, entity_id)
);
CREATE INDEX article_entities_entity ON article_entities (entity_id);

CREATE TABLE quotes (
    quote_id          bigserial PRIMARY KEY,
    article_id        bigint  NOT NULL REFERENCES articles ON DELETE CASCADE,
    position          integer NOT NULL,         -- 1, 2, ... in the article
    quote_text        text    NOT NULL,         -- a quote split around "he said" joined
    speaker_text      text,                     -- as written: "Kerry", "he", "A spokesman for Lavrov"
    speaker_entity_id bigint,                 -- entities.entity_id
    verb              text,                     -- "said", "told"; "statement" for a statement's words
    start_char        integer NOT NULL,
    end_char          integer NOT NULL,
    UNIQUE (article_id, position)
);
CREATE INDEX quotes_speaker ON quotes (speaker_entity_id);

CREATE TABLE numbers (
    number_id   bigserial PRIMARY KEY,
    article_id  bigint  NOT NULL REFERENCES articles ON DELETE CASCADE,
    position    integer NOT NULL,
    number_text text    NOT NULL,               -- as written: "1,429", "two million", "$3bn"
    value       numeric,                        -- 1429, 2000000, 3000000000
    kind        text    NOT NULL CHECK (kind IN ('count', 'percent', 'money', 'quantity')),
    unit        text,                           -- "%", a currency code, "km"
    approximate boolean NOT NULL DEFAULT false, -- "hundreds", "about 300"
    counted     text,                           -- what is counted: "people"
    event       text,                           -- what happened to it: "killing"
    start_char  integer NOT NULL,
    end_char    integer NOT NULL,
    UNIQUE (article_id, position)
);

CREATE TABLE mentioned_dates (
    mentioned_date_id bigserial PRIMARY KEY,
    article_id  bigint  NOT NULL REFERENCES articles ON DELETE CASCADE,
    position    integer NOT NULL,
    date_text   text    NOT NULL,               -- "Friday", "August 21", "last year"
    granularity text    NOT NULL,               -- day, week, month, year, decade, period
    date_from   date,                           -- null when it could not be resolved
    date_to     date,
    start_char  integer NOT NULL,
    end_char    integer NOT NULL,
    UNIQUE (article_id, position)
);
CREATE INDEX mentioned_dates_from ON mentioned_dates (date_from);

-- MinHash signature of each article's body and the duplicate cluster it belongs to.
-- cluster_id is the article_id of the cluster's first member; the canonical member is the
-- earliest published (v_duplicate_clusters).
CREATE TABLE article_signatures (
    article_id         bigint   PRIMARY KEY REFERENCES articles ON DELETE CASCADE,
    signature          bytea    NOT NULL,     -- MinHash values, duplicates.NUM_PERM uint32 LE
    bands              bigint[] NOT NULL,     -- LSH band keys: candidates share one
    cluster_id         bigint   NOT NULL,
    matched_article_id bigint,                -- the most similar article when it joined
    similarity         real,                  -- estimated Jaccard similarity to it
    assigned_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX article_signatures_bands ON article_signatures USING gin (bands);
CREATE INDEX article_signatures_cluster ON article_signatures (cluster_id);

CREATE OR REPLACE VIEW v_entities AS
SELECT e.entity_id, e.name, e.type, count(ae.article_id) AS articles,
       coalesce(sum(ae.mention_count), 0) AS mentions
FROM entities e LEFT JOIN article_entities ae USING (entity_id)
GROUP BY e.entity_id;

CREATE OR REPLACE VIEW v_article_entities AS
SELECT ae.article_id, a.published_at, ae.entity_id, e.name, e.type, ae.mention_count,
       ae.mention_offsets, lower(ae.mention_offsets[1]) AS first_mention_at
FROM article_entities ae
JOIN entities e USING (entity_id)
JOIN articles a USING (article_id);

CREATE OR REPLACE VIEW v_quotes AS
SELECT q.quote_id, q.article_id, a.published_at, q.position, q.quote_text, q.speaker_text,
       q.speaker_entity_id, e.name AS speaker, e.type AS speaker_type, q.verb,
       q.start_char, q.end_char
FROM quotes q
JOIN articles a USING (article_id)
LEFT JOIN entities e ON e.entity_id = q.speaker_entity_id;

CREATE OR REPLACE VIEW v_numbers AS
SELECT n.number_id, n.article_id, a.published_at, n.position, n.number_text, n.value, n.kind,
       n.unit, n.approximate, n.counted, n.event, n.start_char, n.end_char
FROM numbers n JOIN articles a USING (article_id);

CREATE OR REPLACE VIEW v_mentioned_dates AS
SELECT d.mentioned_date_id, d.article_id, a.published_at, d.position, d.date_text,
       d.granularity, d.date_from, d.date_to, d.date_from IS NOT NULL AS resolved,
       d.start_char, d.end_char
FROM mentioned_dates d JOIN articles a USING (article_id);

-- Every article with its duplicate cluster; filter on cluster_size > 1 for real duplicates.
CREATE OR REPLACE VIEW v_duplicate_clusters AS
SELECT s.cluster_id, s.article_id,
       first_value(s.article_id) OVER w AS canonical_article_id,
       s.article_id = first_value(s.article_id) OVER w AS is_canonical,
       count(*) OVER (PARTITION BY s.cluster_id) AS cluster_size,
       s.matched_article_id, s.similarity, a.source_name, a.canonical_url, a.title,
       a.published_at
FROM article_signatures s JOIN articles a USING (article_id)
WINDOW w AS (PARTITION BY s.cluster_id ORDER BY a.published_at NULLS LAST, a.article_id
             ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING);
