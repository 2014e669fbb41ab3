-- The ledger: every input of a batch (feed item, sitemap URL, listed URL, dropped file)
-- must end in exactly one of an article row or a reject row with its stage and reason.
-- Read it for a batch whose load has finished: an input still between stages is 'lost'.

-- One row per input of a batch: what became of it. Inputs are the batch's staged items
-- plus the inputs its discover stage rejected without staging them (bad lines, repeats,
-- unreadable sitemaps, a source that could not be read). A reject row carries the latest
-- run that rejected its input; an older run's rejected item still counts it, once.
CREATE OR REPLACE VIEW v_batch_ledger AS
WITH inputs AS (
    SELECT b.batch_key, b.source_name, b.input, b.stage, b.fields->>'article_key' AS article_key
    FROM batch_items b
    UNION ALL
    SELECT r.batch_key, r.source_name, r.input, 'rejected', NULL
    FROM rejects r
    WHERE r.stage = 'discover' AND NOT EXISTS (
        SELECT 1 FROM batch_items b WHERE b.batch_key = r.batch_key AND b.input = r.input)
),
outcomes AS (
    SELECT i.batch_key, i.source_name, i.input, i.stage AS batch_stage, a.article_id,
           rj.stage AS reject_stage, rj.reason AS reject_reason,
           (a.article_id IS NOT NULL)::int + rj.count AS outcome_count
    FROM inputs i
    LEFT JOIN articles a ON i.stage = 'loaded' AND a.article_key = i.article_key
    CROSS JOIN LATERAL (
        SELECT CASE
                   WHEN count(*) FILTER (WHERE r.batch_key = i.batch_key) > 0
                       THEN count(*) FILTER (WHERE r.batch_key = i.batch_key)
                   WHEN i.stage = 'rejected' AND count(*) > 0 THEN 1
                   ELSE 0
               END AS count,
               (array_agg(r.stage ORDER BY r.batch_key = i.batch_key DESC,
                          r.last_seen_at DESC))[1] AS stage,
               (array_agg(r.reason ORDER BY r.batch_key = i.batch_key DESC,
                          r.last_seen_at DESC))[1] AS reason
        FROM rejects r
        WHERE r.source_name = i.source_name AND r.input = i.input
          AND (r.batch_key = i.batch_key OR i.stage = 'rejected')
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
