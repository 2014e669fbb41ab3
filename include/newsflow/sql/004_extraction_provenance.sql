-- Extraction provenance: which evidence each article's title, authors, publication date and
-- language came from, and the page's modification date kept apart from its publication date.
-- Sources: json-ld, og:title, twitter:title, h1, title, meta, time, htmldate, byline,
-- trafilatura, text (the plain-text parser), feed (discovery's hints); language: py3langid
-- (detected from the body) or html-lang (the page's declaration).

ALTER TABLE articles
    ADD COLUMN title_source     text,
    ADD COLUMN authors_source   text,
    ADD COLUMN published_source text,
    ADD COLUMN modified_at      timestamptz,
    ADD COLUMN language_source  text;

CREATE INDEX articles_language ON articles (language);

-- The new columns go last: CREATE OR REPLACE VIEW may only add columns at the end.
CREATE OR REPLACE VIEW v_articles AS
SELECT article_id, article_key, canonical_url, url, source_name, site_name, source,
       title, subtitle, authors, published_at, language, dateline, headings,
       body, word_count, first_loaded_at, updated_at,
       title_source, authors_source, published_source, modified_at, language_source
FROM articles;
