-- Hostile web (issue 15): an article belongs to the site it was loaded from, and a page of
-- another site can never take it over by claiming its key (a foreign canonical link).

-- The registrable domain (public suffix + one label) of the URL an article was loaded
-- from, or 'file:<source>' for a dropped file; set by the load from Python's public
-- suffix list. NULL on rows loaded before this migration (the load then derives it from
-- their url).
ALTER TABLE articles ADD COLUMN site text;
ALTER TABLE batch_items ADD COLUMN site text;

-- Each input whose article key already belonged to another site: it was not loaded (a
-- reject at stage 'load' says so) and the stored article was left as it was.
CREATE TABLE article_key_conflicts (
    batch_key    text        NOT NULL,
    source_name  text        NOT NULL,
    input        text        NOT NULL,
    article_key  text        NOT NULL,
    owner_site   text        NOT NULL,   -- the site the key belongs to
    input_site   text        NOT NULL,   -- the site the refused page came from
    detected_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (batch_key, source_name, input)
);
CREATE INDEX article_key_conflicts_key ON article_key_conflicts (article_key);

-- Conflicts with the article they were kept away from (article_id NULL when the owner
-- was another input of the same batch that has not been loaded).
CREATE VIEW v_article_key_conflicts AS
SELECT c.detected_at, c.batch_key, c.source_name, c.input, c.input_site, c.article_key,
       c.owner_site, a.article_id, a.source_name AS article_source, a.title AS article_title
FROM article_key_conflicts c
LEFT JOIN articles a ON a.article_key = c.article_key;
