"""Extraction provenance, modification date and language reach articles and v_articles."""

from pathlib import Path

from tests.integration.conftest import rows, run_batch


def test_provenance_columns_are_loaded_and_exposed_in_the_view(
    news_conn: object, tmp_path: Path, seed_drop: Path
) -> None:
    sources = tmp_path / "sources.yaml"
    sources.write_text(f"sources:\n  - name: drop\n    kind: folder\n    path: {seed_drop}\n")
    run_batch(news_conn, "run-1", sources)
    loaded = rows(
        news_conn,
        "SELECT title, title_source, authors, authors_source,"
        " published_at = '2026-11-25T09:45:00-05:00'::timestamptz,"
        " published_source, modified_at IS NOT NULL, language, language_source"
        " FROM v_articles ORDER BY title",
    )
    assert loaded == [
        ("Harbour Gallery reopens after $3.4 million flood restoration", "og:title",
         ["Helena Varga"], "json-ld", True, "json-ld", True, "en",
         "py3langid"),
        ("US and Russia seek Syria peace talks revival", "text", [], None, None, None, False,
         "en", "py3langid"),
    ]
