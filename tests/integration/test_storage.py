"""Schema migrations and idempotent loads against a real PostgreSQL."""

from pathlib import Path

from newsflow import staging, storage
from newsflow.sources import Discovery
from tests.integration.conftest import rows, run_batch


def _tables_and_views(conn: object) -> set[str]:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        )
        return {row[0] for row in cur.fetchall()}


def test_migrations_apply_on_empty_database_then_are_a_no_op(news_dsn: str) -> None:
    conn = storage.connect(news_dsn)
    try:
        assert _tables_and_views(conn) == set()
        first = storage.apply_migrations(conn)
        # Every bundled migration, in order; each helper's issue adds its own number.
        assert first == [version for version, _ in storage.migration_files()]
        assert first[:3] == ["001_schema", "002_views", "003_sources_fetching"]
        assert {"pages", "batch_items", "articles", "rejects", "fetch_log",
                "v_articles", "v_article_authors", "v_rejects", "v_source_health",
                "schema_migrations"} <= _tables_and_views(conn)
        assert storage.apply_migrations(conn) == []
    finally:
        conn.close()


def _write_sources(tmp_path: Path, drop: Path, extra: str = "") -> Path:
    sources = tmp_path / "sources.yaml"
    sources.write_text(f"sources:\n  - name: drop\n    kind: folder\n    path: {drop}\n{extra}")
    return sources


def test_loading_the_same_input_twice_leaves_the_samerows(
    news_conn: object, tmp_path: Path, seed_drop: Path
) -> None:
    sources = _write_sources(tmp_path, seed_drop)
    run_batch(news_conn, "run-1", sources)
    snapshot = "SELECT article_id, article_key, title, body, updated_at FROM articles ORDER BY 1"
    first = rows(news_conn, snapshot)
    assert len(first) == 2

    summary = run_batch(news_conn, "run-2", sources)

    assert summary == {"drop": {"loaded": 2, "rejected": 1}}
    assert rows(news_conn, snapshot) == first
    assert rows(news_conn, "SELECT count(*) FROM pages") == [(2,)]
    assert rows(news_conn, "SELECT input, stage, attempts FROM rejects") == [
        (str(seed_drop / "notes.pdf"), "fetch", 2)
    ]


def test_seed_article_is_stored_split_into_its_parts(
    news_conn: object, tmp_path: Path, seed_drop: Path
) -> None:
    run_batch(news_conn, "run-1", _write_sources(tmp_path, seed_drop))
    [(title, subtitle, source, headings, body, key)] = rows(
        news_conn,
        "SELECT title, subtitle, source, headings, body, article_key FROM articles"
        " WHERE source IS NOT NULL",
    )
    assert title == "US and Russia seek Syria peace talks revival"
    assert subtitle.startswith("Geneva meetings enter second day")
    assert source == "Al Jazeera and agencies"
    assert headings == ["Shared goal", "Positive opportunity"]
    assert body.endswith('"This is not a game," he said on Thursday.')
    assert "Moscow lost Riyadh" not in body
    assert key.startswith("file:drop/000_6b0885ebeeff3833.txt#")


def test_an_edited_file_is_a_new_page_and_a_new_article(
    news_conn: object, tmp_path: Path, seed_drop: Path
) -> None:
    sources = _write_sources(tmp_path, seed_drop)
    run_batch(news_conn, "run-1", sources)
    seed = seed_drop / "000_6b0885ebeeff3833.txt"
    seed.write_text(seed.read_text().replace("Lavrov", "Lavrov (Russia)", 1))
    run_batch(news_conn, "run-2", sources)
    assert rows(news_conn, "SELECT count(*) FROM articles WHERE source IS NOT NULL") == [(2,)]


def test_rejects_of_a_chunk_are_written_together_and_counted_per_run(news_conn: object) -> None:
    staging.stage_discoveries(news_conn, "run-1", [
        Discovery("a", "http://a.example/1"), Discovery("a", "http://a.example/2"),
        Discovery("a", "http://a.example/3"),
    ])
    chunk = [("a", "http://a.example/1", "HTTP 404"), ("a", "http://a.example/2", "HTTP 410"),
             ("a", "http://a.example/2", "HTTP 410 again")]  # the same input twice
    staging.record_rejects(news_conn, "run-1", "fetch", chunk)
    staging.record_rejects(news_conn, "run-1", "fetch", chunk[:1])
    staging.record_rejects(news_conn, "run-1", "fetch", [])
    news_conn.commit()

    assert rows(news_conn, "SELECT input, stage, reason, attempts FROM rejects ORDER BY 1") == [
        ("http://a.example/1", "fetch", "HTTP 404", 2),
        ("http://a.example/2", "fetch", "HTTP 410 again", 1),
    ]
    assert rows(news_conn, "SELECT input, stage FROM batch_items ORDER BY 1") == [
        ("http://a.example/1", "rejected"), ("http://a.example/2", "rejected"),
        ("http://a.example/3", "discovered"),
    ]
