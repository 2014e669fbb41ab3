"""WARC sources end to end on a real PostgreSQL: discover, read each file, clean ... load.

The WARC files are written at test time (``tests/warc_fixtures.py``); paths lists are
served by a real local HTTP server.
"""

import gzip
import os
from pathlib import Path

import pytest
from fastwarc.warc import ArchiveIterator

from newsflow import archives, discovery, fetch_stage, ledger, load_stage, pipeline
from tests.integration.conftest import rows
from tests.warc_fixtures import DAY_1, DAY_2, HOSTS, write_days

SNAPSHOT = (
    "SELECT article_id, article_key, page_id, fields_sha256, batch_key, updated_at"
    " FROM articles ORDER BY 1",
    "SELECT page_id, page_key, content_sha256, fetched_at, warc_file, warc_offset,"
    " warc_record_id, warc_date FROM pages ORDER BY 1",
    "SELECT batch_key, location, state, records_read, responses, pages_staged, rejects,"
    " finished_at FROM warc_files ORDER BY 1, 2",
    "SELECT batch_key, source_name, input, stage, reason FROM batch_rejects ORDER BY 1, 3",
)


def run_day(conn: object, batch_key: str, sources: Path, interval: tuple) -> dict:
    """The DAG's stages for one run: discover, read_warc per file, fetch, clean ... load."""
    discovery.discover(conn, batch_key, sources, *interval)
    for file_id in archives.batch_files(conn, batch_key):
        archives.read_file(conn, batch_key, file_id)
    for stage in (fetch_stage.fetch, pipeline.clean, pipeline.extract, pipeline.enrich):
        stage(conn, batch_key)
    return load_stage.load(conn, batch_key)


def warc_source(tmp_path: Path, location: str, extra: str = "") -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(f"sources:\n  - {{name: news, kind: warc, {location}{extra}}}\n")
    return path


def outcomes(conn: object, batch_key: str) -> tuple[set, set]:
    entries = ledger.ledger_entries(conn, batch_key)
    urls = {url for (url,) in rows(conn, "SELECT url FROM articles WHERE article_id IN ("
                                   f"SELECT article_id FROM v_batch_ledger WHERE batch_key ="
                                   f" '{batch_key}')")}
    return urls, {e.reject_reason for e in entries if e.outcome == "reject"}


def test_two_days_of_cc_news_files_load_once_each_with_provenance(
    news_conn: object, tmp_path: Path
) -> None:
    days = write_days(tmp_path / "warc")
    sources = warc_source(tmp_path, f"path: '{days.folder}', hosts: {HOSTS}")

    summary = run_day(news_conn, "day1", sources, DAY_1)
    assert summary == {"news": {"loaded": 3}}
    # Day 1 reads the two files whose spans meet it; the second one straddles midnight.
    files = rows(news_conn, "SELECT location, records_read, responses, pages_staged, rejects,"
                 " skipped_records, filtered_hosts, outside_interval, error FROM warc_files"
                 " WHERE batch_key = 'day1' ORDER BY location")
    assert files == [
        (str(days.files[0]), 7, 4, 2, 2, 2, 1, 0, None),
        (str(days.files[1]), 2, 1, 1, 0, 0, 0, 1, None),
    ]
    urls, reasons = outcomes(news_conn, "day1")
    assert urls == days.articles["day1"]
    assert reasons == days.rejects["day1"]
    balance = ledger.batch_ledger(news_conn, "day1")
    assert (balance.inputs, balance.articles, balance.rejects, balance.balanced) == (5, 3, 2, True)

    run_day(news_conn, "day2", sources, DAY_2)
    files = rows(news_conn, "SELECT location, responses, pages_staged, rejects, outside_interval,"
                 " error IS NOT NULL FROM warc_files WHERE batch_key = 'day2' ORDER BY location")
    assert files == [(str(days.files[1]), 1, 1, 0, 1, False),
                     (str(days.files[2]), 2, 1, 1, 0, True)]
    urls, reasons = outcomes(news_conn, "day2")
    assert urls == days.articles["day2"]
    assert reasons == days.rejects["day2"]
    balance = ledger.batch_ledger(news_conn, "day2")
    assert (balance.inputs, balance.articles, balance.rejects, balance.balanced) == (3, 2, 1, True)

    # Provenance: every article names its file, offset and record id on v_articles, and
    # the record there is the article's page.
    provenance = rows(news_conn, "SELECT url, warc_file, warc_offset, warc_record_id, warc_date"
                      " FROM v_articles ORDER BY url")
    assert len(provenance) == 5
    for url, warc_file, offset, record_id, warc_date in provenance:
        assert (warc_file, offset) == days.offsets[url]
        with open(warc_file, "rb") as stream:
            stream.seek(offset)
            record = next(iter(ArchiveIterator(stream)))
        assert record.headers.get("WARC-Target-URI") == url
        assert record.record_id == record_id
        assert warc_date == record.record_date
    # The page sent with an unknown charset label was decoded from windows-1252.
    [(body, charset)] = rows(news_conn, "SELECT a.body, p.charset FROM articles a JOIN pages p"
                             " USING (page_id) WHERE a.url LIKE '%ferry-fares'")
    assert "Café owners said «no»." in body and charset == "cp1252"

    # Re-running day 1 reads no file again and changes no row.
    before = [rows(news_conn, query) for query in SNAPSHOT]
    run_day(news_conn, "day1", sources, DAY_1)
    assert [rows(news_conn, query) for query in SNAPSHOT] == before


