"""The first hour, through the real Airflow UI in headless Chromium (issue 19).

A real Airflow (API server with the React UI, scheduler, DAG processor; LocalExecutor,
metadata in PostgreSQL) runs news_ingest over the demo site dated relative to now
(``newsflow.demo``) and a copy of the demo drop folder. Playwright drives Debian's
``chromium`` (never a downloaded browser): it logs in, unpauses news_ingest (its nightly
run of the last interval starts), drops a new page into the drop folder, triggers the DAG
from the form with its defaults and finds the page in PostgreSQL; then it runs a UI
backfill of two earlier demo days and finds each day's own story, loaded by that day's
run. Screenshots go to ``$NEWSFLOW_UI_ARTIFACTS`` (default: a ``ui-artifacts`` folder
under pytest's tmp path).
"""

import contextlib
import json
import os
import re
import secrets
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newsflow import demo
from tests.conftest import (
    AIRFLOW_ENV,
    DEMO,
    Logins,
    airflow_conn_uri,
    migrated_for_writer,
    serve_site,
    source_set_env,
    utc_now_with_room,
)
from tests.e2e.stack import (
    AIRFLOW,
    NIGHTLY_RUN,
    ROOM_BEFORE_NIGHTLY_RUN,
    ProcessGroups,
    api_healthy,
    free_port,
    query,
    sqlalchemy_url,
    wait_for,
)

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
USER = "newsflow-ui"
MY_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Ferry volunteers repaint the Quay Street landing | My notes</title>
<meta name="author" content="Sam Okafor"></head><body><article>
<h1>Ferry volunteers repaint the Quay Street landing</h1>
<p>Twelve volunteers spent Saturday repainting the Quay Street ferry landing in the
river authority's green, the first new coat since 2011, and replaced two rotten
benches with oak ones donated by the Millbrook sawmill.</p>
<p>"We wanted it to look cared for before the winter timetable starts," said Sam
Okafor, who organised the work through the Riverside residents' association.</p>
<p>The authority paid for the paint, about $900, and says it will repaint the
Millbrook landing in the spring if enough volunteers come forward again.</p>
</article></body></html>
"""


@dataclass
class Stack:
    """A running Airflow for the UI, with its databases and the demo inputs."""

    api: str
    password: str
    meta: str
    news: str
    drop: Path
    home: Path  # AIRFLOW_HOME: the task logs are under it
    now: datetime
    stories: dict[int, str]
    processes: ProcessGroups


@contextlib.contextmanager
def ui_stack(tmp_path: Path, create_database: Callable[..., str], processes: ProcessGroups,
             pg_logins: Logins, airflow_meta_template: str) -> Iterator[Stack]:
    """Start the stack: demo site (dated now), source set ``demo``, Airflow's components
    on a copy of the session's migrated metadata database."""
    now = utc_now_with_room(ROOM_BEFORE_NIGHTLY_RUN, NIGHTLY_RUN)
    site, server = serve_site(tmp_path / "site")
    base = site.url().rstrip("/")
    plan = demo.write_site(site.root, base, DEMO / "site", now)
    drop = tmp_path / "drop-root" / "demo-drop"
    shutil.copytree(DEMO / "drop", drop)
    demo.date_drop_files(drop, now)
    sets = tmp_path / "sets"
    sets.mkdir()
    # The demo set as include/sources/default.yaml has it, pointed at this site and copy;
    # the feed and the URL list name the same pages as the sitemap, so they are left out.
    (sets / "demo.yaml").write_text(
        "sources:\n"
        "  - {name: demo-drop, kind: folder, path: demo-drop, trust_canonical: true}\n"
        f"  - {{name: demo-sitemap, kind: sitemap, url: '{base}/sitemap.xml',"
        " trust_canonical: true}\n")
    tag = uuid.uuid4().hex[:10]
    meta = create_database(f"ui_airflow_{tag}", template=airflow_meta_template)
    news = create_database(f"ui_news_{tag}")
    writer = migrated_for_writer(news, pg_logins)
    api = f"http://127.0.0.1:{free_port()}"
    password = secrets.token_urlsafe(16)
    (tmp_path / "passwords.json").write_text(json.dumps({USER: password}))
    env = {
        **os.environ, **AIRFLOW_ENV,
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sqlalchemy_url(meta),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api}/execution/",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": api.rsplit(":", 1)[1],
        "AIRFLOW__API__BASE_URL": api,
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
        "AIRFLOW__API__SECRET_KEY": secrets.token_hex(32),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(tmp_path / "passwords.json"),
        "AIRFLOW_CONN_NEWS_DB": airflow_conn_uri(writer),
        **source_set_env(sets / "demo.yaml"),
        "NEWSFLOW_DROP_ROOT": str(drop.parent),
        "NEWSFLOW_REPORT_DIR": str(tmp_path / "reports"),
    }
    for component in ("api-server", "scheduler", "dag-processor"):
        processes.start(component, [AIRFLOW, component], env)
    try:
        wait_for(lambda: api_healthy(api), 300, processes, "the API server")
        wait_for(lambda: query(meta, "SELECT 1 FROM serialized_dag"
                                 " WHERE dag_id = 'news_ingest'") != [],
                  300, processes, "the parsed DAG")
        yield Stack(api, password, meta, news, drop, tmp_path / "airflow", now,
                    plan["stories"], processes)
    finally:
        server.shutdown()
        server.server_close()


