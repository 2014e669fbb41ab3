"""news_ingest scaled out on Airflow's CeleryExecutor, for real, on this machine.

One Airflow deployment in miniature: a real Redis as the Celery broker, Airflow's metadata
in a real PostgreSQL, the API server (the task SDK's execution API), a scheduler, a DAG
processor and two ``airflow celery worker`` processes that report different host names.
``news_ingest`` runs over a local feed site and a drop folder. A cluster policy routes the
stages on the default queue alternately to the two workers, so each hand-off between them
changes worker; the test then asserts, from Airflow's metadata and each worker's own log,
where every task ran, and that the news database holds the same rows (every table,
run-specific values aside) as a LocalExecutor run (``airflow dags test``) of the same
interval into a second database. That proves no task depends on files another task left
on its machine. Last, docker-compose.yaml's health checks for the scheduler, the DAG
processor and the workers run against these real processes.

The task list comes from the API server, not from this file, so new stages are covered as
they are added. ``make celery-check`` runs this file alone, with timings.
Broker: ``$NEWSFLOW_CHECK_REDIS_URL``, else the Redis on 127.0.0.1:6379 (database 15),
else a ``redis-server`` this test starts. Queue names are unique per run, so two checks
sharing one Redis never take each other's tasks.
"""

import json
import os
import secrets
import shlex
import shutil
import socket
import subprocess
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from airflow.utils.net import get_hostname

