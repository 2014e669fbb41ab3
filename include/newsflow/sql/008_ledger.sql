-- The ledger: every input of a batch (feed item, sitemap URL, listed URL, dropped file)
-- must end in exactly one of an article row or a reject row with its stage and reason.

-- The rejects of each batch. ``rejects`` keeps one row per input and stage, naming the
-- latest run only; this keeps every run's own, so each batch's ledger stays exact when
-- runs repeat or overlap.
CREATE TABLE batch_rejects (
    batch_key   text        NOT NULL,
    source_name text        NOT NULL,
    input       text        NOT NULL,
    stage       text        NOT NULL,
    reason      text        NOT NULL,
    rejected_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (batch_key, source_name, input, stage)
);
INSERT INTO batch_rejects (batch_key, source_name, input, stage, reason, rejected_at)
SELECT batch_key, source_name, input, stage, reason, last_seen_at FROM rejects;

-- One row per input of a batch and what became of it. Inputs are the batch's staged items
-- plus the inputs its discover stage rejected without staging them (bad lines, repeats,
-- unreadable sitemaps, a source that could not be read). Read it for a batch whose load
-- has finished: an input still between stages is 'lost'.
CREATE OR REPLACE VIEW v_batch_ledger AS
WITH inputs AS (
    SELECT b.batch_key, b.source_name, b.input, b.stage, b.fields->>'article_key' AS article_key
    FROM batch_items b
    UNION ALL
    SELECT r.batch_key, r.source_name, r.input, 'rejected', NULL
    FROM batch_rejects r
    WHERE NOT EXISTS (
        SELECT 1 FROM batch_items b WHERE b.batch_key = r.batch_key
          AND b.source_name = r.source_name AND b.input = r.input)
),
outcomes AS (
    SELECT i.batch_key, i.source_name, i.input, i.stage AS batch_stage, a.article_id,
           rj.stage AS reject_stage, rj.reason AS reject_reason,
           (a.article_id IS NOT NULL)::int + rj.count AS outcome_count
    FROM inputs i
    LEFT JOIN articles a ON i.stage = 'loaded' AND a.article_key = i.article_key
    CROSS JOIN LATERAL (
        SELECT count(*) AS count, min(r.stage) AS stage, min(r.reason) AS reason
        FROM batch_rejects r
        WHERE r.batch_key = i.batch_key AND r.source_name = i.source_name
          AND r.input = i.input
    ) rj
)
SELECT batch_key, source_name, input,
       CASE WHEN outcome_count = 0 THEN 'lost'
            WHEN outcome_count > 1 THEN 'duplicate'
            WHEN article_id IS NOT NULL THEN 'article'
            ELSE 'reject' END AS outcome,
       article_id, reject_stage, reject_reason, batch_stage
FROM outcomes;

-- Per batch: inputs = articles + rejects + lost + duplicates; the last two must be 0.
CREATE OR REPLACE VIEW v_batch_ledger_summary AS
SELECT batch_key,
       count(*) AS inputs,
       count(*) FILTER (WHERE outcome = 'article') AS articles,
       count(*) FILTER (WHERE outcome = 'reject') AS rejects,
       count(*) FILTER (WHERE outcome = 'lost') AS lost,
       count(*) FILTER (WHERE outcome = 'duplicate') AS duplicates
FROM v_batch_ledger
GROUP BY batch_key;
