-- Author kinds and page types (issue 17).

-- Each author's kind, parallel to `authors` (same length, same order): 'person', or
-- 'organisation' for wire and agency credits ("Associated Press", "Reuters") and desks
-- ("Gear Team"), which analysts search to find wire copy. Rows loaded before this
-- migration have an empty array: their authors' kinds are unknown.
-- `page_type`: what the page was (article, listing, collection, product, forum,
-- documentation, service, other); other than 'article' only for sources that accept any
-- page (`accept: any`), since the extract stage rejects non-articles otherwise.
ALTER TABLE articles
    ADD COLUMN author_kinds text[] NOT NULL DEFAULT '{}',
    ADD COLUMN page_type    text;

-- The new column goes last: CREATE OR REPLACE VIEW may only add columns at the end.
CREATE OR REPLACE VIEW v_article_authors AS
SELECT a.article_id, author.name AS author, author.position AS author_position,
       a.author_kinds[author.position] AS author_kind
FROM articles a
CROSS JOIN LATERAL unnest(a.authors) WITH ORDINALITY AS author(name, position);