from tests.conftest import (
    AIRFLOW_ENV,
    DEMO,
    ROOT,
    LocalSite,
    Logins,
    airflow_conn_uri,
    migrated_for_writer,
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
from tests.warc_fixtures import HOSTS, write_days

pytestmark = pytest.mark.e2e

DAG_ID = "news_ingest"
WORKERS = ("worker-a", "worker-b")
# Values that differ between two runs of the same input by nature, not by mistake.
# window_key too: the LocalExecutor run (`airflow dags test`) is a manual run, which
# records what it takes under its own name; the Celery run is the scheduled one.
VOLATILE_COLUMNS = {"batch_key", "elapsed_ms", "window_key"}
# Must the check run? `make celery-check` sets it, so a missing Redis fails instead of skipping.
REQUIRED = os.environ.get("NEWSFLOW_CELERY_CHECK") == "1"
RUN_TIMEOUT = 300  # seconds for the Celery DAG run once the stack is up

# The task SDK reports ti.hostname from [core] hostname_callable; two workers on one machine
# need different names, as two containers have.
HOSTNAME_MODULE = '''\
"""Worker identity for the Celery check: the name in $NEWSFLOW_CHECK_WORKER."""
import os


def hostname() -> str:
    return os.environ["NEWSFLOW_CHECK_WORKER"]
'''

# A cluster policy (Airflow's own routing hook) for the check's deployment only: tasks on the
# default queue alternate between a queue only worker A serves and one only worker B serves,
# by their depth in the DAG, so every hand-off from one stage to the next changes machine.
# Tasks routed elsewhere (the enrichment queue) keep their queue.
POLICY_MODULE = '''\
"""Cluster policy for the Celery check: consecutive stages run on different workers."""
import os


def dag_policy(dag):
    default = os.environ["AIRFLOW__OPERATORS__DEFAULT_QUEUE"]
    depth = {}
    for task in dag.topological_sort():
        depth[task.task_id] = max((depth[up] + 1 for up in task.upstream_task_ids), default=0)
        if task.queue == default:
            task.queue = default + ("-a" if depth[task.task_id] % 2 == 0 else "-b")
'''


def _timed(label: str, started: float, timings: dict[str, float]) -> None:
    timings[label] = round(time.monotonic() - started, 1)


def _redis_answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture
def redis_url(processes: ProcessGroups) -> str:
    """A Redis to use as the broker; see the module docstring for the order tried."""
    if os.environ.get("NEWSFLOW_CHECK_REDIS_URL"):
        return os.environ["NEWSFLOW_CHECK_REDIS_URL"]
    if _redis_answers("127.0.0.1", 6379):
        return "redis://127.0.0.1:6379/15"
    server = shutil.which("redis-server")
    if not server:
        message = "no Redis on 127.0.0.1:6379 and no redis-server to start"
        if REQUIRED:
            pytest.fail(message)
        pytest.skip(message)
    port = free_port()
    processes.start("redis", [server, "--port", str(port), "--bind", "127.0.0.1",
                              "--save", "", "--appendonly", "no"], dict(os.environ))
    wait_for(lambda: _redis_answers("127.0.0.1", port), 30, processes, "Redis")
    return f"redis://127.0.0.1:{port}/0"


@pytest.fixture
def queue(redis_url: str, processes: ProcessGroups) -> Iterator[str]:
    """This run's default queue name; its keys leave the broker with the workers."""
    name = f"newsflow-check-{uuid.uuid4().hex[:10]}"
    yield name
    processes.close()
    import redis

    broker = redis.Redis.from_url(redis_url)
    for key in broker.scan_iter(f"*{name}*"):
        broker.delete(key)
    broker.close()


def _write_inputs(site: LocalSite, tmp_path: Path) -> Path:
    """A feed with the demo articles, a 404 and a PDF; the demo drop folder; WARC files; their
    sources file."""
    shutil.copytree(DEMO / "site" / "articles", site.root / "articles")
    (site.root / "report.pdf").write_bytes(b"%PDF-1.4\n%binary report\n")
    links = sorted(f"articles/{page.name}" for page in (site.root / "articles").iterdir())
    links += ["articles/missing.html", "report.pdf"]
    items = "".join(f"<item><title>item {n}</title><link>{site.url(link)}</link></item>"
                    for n, link in enumerate(links))
    (site.root / "feed.xml").write_text(
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Check</title>{items}'
        "</channel></rss>"
    )
    drop = tmp_path / "drop"
    shutil.copytree(DEMO / "drop", drop)
    (drop / "scan.pdf").write_bytes(b"%PDF-1.4")
    # CC-NEWS-style WARC files of the interval the unpaused DAG runs (the latest one that
    # has ended: 04:30 to 04:30 UTC), so read_warc has task instances to place too.
    now = utc_now_with_room(ROOM_BEFORE_NIGHTLY_RUN, NIGHTLY_RUN)
    end = now.replace(hour=4, minute=30, second=0, microsecond=0)
    end -= timedelta(days=1) if end > now else timedelta(0)
    warcs = write_days(tmp_path / "warc", end - timedelta(days=1))
    # The dropped files are dated in it too: the scheduled run takes them, and so does the
    # manual one (`airflow dags test`), which also takes what came after its interval.
    dropped_at = (end - timedelta(hours=12)).timestamp()
    for path in drop.iterdir():
        os.utime(path, (dropped_at, dropped_at))
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        "sources:\n"
        f"  - {{name: drop, kind: folder, path: '{drop}'}}\n"
        f"  - {{name: feed, kind: feed, url: '{site.url('feed.xml')}'}}\n"
        f"  - {{name: archive, kind: warc, path: '{warcs.folder}', hosts: {HOSTS}}}\n"
    )
    return sources


def _api(base: str, method: str, path: str, body: dict, token: str | None = None) -> dict:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(base + path, data=json.dumps(body).encode(),
                                     headers=headers, method=method)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"{}")


def _snapshot(dsn: str) -> dict[str, Counter]:
    """Every table of the news database as a multiset of rows, minus run-specific values.

    Left out: timestamps, serial ids and the foreign keys holding them (numbering may
    differ between databases), and ``VOLATILE_COLUMNS``.
    """
    tables = [row[0] for row in query(dsn, """
        SELECT table_name FROM information_schema.tables
        WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1""")]
    skipped = query(dsn, """
        SELECT c.table_name, c.column_name FROM information_schema.columns c
        WHERE c.table_schema = 'public'
          AND (c.data_type LIKE 'timestamp%%' OR c.column_default LIKE 'nextval(%%'
               OR c.is_identity = 'YES')
        UNION
        SELECT k.table_name, k.column_name
        FROM information_schema.key_column_usage k
        JOIN information_schema.table_constraints t USING (constraint_schema, constraint_name)
        WHERE t.constraint_type = 'FOREIGN KEY' AND k.table_schema = 'public'""")
    snapshot = {}
    for table in tables:
        drop = {column for name, column in skipped if name == table} | VOLATILE_COLUMNS
        minus = "".join(f" - '{column}'" for column in sorted(drop))
        rows = query(dsn, f'SELECT (to_jsonb(t){minus})::text FROM "{table}" t')
        snapshot[table] = Counter(row[0] for row in rows)
    return snapshot