def test_max_records_caps_each_file(news_conn: object, tmp_path: Path) -> None:
    days = write_days(tmp_path / "warc")
    sources = warc_source(tmp_path, f"path: '{days.folder}/*-00001.warc.gz', max_records: 2")
    run_day(news_conn, "capped", sources, DAY_1)
    assert rows(news_conn, "SELECT responses, pages_staged FROM warc_files") == [(2, 2)]
    assert ledger.batch_ledger(news_conn, "capped").balanced


def test_a_link_out_of_the_folder_is_rejected_unread(news_conn: object, tmp_path: Path) -> None:
    days = write_days(tmp_path / "warc")
    outside = tmp_path / "private"
    outside.mkdir()
    os.replace(days.files[1], outside / days.files[1].name)
    (days.folder / "link.warc.gz").symlink_to(outside / days.files[1].name)
    sources = warc_source(tmp_path, f"path: '{days.folder}'")
    run_day(news_conn, "links", sources, DAY_1)
    assert rows(news_conn, "SELECT input, stage, reason FROM batch_rejects WHERE stage ="
                " 'discover'") == [(str(days.folder / "link.warc.gz"), "discover",
                                    f"leads outside {days.folder.resolve()}: not read")]
    assert rows(news_conn, "SELECT count(*) FROM warc_files WHERE location LIKE '%00002%'") == [
        (0,)]


@pytest.mark.parametrize("base", ["list's own site", "another loopback host"])
def test_a_paths_list_over_http_reads_the_month_and_guards_downloads(
    news_conn: object, tmp_path: Path, local_site: object, base: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``paths_url`` with ``{year}/{month}``: the list of March 2025 (and, for the straddling
    file, February's), relative entries joined to ``base_url``. The deployment allows only
    the list's host and port (``NEWSFLOW_PRIVATE_HOSTS``): WARC locations on another
    loopback host are refused by the SSRF guard and rejected with the reason."""
    monkeypatch.setenv("NEWSFLOW_PRIVATE_HOSTS", f"127.0.0.1:{local_site.port}")
    days = write_days(local_site.root / "crawl-data")
    listing = "\n".join(f"crawl-data/{path.name}" for path in days.files[:2]) + "\n"
    march = local_site.root / "lists" / "2025" / "03"
    march.mkdir(parents=True)
    (march / "warc.paths.gz").write_bytes(gzip.compress(listing.encode()))
    february = local_site.root / "lists" / "2025" / "02"
    february.mkdir(parents=True)
    (february / "warc.paths.gz").write_bytes(gzip.compress(b""))
    allowed = base == "list's own site"
    base_url = local_site.url() if allowed else f"http://127.0.0.2:{local_site.port}/"
    sources = warc_source(
        tmp_path, f"paths_url: '{local_site.url('lists/{year}/{month}/warc.paths.gz')}'",
        f", base_url: '{base_url}'",
    )
    run_day(news_conn, "listed", sources, DAY_1)
    assert "/lists/2025/02/warc.paths.gz" in local_site.requests
    assert "/lists/2025/03/warc.paths.gz" in local_site.requests
    balance = ledger.batch_ledger(news_conn, "listed")
    assert balance.balanced
    if allowed:
        assert (balance.articles, balance.rejects) == (4, 2)  # no hosts filter here
        # Downloaded by the polite fetcher: one fetch-log row per WARC request.
        assert rows(news_conn, "SELECT bytes FROM fetch_log WHERE purpose = 'warc'"
                    " AND status = 200 ORDER BY url") == [
            (path.stat().st_size,) for path in days.files[:2]]
    else:
        assert f"/crawl-data/{days.files[0].name}" not in local_site.requests
        reasons = {r for (r,) in rows(news_conn, "SELECT reason FROM batch_rejects")}
        assert len(reasons) == 1 and next(iter(reasons)).startswith(
            "WARC download failed: refused: 127.0.0.2")
        assert (balance.inputs, balance.rejects) == (2, 2)