def _runs(meta: str) -> list[tuple]:
    return query(meta, "SELECT run_id, run_type, state, data_interval_start FROM dag_run"
                  " WHERE dag_id = 'news_ingest' ORDER BY run_id")


def _all_finished(meta: str, run_type: str, count: int, processes: ProcessGroups) -> bool:
    """Whether ``count`` runs of the type are over; fails at once on a failed task."""
    failed = query(meta, "SELECT t.run_id, t.task_id, t.state FROM task_instance t JOIN"
                    " dag_run r USING (dag_id, run_id) WHERE r.run_type = %s AND t.state IN"
                    " ('failed', 'up_for_retry', 'upstream_failed')", (run_type,))
    assert not failed, f"tasks failed: {failed}\n{processes.all_tails(4000)}"
    states = query(meta, "SELECT state FROM dag_run WHERE dag_id = 'news_ingest'"
                    " AND run_type = %s", (run_type,))
    return len(states) >= count and all(state == "success" for (state,) in states)


def _loaded_by(news: str) -> dict[str, str]:
    """Each article's URL and the run (batch) that loaded it."""
    return dict(query(news, "SELECT url, batch_key FROM v_articles"))


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("NEWSFLOW_UI_ARTIFACTS") or tmp_path / "ui-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed"
                    " (apt-get install -y --no-install-recommends chromium; .ci/run does it)")
@pytest.mark.timeout(900 + ROOM_BEFORE_NIGHTLY_RUN.total_seconds())
def test_first_hour_in_the_ui_my_page_then_a_backfill_of_two_demo_days(
    create_database: Callable[..., str],  # noqa: F811 (the imported fixture)
    processes: ProcessGroups,  # noqa: F811
    pg_logins: Logins,
    airflow_meta_template: str,
    tmp_path: Path,
    artifacts: Path,
) -> None:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=60_000)  # a loaded machine renders slowly
    timings: dict[str, float] = {}
    began = time.monotonic()
    with ui_stack(tmp_path, create_database, processes, pg_logins,
                  airflow_meta_template) as stack, \
            sync_playwright() as playwright:
        timings["stack up"] = round(time.monotonic() - began, 1)
        browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                             args=["--no-sandbox", "--disable-gpu"])
        # Without a locale the UI may pick its language (and direction) from the machine.
        page = browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-US",
                                   timezone_id="UTC").new_page()
        page.set_default_timeout(60_000)
        shot = _shooter(page, artifacts)
        try:
            _first_hour(page, stack, shot, timings, expect)
        except Exception:
            shot("failure")
            (artifacts / "failure.html").write_text(page.content())
            raise
        finally:
            browser.close()
    timings["total"] = round(time.monotonic() - began, 1)
    print(f"\nUI e2e: screenshots in {artifacts}; timings (s): {json.dumps(timings)}")


def _shooter(page: object, folder: Path) -> Callable[[str], Path]:
    counter = iter(range(1, 100))

    def shot(name: str) -> Path:
        path = folder / f"{next(counter):02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return shot