def _diff(celery: dict[str, Counter], local: dict[str, Counter]) -> list[str]:
    """Rows only one run left, each with the columns that differ from its nearest other row."""
    problems = []
    for table in sorted(set(celery) | set(local)):
        only_celery = celery.get(table, Counter()) - local.get(table, Counter())
        only_local = local.get(table, Counter()) - celery.get(table, Counter())
        others = [json.loads(row) for row in only_local.elements()]
        for text in only_celery.elements():
            row = json.loads(text)
            nearest = max(others, default={}, key=lambda other: sum(
                other.get(key) == value for key, value in row.items()))
            differing = {key: (str(row.get(key))[:200], str(nearest.get(key))[:200])
                         for key in sorted(set(row) | set(nearest))
                         if row.get(key) != nearest.get(key)}
            problems.append(f"{table}: (Celery, LocalExecutor) differ in {differing}")
        if len(others) > sum(only_celery.values()):
            problems.append(f"{table}: {len(others) - sum(only_celery.values())} more rows"
                            " after the LocalExecutor run")
    return problems


def _api_get(base: str, path: str, token: str) -> dict:
    request = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _compose_healthcheck(service: str, replacements: dict[str, str]) -> str:
    """A service's health check command from docker-compose.yaml, adapted to this machine."""
    test = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())["services"][service][
        "healthcheck"]["test"]
    command = test[1] if test[0] == "CMD-SHELL" else shlex.join(test[1:])
    for old, new in replacements.items():
        assert old in command, (service, old, command)
        command = command.replace(old, new)
    return command


def _runs(meta_dsn: str) -> list[tuple]:
    """The DAG's runs: run id and data interval."""
    return query(meta_dsn, "SELECT run_id, data_interval_start, data_interval_end"
                  " FROM dag_run WHERE dag_id = %s", (DAG_ID,))


def _run_finished(meta_dsn: str, run_id: str, processes: ProcessGroups) -> bool:
    """Whether the run is over; fails at once when a task fails instead of waiting for retries."""
    failed = query(meta_dsn, "SELECT task_id, state, hostname FROM task_instance"
                    " WHERE run_id = %s AND state IN ('up_for_retry', 'failed')", (run_id,))
    assert not failed, f"tasks failed: {failed}\n" + "\n".join(
        processes.tail(name) for name in WORKERS)
    state = query(meta_dsn, "SELECT state FROM dag_run WHERE run_id = %s", (run_id,))
    return state[0][0] in ("success", "failed")


