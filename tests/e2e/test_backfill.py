"""Backfills and re-extraction through a real Airflow deployment in miniature.

An API server, a scheduler and a DAG processor (LocalExecutor, metadata in a real
PostgreSQL) run ``airflow backfill create`` of ``news_ingest`` over three past days of a
local sitemap whose entries are dated, then the same backfill again; ``news_reprocess`` is
triggered through the REST API (what the UI's trigger form calls) for a dry run and with
bad params, and run with a changed extraction setting by ``airflow dags test``; last, two
days of CC-NEWS-style WARC files are backfilled with a source set of their own (run conf).
"""

import json
import os
import secrets
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import psycopg2
import pytest

from tests.conftest import (
    AIRFLOW_ENV,
    DEMO,
    LocalSite,
    Logins,
    airflow_conn_uri,
    migrated_for_writer,
    source_set_env,
)
from tests.e2e.stack import (
    AIRFLOW,
    ProcessGroups,
    api_healthy,
    free_port,
    query,
    sqlalchemy_url,
    wait_for,
)
from tests.warc_fixtures import HOSTS, WarcDays, write_days

pytestmark = pytest.mark.e2e

# Sitemap entries: (page, publication date). The backfill covers the runs of 10, 11 and 12
# November (data intervals 04:30 to 04:30 UTC), so the first three are taken, one each.
ENTRIES = [
    ("articles/mill-street-bridge-closure.html", "2026-11-10T12:00:00Z"),
    ("articles/library-extends-hours.html", "2026-11-11T12:00:00Z"),
    ("articles/cannery-brewing-expansion.html", "2026-11-12T12:00:00Z"),
    ("articles/winter-ferry-timetable.html", "2026-11-09T12:00:00Z"),  # the day before
    ("articles/not-yet.html", "2026-11-14T12:00:00Z"),  # after the range
]
# Article key -> the backfill run that must have loaded it (run ids carry the run's end).
EXPECTED = {
    f"https://gazette.example/news/{slug}": f"backfill__2026-11-{day}T04:30:00+00:00"
    for slug, day in (("mill-street-bridge-closure", 11), ("library-extends-hours", 12),
                      ("cannery-brewing-expansion", 13))
}
BACKFILL = ["backfill", "create", "--dag-id", "news_ingest", "--from-date", "2026-11-10",
            "--to-date", "2026-11-12T23:59:59", "--max-active-runs", "1"]
# Everything a re-run must leave as it was, timestamps included.
SNAPSHOT = {
    "articles": "SELECT article_id, article_key, fields_sha256, extractor_version, batch_key,"
                " extracted_at, updated_at FROM articles ORDER BY 1",
    "children": "SELECT (SELECT count(*) FROM article_entities), (SELECT count(*) FROM quotes),"
                " (SELECT count(*) FROM numbers), (SELECT count(*) FROM mentioned_dates),"
                " (SELECT count(*) FROM article_signatures),"
                " (SELECT count(*) FROM article_versions)",
    "pages": "SELECT page_id, page_key, content_sha256, fetched_at FROM pages ORDER BY 1",
    "taken": "SELECT source_name, input_key, window_key, batch_key FROM taken_inputs ORDER BY 2",
}


def _write_sitemap(site: LocalSite, tmp_path: Path) -> Path:
    shutil.copytree(DEMO / "site" / "articles", site.root / "articles")
    urls = "".join(
        f"<url><loc>{site.url(page)}</loc><news:news><news:publication>"
        "<news:name>Gazette</news:name><news:language>en</news:language></news:publication>"
        f"<news:publication_date>{day}</news:publication_date></news:news></url>"
        for page, day in ENTRIES
    )
    (site.root / "sitemap.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
        ' xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">' + urls + "</urlset>"
    )
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        "sources:\n"
        # The local site serves gazette.example's pages: its canonical links are believed.
        f"  - {{name: gazette, kind: sitemap, url: '{site.url('sitemap.xml')}',"
        " trust_canonical: true}\n"
    )
    return sources