def _first_hour(page: object, stack: Stack, shot: Callable[[str], Path],
                timings: dict[str, float], expect: object) -> None:
    meta, news, processes = stack.meta, stack.news, stack.processes
    # 1. Log in (the simple auth manager's form).
    started = time.monotonic()
    page.goto(stack.api + "/")
    page.get_by_label("Username").fill(USER)
    page.get_by_label("Password").fill(stack.password)
    shot("login")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"^(?!.*/auth/login)"))
    page.goto(stack.api + "/dags/news_ingest")
    trigger = page.get_by_role("button", name="Trigger Dag")
    expect(trigger).to_be_visible()

    # 2. Unpause (the switch beside the name): the nightly run of the last interval
    # starts at once (catchup is off) and takes last night's items.
    toggle = page.get_by_role("checkbox").first
    expect(toggle).not_to_be_checked()
    toggle.click(force=True)  # the input sits under its styled track
    expect(toggle).to_be_checked()
    wait_for(lambda: _all_finished(meta, "scheduled", 1, processes), 600, processes,
              "the nightly run")
    timings["login + nightly run"] = round(time.monotonic() - started, 1)
    loaded = _loaded_by(news)
    assert stack.stories[1] in loaded
    assert not {stack.stories[k] for k in range(2, 8)} & set(loaded)

    # 3. My own page, dropped now, then the trigger form with its defaults.
    started = time.monotonic()
    (stack.drop / "my-page.html").write_text(MY_PAGE)
    trigger.click()
    dialog = page.get_by_role("dialog").first
    dialog.get_by_text("Single Run", exact=True).click()
    expect(dialog.get_by_text("Logical Date", exact=True)).to_be_visible()
    shot("trigger-form-defaults")
    dialog.get_by_role("button", name="Trigger", exact=True).click()
    wait_for(lambda: _all_finished(meta, "manual", 1, processes), 600, processes,
              "the manual run")
    timings["manual run"] = round(time.monotonic() - started, 1)
    [(manual_run, interval_start)] = query(
        meta, "SELECT run_id, data_interval_start FROM dag_run WHERE run_type = 'manual'")
    # The form's default logical date gave it last night's interval...
    assert interval_start == demo.interval_of(stack.now, 1)[0]
    # ...and it took what was new: my page, loaded by this run.
    mine = query(news, "SELECT batch_key FROM v_articles WHERE title = %s",
                  ("Ferry volunteers repaint the Quay Street landing",))
    assert mine == [(manual_run,)]
    # The earlier days' stories are left to a backfill, and the log says so.
    assert not {stack.stories[k] for k in range(2, 8)} & set(_loaded_by(news))
    logs = list((stack.home / "logs").glob(
        f"dag_id=news_ingest/run_id={manual_run}/task_id=load/attempt=1.log"))
    assert logs and "dated before this interval — backfill to take them" in (
        logs[0].read_text())
    page.goto(stack.api + "/dags/news_ingest/runs")
    expect(page.get_by_text(manual_run).first).to_be_visible()
    shot("runs-after-manual-run")

    # 4. A backfill of two earlier days: Trigger → Backfill, From and To as dates.
    started = time.monotonic()
    days = {k: demo.interval_of(stack.now, k)[0] for k in (3, 2)}
    page.goto(stack.api + "/dags/news_ingest")
    page.get_by_role("button", name="Trigger Dag").click()
    dialog = page.get_by_role("dialog").first
    dialog.get_by_text("Backfill", exact=True).click()
    for day in (days[3], days[2]):  # From, then To: the first field still empty
        dialog.get_by_text("Select date and time").first.click()
        page.get_by_placeholder("YYYY/MM/DD").last.fill(f"{day:%Y/%m/%d}")
        dialog.get_by_text("Date Range", exact=True).click()  # closes the picker
    expect(dialog.get_by_text("2 runs will be triggered.")).to_be_visible()
    shot("backfill-form")
    dialog.get_by_role("button", name="Run Backfill").click()
    expect(page.get_by_text("Backfill in progress")).to_be_visible()
    shot("backfill-in-progress")
    wait_for(lambda: _all_finished(meta, "backfill", 2, processes), 600, processes,
              "the backfill")
    timings["backfill of 2 days"] = round(time.monotonic() - started, 1)
    loaded = _loaded_by(news)
    backfill_runs = {start.astimezone(UTC): run_id for run_id, kind, _, start in _runs(meta)
                     if kind == "backfill"}
    assert sorted(backfill_runs) == sorted(days.values())
    for k, day in days.items():
        # That day's story, loaded by that day's run, named by its end (the next 04:30).
        assert loaded[stack.stories[k]] == backfill_runs[day]
        assert backfill_runs[day] == f"backfill__{(day + timedelta(days=1)).isoformat()}"
    assert not {stack.stories[k] for k in (4, 5, 6, 7)} & set(loaded)
    page.goto(stack.api + "/dags/news_ingest/runs")
    expect(page.get_by_text(backfill_runs[days[2]]).first).to_be_visible()
    shot("runs-after-backfill")
