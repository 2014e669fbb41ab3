"""Provenance, versions, re-extraction and retention on a real PostgreSQL, over the demo
drop folder (no network): the library under news_reprocess and news_maintenance."""

import threading
from pathlib import Path

import pytest

from newsflow import load_stage, pipeline, provenance, reprocess, retention, settings, storage
from tests.conftest import DEMO, demo_drop
from tests.integration.conftest import rows, run_batch

ARTICLES = ("SELECT article_id, article_key, fields_sha256, extractor_version, batch_key,"
            " extracted_at, updated_at FROM articles ORDER BY article_id")


def _loaded(news_conn: object, tmp_path: Path) -> list[tuple]:
    sources = tmp_path / "sources.yaml"
    drop = demo_drop(tmp_path)
    sources.write_text(f"sources:\n  - {{name: drop, kind: folder, path: '{drop}'}}\n")
    assert run_batch(news_conn, "ingest-1", sources) == {"drop": {"loaded": 4}}
    return rows(news_conn, ARTICLES)


def _reprocess(conn: object, batch_key: str, stages: str = "clean,fields,enrichment",
               dry_run: bool = False, **dates: str) -> dict:
    """news_reprocess's tasks, in order, on one batch; returns the staging summary."""
    request = reprocess.parse_request(dates.get("start"), dates.get("end"), "", stages,
                                      dry_run)
    summary = reprocess.reprocess(conn, batch_key, request)
    if not dry_run:
        for stage in (pipeline.clean, pipeline.extract, pipeline.enrich):
            stage(conn, batch_key)
        load_stage.load(conn, batch_key)
    return summary


def test_every_article_records_extractor_run_and_time(news_conn: object, tmp_path: Path) -> None:
    articles = _loaded(news_conn, tmp_path)
    version = provenance.extractor_version()
    assert version.startswith("0.1.0+") and len(version) == len("0.1.0+") + 12
    assert {(row[3], row[4]) for row in articles} == {(version, "ingest-1")}
    assert all(row[5] is not None for row in articles)
    assert rows(news_conn, "SELECT count(*) FROM article_versions") == [(0,)]


def test_reprocess_with_the_same_version_changes_nothing(
    news_conn: object, tmp_path: Path
) -> None:
    before = _loaded(news_conn, tmp_path)
    summary = _reprocess(news_conn, "reprocess-same")
    assert summary["staged"] == 4 and summary["skipped"] == {}
    assert rows(news_conn, ARTICLES) == before  # not even updated_at moved
    assert rows(news_conn, "SELECT count(*) FROM article_versions") == [(0,)]
    assert rows(news_conn, "SELECT stage, count(*) FROM batch_items"
                           " WHERE batch_key = 'reprocess-same' GROUP BY 1") == [("loaded", 4)]


def test_dry_run_reports_per_source_and_changes_nothing(
    news_conn: object, tmp_path: Path
) -> None:
    before = _loaded(news_conn, tmp_path)
    tables = "SELECT (SELECT count(*) FROM batch_items), (SELECT count(*) FROM rejects)"
    counts = rows(news_conn, tables)
    summary = _reprocess(news_conn, "dry", stages="fields", dry_run=True)
    assert summary == {
        "dry_run": True, "stages": ["fields", "enrichment"], "pages": 4, "staged": 0,
        "would_stage": 4, "skipped": {}, "sources": {"drop": {"pages": 4, "would_stage": 4}},
    }
    assert rows(news_conn, ARTICLES) == before
    assert rows(news_conn, tables) == counts