@pytest.mark.timeout(900 + ROOM_BEFORE_NIGHTLY_RUN.total_seconds())
def test_news_ingest_on_two_celery_workers_loads_what_local_executor_loads(
    create_database: Callable[..., str], local_site: LocalSite, tmp_path: Path,
    processes: ProcessGroups, redis_url: str, queue: str, pg_logins: Logins,
    airflow_meta_template: str,
) -> None:
    timings: dict[str, float] = {}
    started_all = started = time.monotonic()
    tag = queue.rsplit("-", 1)[1]
    enrich_queue = f"{queue}-enrichment"
    # Each serves the default queue, as general workers do, and its own queue of the
    # policy's alternation (POLICY_MODULE); B also the enrichment queue.
    served = {WORKERS[0]: {queue, f"{queue}-a"},
              WORKERS[1]: {queue, f"{queue}-b", enrich_queue}}
    meta_local = create_database(f"check_airflow_{tag}", template=airflow_meta_template)
    news_celery = create_database(f"check_news_celery_{tag}")
    news_local = create_database(f"check_news_local_{tag}")
    # Migrated at deployment, as the administrator; the pipeline connects as the writer.
    writer_celery = migrated_for_writer(news_celery, pg_logins)
    writer_local = migrated_for_writer(news_local, pg_logins)
    # Both runs read the same sources from the setting, as a scheduled run does.
    common = {
        **os.environ, **AIRFLOW_ENV,
        **source_set_env(_write_inputs(local_site, tmp_path)),
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue,
        "NEWSFLOW_ENRICH_QUEUE": enrich_queue,
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
        "AIRFLOW__API__SECRET_KEY": secrets.token_hex(32),
    }
    local_env = {
        **common,
        "AIRFLOW_HOME": str(tmp_path / "airflow-local"),
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sqlalchemy_url(meta_local),
        "AIRFLOW_CONN_NEWS_DB": airflow_conn_uri(writer_local),
    }
    # The Celery deployment's metadata database: another copy of the session's freshly
    # migrated one (tests/e2e/conftest.py).
    meta = create_database(f"check_airflow_celery_{tag}", template=airflow_meta_template)
    _timed("metadata databases copied", started, timings)

    started = time.monotonic()
    api = f"http://127.0.0.1:{free_port()}"
    password = secrets.token_urlsafe(16)
    (tmp_path / "passwords.json").write_text(json.dumps({"newsflow-check": password}))
    (tmp_path / "identity").mkdir()
    (tmp_path / "identity" / "newsflow_check_host.py").write_text(HOSTNAME_MODULE)
    celery_env = {
        **common,
        "AIRFLOW_HOME": str(tmp_path / "airflow-celery"),
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sqlalchemy_url(meta),
        "AIRFLOW__CELERY__BROKER_URL": redis_url,
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + sqlalchemy_url(meta),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api}/execution/",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": api.rsplit(":", 1)[1],
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "True",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(free_port()),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "newsflow-check:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(tmp_path / "passwords.json"),
        "AIRFLOW_CONN_NEWS_DB": airflow_conn_uri(writer_celery),
    }
    (tmp_path / "airflow-celery" / "config").mkdir(parents=True)
    (tmp_path / "airflow-celery" / "config" / "airflow_local_settings.py").write_text(
        POLICY_MODULE)
    for component in ("api-server", "scheduler", "dag-processor"):
        processes.start(component, [AIRFLOW, component], celery_env)
    for name in WORKERS:
        worker_env = {
            **celery_env,
            "NEWSFLOW_CHECK_WORKER": name,
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "newsflow_check_host.hostname",
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(tmp_path / "identity"), os.environ.get("PYTHONPATH")])),
            # Each worker serves its task logs on a port of its own.
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        }
        processes.start(name, [
            AIRFLOW, "celery", "worker", "--celery-hostname", f"{name}@%h",
            "--queues", ",".join(sorted(served[name])), "--concurrency", "2",
        ], worker_env)
    wait_for(lambda: api_healthy(api), 300, processes, "the API server")
    wait_for(lambda: query(meta, "SELECT 1 FROM serialized_dag WHERE dag_id = %s",
                             (DAG_ID,)), 300, processes, "the parsed DAG")
    _timed("Celery deployment up, DAG parsed", started, timings)

    # Unpausing makes the scheduler start the latest interval's run (catchup is off).
    started = time.monotonic()
    token = _api(api, "POST", "/auth/token",
                 {"username": "newsflow-check", "password": password})["access_token"]
    _api(api, "PATCH", f"/api/v2/dags/{DAG_ID}", {"is_paused": False}, token)
    wait_for(lambda: _runs(meta), 120, processes, "the scheduled run")
    ((run_id, interval_start, interval_end),) = _runs(meta)
    # The LocalExecutor run of the same interval, into the other database, meanwhile.
    local_started = time.monotonic()
    # For a manual run at the end of an interval, Airflow infers that same interval.
    processes.run("local-run", [AIRFLOW, "dags", "test", DAG_ID, interval_end.isoformat()],
                  local_env)
    assert [run[1:] for run in _runs(meta_local)] == [(interval_start, interval_end)]
    _timed("LocalExecutor run (airflow dags test)", local_started, timings)
    try:
        wait_for(lambda: _run_finished(meta, run_id, processes), RUN_TIMEOUT, processes,
                  f"the Celery run {run_id}")
    except AssertionError as error:
        states = query(meta, "SELECT task_id, state, queue, hostname FROM task_instance"
                        " WHERE run_id = %s", (run_id,))
        raise AssertionError(f"task instances: {states}\n{error}") from None
    _timed("Celery run, from unpause", started, timings)

    assert query(meta, "SELECT state FROM dag_run WHERE run_id = %s", (run_id,)) == [
        ("success",)]
    tasks = query(meta, "SELECT task_id, state, hostname, queue, external_executor_id"
                   " FROM task_instance WHERE run_id = %s ORDER BY start_date", (run_id,))
    dag_tasks = _api_get(api, f"/api/v2/dags/{DAG_ID}/tasks", token)["tasks"]
    assert {task_id for task_id, *_ in tasks} == {task["task_id"] for task in dag_tasks}
    assert all(state == "success" for _, state, *_ in tasks), tasks
    for task_id, _, hostname, task_queue, celery_task_id in tasks:
        assert hostname in served, f"{task_id} ran on {hostname!r}, not on a check worker"
        assert task_queue in served[hostname], f"{task_id} ({task_queue}) ran on {hostname}"
        # The worker's own log confirms it received that Celery task.
        received = f"execute_workload[{celery_task_id}] received"
        assert received in processes.tail(hostname, chars=10**7), (task_id, hostname)
    ran_on = Counter(hostname for _, _, hostname, *_ in tasks)
    assert set(ran_on) == set(WORKERS), f"tasks ran on {dict(ran_on)} only"

    # docker-compose.yaml's health checks, run against these real components.
    started = time.monotonic()
    host = socket.gethostname()
    scheduler_port = celery_env["AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT"]
    checks = [
        ("airflow-scheduler", {"localhost:8974": f"127.0.0.1:{scheduler_port}"}),
        # The name the DAG processor's job recorded: Airflow's default hostname_callable.
        ("airflow-dag-processor", {"$${HOSTNAME}": get_hostname()}),
    ] + [("airflow-worker", {"celery@$${HOSTNAME}": f"{name}@{host}"}) for name in WORKERS]
    for service, replacements in checks:
        command = _compose_healthcheck(service, replacements)
        result = subprocess.run(
            ["bash", "-c", command], capture_output=True, text=True, timeout=120,
            env={**celery_env, "PATH": f"{Path(AIRFLOW).parent}{os.pathsep}{os.environ['PATH']}"})
        assert result.returncode == 0, (service, command, result.stdout + result.stderr[-2000:])
    _timed("compose health checks", started, timings)

    celery_rows, local_rows = _snapshot(news_celery), _snapshot(news_local)
    assert celery_rows["articles"], "the Celery run loaded no articles: " + "\n".join(
        celery_rows["rejects"] + celery_rows["batch_items"])
    differences = _diff(celery_rows, local_rows)
    assert not differences, "\n".join(differences)
    articles = "SELECT article_key, fields_sha256 FROM articles ORDER BY 1"
    assert query(news_celery, articles) == query(news_local, articles)

    _timed("total", started_all, timings)
    placement = ", ".join(f"{task_id}@{host}" for task_id, _, host, *_ in tasks)
    rows = sum(sum(table.values()) for table in celery_rows.values())
    print(f"\ncelery check: run {run_id}, broker {redis_url}")
    print(f"celery check: {len(tasks)} tasks, {dict(ran_on)}: {placement}")
    host_of = {task_id: host for task_id, _, host, *_ in tasks}
    handoffs = [(task["task_id"], down) for task in dag_tasks
                for down in task["downstream_task_ids"]]
    crossing = sum(host_of[up] != host_of[down] for up, down in handoffs)
    print(f"celery check: {crossing} of {len(handoffs)} hand-offs changed worker")
    enrichment = [task_id for task_id, _, _, task_queue, _ in tasks if task_queue == enrich_queue]
    print(f"celery check: on the enrichment queue (worker-b only): {enrichment or 'no task'}")
    print(f"celery check: {len(celery_rows)} tables, {rows} rows, equal to the LocalExecutor run")
    print("celery check timings (s): " + json.dumps(timings))