def _request(base: str, method: str, path: str, token: str,
             body: dict | None = None) -> tuple[int, dict]:
    """(status, JSON body) of an API call; errors are returned, not raised."""
    request = urllib.request.Request(
        base + path, data=None if body is None else json.dumps(body).encode(), method=method,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def _finished(meta: str, where: str, args: tuple, groups: ProcessGroups) -> bool:
    """Whether every run matching ``where`` is over; fails at once on a retry."""
    retrying = query(meta, "SELECT t.dag_id, t.run_id, t.task_id FROM task_instance t"
                      f" JOIN dag_run r USING (dag_id, run_id) WHERE {where}"
                      " AND t.state = 'up_for_retry'", args)
    assert not retrying, f"tasks failed: {retrying}\n{groups.all_tails(4000)}"
    states = query(meta, f"SELECT r.state FROM dag_run r WHERE {where}", args)
    return bool(states) and all(state in ("success", "failed") for (state,) in states)


def _backfill_runs(meta: str) -> list[tuple]:
    return query(meta, "SELECT run_id, state, data_interval_start, start_date, end_date"
                  " FROM dag_run WHERE dag_id = 'news_ingest' AND run_type = 'backfill'"
                  " ORDER BY data_interval_start")


def _snapshot(news: str) -> dict[str, list[tuple]]:
    return {name: query(news, sql) for name, sql in SNAPSHOT.items()}


def _trigger(api: str, token: str, conf: dict) -> tuple[int, dict]:
    return _request(api, "POST", "/api/v2/dags/news_reprocess/dagRuns", token,
                    {"logical_date": None, "conf": conf})


@pytest.mark.timeout(1200)
def test_backfill_loads_exactly_the_days_asked_and_reprocess_keeps_versions(
    create_database: Callable[..., str],  # noqa: F811 (the imported fixture)
    local_site: LocalSite,
    tmp_path: Path,
    processes: ProcessGroups,  # noqa: F811
    pg_logins: Logins,
    airflow_meta_template: str,
) -> None:
    timings: dict[str, float] = {}
    started = began = time.monotonic()
    tag = uuid.uuid4().hex[:10]
    meta = create_database(f"backfill_airflow_{tag}", template=airflow_meta_template)
    news = create_database(f"backfill_news_{tag}")
    writer = migrated_for_writer(news, pg_logins)
    api = f"http://127.0.0.1:{free_port()}"
    password = secrets.token_urlsafe(16)
    (tmp_path / "passwords.json").write_text(json.dumps({"newsflow-check": password}))
    env = {
        **os.environ, **AIRFLOW_ENV,
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sqlalchemy_url(meta),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api}/execution/",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": api.rsplit(":", 1)[1],
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
        "AIRFLOW__API__SECRET_KEY": secrets.token_hex(32),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "newsflow-check:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(tmp_path / "passwords.json"),
        "AIRFLOW_CONN_NEWS_DB": airflow_conn_uri(writer),
        **source_set_env(_write_sitemap(local_site, tmp_path)),  # the set "sources"
        "NEWSFLOW_REPORT_DIR": str(tmp_path / "reports"),
    }
    # A second source set beside it, "warc" (step 7), there before the DAG is parsed: the
    # source_set param's choices are the sets found then.
    warc_days = _write_warc_set(tmp_path)
    for component in ("api-server", "scheduler", "dag-processor"):
        processes.start(component, [AIRFLOW, component], env)
    wait_for(lambda: api_healthy(api), 300, processes, "the API server")
    wait_for(lambda: len(query(meta, "SELECT 1 FROM serialized_dag WHERE dag_id IN"
                                 " ('news_ingest', 'news_reprocess')")) == 2,
              300, processes, "the parsed DAGs")
    token = json.loads(urllib.request.urlopen(urllib.request.Request(
        f"{api}/auth/token", method="POST", headers={"Content-Type": "application/json"},
        data=json.dumps({"username": "newsflow-check", "password": password}).encode()),
        timeout=30).read())["access_token"]
    # news_report stays paused: its runs would only slow this test down.
    for dag_id in ("news_ingest", "news_reprocess"):
        assert _request(api, "PATCH", f"/api/v2/dags/{dag_id}", token,
                        {"is_paused": False})[0] == 200
    timings["stack up"] = round(time.monotonic() - started, 1)

    # 1. The backfill, as `airflow backfill create` makes it; the scheduler runs it.
    started = time.monotonic()
    processes.run("backfill-1", [AIRFLOW, *BACKFILL], env)
    backfill = "r.dag_id = 'news_ingest' AND r.run_type = %s"
    wait_for(lambda: _finished(meta, backfill, ("backfill",), processes), 600, processes,
              "the backfill")
    timings["backfill of 3 days"] = round(time.monotonic() - started, 1)
    runs = _backfill_runs(meta)
    assert [(run_id, state, start.astimezone(UTC)) for run_id, state, start, *_ in runs] == [
        (run_id, "success", datetime(2026, 11, day, 4, 30, tzinfo=UTC))
        for run_id, day in zip(sorted(EXPECTED.values()), (10, 11, 12), strict=True)
    ]
    # --max-active-runs 1: one backfill run at a time, in date order.
    for (*_, _, ended), (*_, next_started, _) in zip(runs, runs[1:], strict=False):
        assert next_started >= ended
    # The scheduler marks the backfill complete on its own loop; a second backfill of the
    # DAG is refused until then.
    wait_for(lambda: query(meta, "SELECT completed_at IS NOT NULL FROM backfill")[0][0], 120,
              processes, "the backfill marked complete")
    assert query(meta, "SELECT max_active_runs FROM backfill") == [(1,)]

    loaded = dict(query(news, "SELECT article_key, batch_key FROM articles"))
    assert loaded == EXPECTED  # each day's article, from that day's run; nothing else
    requested = set(local_site.requests)
    assert "/articles/winter-ferry-timetable.html" not in requested
    assert "/articles/not-yet.html" not in requested
    assert query(news, "SELECT count(*) FROM rejects") == [(0,)]
    events = "SELECT count(*) FROM asset_event e JOIN asset a ON a.id = e.asset_id" \
             " WHERE a.name = 'news_articles' AND e.source_dag_id = %s"
    # One per run that loaded articles: the three days' runs (the nightly run, beside
    # them, loads nothing and emits nothing).
    assert query(meta, events, ("news_ingest",))[0][0] >= 3

    # The nightly run (unpausing made it, catchup is off) ran beside the backfill.
    scheduled = "r.dag_id = 'news_ingest' AND r.run_type = %s"
    wait_for(lambda: _finished(meta, scheduled, ("scheduled",), processes), 300, processes,
              "the scheduled run")
    assert query(meta, "SELECT state FROM dag_run WHERE dag_id = 'news_ingest'"
                  " AND run_type = 'scheduled'") == [("success",)]

    # 2. The same backfill again (existing runs are cleared and re-run): no row changes,
    # so no news_articles event either (the load emits it only when articles changed).
    before = _snapshot(news)
    events_before = query(meta, events, ("news_ingest",))[0][0]
    started = time.monotonic()
    processes.run("backfill-2", [AIRFLOW, *BACKFILL, "--reprocess-behavior", "completed"], env)
    wait_for(lambda: len(query(meta, "SELECT 1 FROM backfill WHERE completed_at IS NOT NULL"))
              == 2, 600, processes, "the second backfill")
    timings["same backfill again"] = round(time.monotonic() - started, 1)
    assert [row[:2] for row in _backfill_runs(meta)] == [
        (run_id, "success") for run_id in sorted(EXPECTED.values())]
    # Every task of the three runs did run a second time.
    assert query(meta, "SELECT count(*), min(t.try_number) FROM task_instance t"
                  " JOIN dag_run r USING (dag_id, run_id) WHERE r.run_type = 'backfill'"
                  " AND t.state = 'success'") == [(21, 2)]
    after = _snapshot(news)
    assert after == before
    assert query(meta, events, ("news_ingest",))[0][0] == events_before

    # 3. A dry run, triggered as the UI's form does: reports in a task that succeeds, skips
    # the stages after it, changes nothing.
    started = time.monotonic()
    status, run = _trigger(api, token, {"dry_run": True, "stages": ["fields", "enrichment"]})
    assert status == 200, run
    dry = "r.run_id = %s"
    dry_run_id = run["dag_run_id"]
    wait_for(lambda: _finished(meta, dry, (run["dag_run_id"],), processes), 300, processes,
              "the dry run")
    assert query(meta, "SELECT task_id, state FROM task_instance WHERE run_id = %s"
                  " ORDER BY task_id", (run["dag_run_id"],)) == [
        ("check_schema", "success"), ("clean", "skipped"), ("enrich", "skipped"),
        ("extract_fields", "skipped"), ("load", "skipped"), ("stage_pages", "success")]
    logs = list((tmp_path / "airflow" / "logs").glob(
        f"dag_id=news_reprocess/run_id={run['dag_run_id']}/task_id=stage_pages/attempt=1.log"))
    assert logs and ("DRY RUN, nothing changed: would re-run fields, enrichment on 3 of 3"
                     " stored pages") in logs[0].read_text()
    quoted = urllib.parse.quote(run["dag_run_id"], safe="")
    status, xcom = _request(api, "GET", f"/api/v2/dags/news_reprocess/dagRuns/{quoted}"
                            "/taskInstances/stage_pages/xcomEntries/plan", token)
    assert status == 200, xcom
    plan = xcom["value"] if isinstance(xcom["value"], dict) else json.loads(xcom["value"])
    assert plan == {"dry_run": True, "stages": ["fields", "enrichment"], "pages": 3,
                    "staged": 0, "would_stage": 3, "skipped": {},
                    "sources": {"gazette": {"pages": 3, "would_stage": 3}}}
    assert _snapshot(news) == before
    assert query(news, "SELECT count(*) FROM batch_items WHERE batch_key = %s",
                  (run["dag_run_id"],)) == [(0,)]
    timings["dry run"] = round(time.monotonic() - started, 1)

    # 4. Bad params: the trigger itself refuses what the JSON schemas can say...
    status, answer = _trigger(api, token, {"start_date": "2026-11-31"})
    assert status == 400 and "is not a 'date'" in json.dumps(answer), (status, answer)
    status, answer = _trigger(api, token, {"stages": ["fetch"]})
    assert status == 400 and "is not one of" in json.dumps(answer), (status, answer)
    # ...and a start after the end fails the first task that reads them, without retries.
    status, run = _trigger(api, token, {"start_date": "2026-11-12", "end_date": "2026-11-10"})
    assert status == 200, run
    wait_for(lambda: _finished(meta, dry, (run["dag_run_id"],), processes), 300, processes,
              "the bad-range run")
    assert query(meta, "SELECT task_id, state, try_number FROM task_instance"
                  " WHERE run_id = %s AND state = 'failed'", (run["dag_run_id"],)) == [
        ("stage_pages", "failed", 1)]
    logs = list((tmp_path / "airflow" / "logs").glob(
        f"dag_id=news_reprocess/run_id={run['dag_run_id']}/task_id=stage_pages/attempt=1.log"))
    assert logs and "start_date 2026-11-12 is after end_date 2026-11-10" in logs[0].read_text()

    # 5. A changed extraction setting: news_reprocess re-enriches, keeping the old versions.
    # Paused, so that the scheduler leaves this `airflow dags test` run to itself.
    assert _request(api, "PATCH", "/api/v2/dags/news_reprocess", token,
                    {"is_paused": True})[0] == 200
    started = time.monotonic()
    conf = json.dumps({"dry_run": False, "stages": ["enrichment"]})
    processes.run("reprocess", [AIRFLOW, "dags", "test", "news_reprocess", "--conf", conf],
                  {**env, "NEWSFLOW_ENRICH_MAX_CHARS": "300"})
    timings["reprocess (dags test)"] = round(time.monotonic() - started, 1)
    articles = query(news, "SELECT article_id, extractor_version, batch_key, fields_sha256"
                      " FROM articles ORDER BY 1")
    old = {row[0]: row for row in before["articles"]}
    changed = [row for row in articles if row[3] != old[row[0]][2]]
    assert changed, "a 300-character enrichment changed no article"
    [(reprocess_run, state)] = query(
        meta, "SELECT run_id, state FROM dag_run WHERE dag_id = 'news_reprocess'"
        " AND NOT run_id = ANY(%s)", ([dry_run_id, run["dag_run_id"]],))
    assert state == "success"
    new_version = changed[0][1]
    assert {row[1:3] for row in changed} == {(new_version, reprocess_run)}
    assert new_version != old[changed[0][0]][3]
    versions = query(news, "SELECT article_id, extractor_version, batch_key,"
                      " replaced_by_batch, fields_sha256 FROM article_versions ORDER BY 1")
    assert versions == [(row[0], old[row[0]][3], old[row[0]][4], reprocess_run, old[row[0]][2])
                        for row in changed]
    diff = query(news, "SELECT article_key, field FROM v_article_field_changes ORDER BY 1, 2")
    assert {field for _, field in diff} >= {"entities"}
    assert query(meta, events, ("news_reprocess",))[0][0] >= 1

    # 6. Retention: news_maintenance prunes a page fetched 200 days ago (the default keeps
    # 180); its article stays, and a re-extraction from the raw pages counts it as pruned.
    with psycopg2.connect(news) as conn, conn.cursor() as cur:  # commits on exit
        cur.execute("UPDATE pages SET fetched_at = now() - interval '200 days' WHERE page_id ="
                    " (SELECT page_id FROM articles WHERE article_key = %s)",
                    (sorted(EXPECTED)[0],))
    conn.close()
    started = time.monotonic()
    processes.run("maintenance", [AIRFLOW, "dags", "test", "news_maintenance"], env)
    assert query(news, "SELECT a.article_key FROM pages p JOIN articles a USING (page_id)"
                  " WHERE p.content IS NULL AND p.content_pruned_at IS NOT NULL") == [
        (sorted(EXPECTED)[0],)]
    assert len(query(news, "SELECT 1 FROM articles")) == 3
    conf = json.dumps({"dry_run": True, "stages": ["clean"]})
    processes.run("reprocess-dry", [AIRFLOW, "dags", "test", "news_reprocess", "--conf", conf],
                  env)
    assert "skipped {'pruned': 1}" in processes.tail("reprocess-dry", chars=10**6)
    timings["retention + dry run (dags test)"] = round(time.monotonic() - started, 1)

    # 7. Two past days of CC-NEWS-style WARC files, backfilled with their own sources file.
    started = time.monotonic()
    warc_summary = _backfill_warc_days(warc_days, env, meta, news, processes)
    timings["WARC backfill of 2 days"] = round(time.monotonic() - started, 1)

    timings["total"] = round(time.monotonic() - began, 1)
    print(f"\nbackfill e2e: runs {[row[0] for row in runs]}; articles after the backfill:"
          f" {len(loaded)}; rows unchanged by the second backfill:"
          f" {sum(len(rows) for rows in before.values())} snapshot rows"
          f" ({len(before['articles'])} articles, {len(before['pages'])} pages,"
          f" {len(before['taken'])} taken inputs; entities, quotes, numbers, dates,"
          f" signatures, versions: {before['children'][0]})")
    print(f"backfill e2e: dry run plan {plan}")
    print(f"backfill e2e: reprocess with NEWSFLOW_ENRICH_MAX_CHARS=300 ({new_version}):"
          f" {len(changed)} of {len(articles)} articles changed, {len(versions)} version rows,"
          f" {len(diff)} changed fields in v_article_field_changes:"
          f" {sorted({field for _, field in diff})}")
    print(f"backfill e2e: WARC {warc_summary}")
    print("backfill e2e timings (s): " + json.dumps(timings))