def test_a_new_extractor_version_keeps_the_previous_fields_for_a_diff(
    news_conn: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _loaded(news_conn, tmp_path)
    old_version = provenance.extractor_version()
    # Enrichment now reads only the first 300 characters of each body.
    monkeypatch.setattr(settings, "ENRICH_MAX_CHARS", 300)
    new_version = provenance.extractor_version()
    assert new_version != old_version

    summary = _reprocess(news_conn, "reprocess-new", stages="enrichment")
    assert summary["stages"] == ["enrichment"] and summary["staged"] == 4
    after = rows(news_conn, ARTICLES)
    changed = [row for row, old in zip(after, before, strict=True) if row[2] != old[2]]
    assert changed, "a 300-character enrichment changed no article"
    assert {(row[3], row[4]) for row in changed} == {(new_version, "reprocess-new")}
    versions = rows(news_conn, "SELECT article_id, extractor_version, batch_key,"
                               " replaced_by_batch FROM article_versions ORDER BY 1")
    assert versions == [(row[0], old_version, "ingest-1", "reprocess-new") for row in changed]
    # The old fields are kept whole: the diff view names what changed, with both values.
    diff = rows(news_conn, "SELECT DISTINCT field FROM v_article_field_changes ORDER BY 1")
    assert ("entities",) in diff and ("body",) not in diff and ("title",) not in diff
    [(old_count, new_count)] = rows(
        news_conn, "SELECT sum(jsonb_array_length(old_value)), sum(jsonb_array_length(new_value))"
                   " FROM v_article_field_changes WHERE field = 'entities'")
    assert old_count > new_count
    assert rows(news_conn, "SELECT version_no, is_current FROM v_article_versions"
                           f" WHERE article_id = {changed[0][0]} ORDER BY 1") == [
        (1, False), (2, True)]

    # Again with the same new version: nothing more.
    again = rows(news_conn, ARTICLES)
    _reprocess(news_conn, "reprocess-new-again", stages="enrichment")
    assert rows(news_conn, ARTICLES) == again
    assert rows(news_conn, "SELECT count(*) FROM article_versions") == [(len(changed),)]
    print(f"\nreprocess versions: {len(changed)} of {len(before)} articles changed by"
          f" {new_version}, {len(versions)} version rows; fields changed:"
          f" {[field for (field,) in diff]}")


def test_pruned_pages_are_skipped_by_reprocess_and_their_articles_stay(
    news_conn: object, tmp_path: Path
) -> None:
    before = _loaded(news_conn, tmp_path)
    with news_conn.cursor() as cur:
        cur.execute("UPDATE pages SET fetched_at = now() - interval '10 days'"
                    " WHERE input LIKE '%harbour-gallery.html'")
    news_conn.commit()
    assert retention.prune_raw_pages(news_conn, 0) == {}  # retention off
    assert retention.prune_raw_pages(news_conn, 5) == {"drop": 1}
    assert retention.prune_raw_pages(news_conn, 5) == {}  # idempotent
    assert rows(news_conn, "SELECT input LIKE '%harbour-gallery.html', content IS NULL,"
                           " content_pruned_at IS NOT NULL FROM pages ORDER BY 1") == [
        (False, False, False)] * 3 + [(True, True, True)]

    summary = _reprocess(news_conn, "after-prune")
    assert summary["sources"] == {"drop": {"pages": 4, "pruned": 1, "staged": 3}}
    assert summary["skipped"] == {"pruned": 1}
    assert rows(news_conn, ARTICLES) == before
    # From stored fields, the pruned page's article can still be re-enriched.
    assert _reprocess(news_conn, "after-prune-fields", stages="fields")["staged"] == 4


def test_date_range_selects_pages_by_fetch_day(news_conn: object, tmp_path: Path) -> None:
    _loaded(news_conn, tmp_path)
    with news_conn.cursor() as cur:
        cur.execute("UPDATE pages SET fetched_at = '2026-11-02 23:59:59+00'"
                    " WHERE input LIKE '%harbour-%'")
    news_conn.commit()
    plan = _reprocess(news_conn, "range", dry_run=True, start="2026-11-01", end="2026-11-02")
    assert (plan["pages"], plan["would_stage"]) == (2, 2)
    plan = _reprocess(news_conn, "range", dry_run=True, start="2026-11-03")
    assert plan["pages"] == 2


def test_raw_pages_are_stored_compressed(news_conn: object, tmp_path: Path) -> None:
    _loaded(news_conn, tmp_path)
    [(method, stored, raw)] = rows(
        news_conn, "SELECT min(pg_column_compression(content)), sum(pg_column_size(content)),"
                   " sum(octet_length(content)) FROM pages WHERE octet_length(content) > 4096")
    assert method in ("pglz", "lz4") and stored < raw
    print(f"\nraw pages over 4 KiB: {raw} bytes stored in {stored} ({method})")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("2026-11-05", "2026-11-01", "", "clean", False),
         "start_date 2026-11-05 is after end_date 2026-11-01: nothing to reprocess"),
        (("2026-11-31", "", "", "clean", False), "start_date '2026-11-31' is not a date"),
        (("", "", "", "fetch", False), "unknown stages ['fetch']"),
        (("", "", "", "", False), "no stage chosen"),
    ],
)
def test_bad_requests_fail_with_a_clear_message(args: tuple, message: str) -> None:
    with pytest.raises(reprocess.ReprocessError, match=message.replace("[", r"\[")):
        reprocess.parse_request(*args)


def test_sources_param_limits_the_pages(news_conn: object, tmp_path: Path) -> None:
    folders = {"desk-a": ["harbour-festival.txt"], "desk-b": ["harbour-gallery.html",
                                                              "riverside-wire-budget.txt"]}
    lines = []
    for name, files in folders.items():
        (tmp_path / name).mkdir()
        for file in files:
            (tmp_path / name / file).write_bytes((DEMO / "drop" / file).read_bytes())
        lines.append(f"  - {{name: {name}, kind: folder, path: '{tmp_path / name}'}}\n")
    sources = tmp_path / "sources.yaml"
    sources.write_text("sources:\n" + "".join(lines))
    run_batch(news_conn, "ingest-1", sources)
    request = reprocess.parse_request("", "", "desk-b", "clean", True)
    plan = reprocess.reprocess(news_conn, "only-b", request)
    assert plan["sources"] == {"desk-b": {"pages": 2, "would_stage": 2}}
    request = reprocess.parse_request("", "", "desk-a,nowhere", "clean", True)
    plan = reprocess.reprocess(news_conn, "a", request)
    assert plan["sources"] == {"desk-a": {"pages": 1, "would_stage": 1}}
    assert plan["sources_without_pages"] == ["nowhere"]


def test_two_reprocess_runs_at_once_keep_each_replaced_version_once(
    writer_dsn: str, news_conn: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _loaded(news_conn, tmp_path)
    monkeypatch.setattr(settings, "ENRICH_MAX_CHARS", 300)
    errors: list[BaseException] = []

    def run(batch_key: str) -> None:
        conn = storage.connect(writer_dsn)
        try:
            _reprocess(conn, batch_key, stages="enrichment")
        except BaseException as error:  # collected and re-raised in the main thread
            errors.append(error)
        finally:
            conn.close()

    threads = [threading.Thread(target=run, args=(f"reprocess-{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    after = rows(news_conn, ARTICLES)
    changed = [row[0] for row, old in zip(after, before, strict=True) if row[2] != old[2]]
    assert changed
    assert rows(news_conn, "SELECT article_id, batch_key FROM article_versions ORDER BY 1") == [
        (article_id, "ingest-1") for article_id in changed]