def _write_warc_set(tmp_path: Path) -> WarcDays:
    """WARC files of 5 and 6 November 2026 (runs' intervals) and the source set "warc"."""
    days = write_days(tmp_path / "warc", datetime(2026, 11, 5, 4, 30, tzinfo=UTC))
    (tmp_path / "warc.yaml").write_text(
        f"sources:\n  - {{name: archive, kind: warc, path: '{days.folder}', hosts: {HOSTS}}}\n")
    return days


def _backfill_warc_days(days: WarcDays, env: dict[str, str], meta: str, news: str,
                        processes: ProcessGroups) -> str:
    """WARC files (CC-NEWS style) of two past days, backfilled with a source set of their
    own (the DAG param, as --dag-run-conf): read_warc is mapped over each day's files, and
    every response record ends as an article or a reject, with provenance. Returns what
    the test prints."""
    warc_runs = {"day1": "backfill__2026-11-06T04:30:00+00:00",
                 "day2": "backfill__2026-11-07T04:30:00+00:00"}
    processes.run("backfill-warc", [
        AIRFLOW, "backfill", "create", "--dag-id", "news_ingest", "--from-date", "2026-11-05",
        "--to-date", "2026-11-06T23:59:59", "--max-active-runs", "1",
        "--dag-run-conf", json.dumps({"source_set": "warc"})], env)
    in_warc_runs = "r.dag_id = 'news_ingest' AND r.run_id = ANY(%s)"
    wait_for(lambda: _finished(meta, in_warc_runs, (list(warc_runs.values()),), processes),
              600, processes, "the WARC backfill")
    assert query(meta, "SELECT run_id, state FROM dag_run WHERE run_id = ANY(%s) ORDER BY 1",
                  (list(warc_runs.values()),)) == [(run, "success") for run in warc_runs.values()]
    # One read_warc task instance per file: each day reads two of the three files.
    mapped = query(meta, "SELECT run_id, count(*) FROM task_instance WHERE task_id ="
                    " 'read_warc' AND state = 'success' AND run_id = ANY(%s) GROUP BY 1"
                    " ORDER BY 1", (list(warc_runs.values()),))
    assert mapped == [(run, 2) for run in warc_runs.values()]
    warc_articles = query(news, "SELECT url, batch_key, warc_file, warc_offset FROM v_articles"
                           " WHERE source_name = 'archive'")
    assert {(url, batch) for url, batch, *_ in warc_articles} == {
        (url, warc_runs[day]) for day, urls in days.articles.items() for url in urls}
    assert all(days.offsets[url] == (file, offset) for url, _, file, offset in warc_articles)
    ledgers = {day: query(news, "SELECT inputs, articles, rejects, lost, duplicates FROM"
                           " v_batch_ledger_summary WHERE batch_key = %s", (run,))[0]
               for day, run in warc_runs.items()}
    assert ledgers == {"day1": (5, 3, 2, 0, 0), "day2": (3, 2, 1, 0, 0)}
    reasons = {day: {reason for (reason,) in query(
        news, "SELECT reason FROM batch_rejects WHERE batch_key = %s", (run,))}
        for day, run in warc_runs.items()}
    assert reasons == days.rejects
    warc_files = query(news, "SELECT batch_key, state, records_read, responses, pages_staged,"
                        " rejects FROM warc_files ORDER BY batch_key, location")
    assert [row[:2] for row in warc_files] == [(warc_runs["day1"], "done")] * 2 + [
        (warc_runs["day2"], "done")] * 2

    return (f"backfill runs {list(warc_runs.values())}: read_warc instances {mapped};"
            f" warc_files (batch, state, records, responses, pages, rejects) {warc_files};"
            f" ledgers (inputs, articles, rejects, lost, duplicates) {ledgers};"
            f" {len(warc_articles)} articles with provenance")
