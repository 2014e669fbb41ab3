"""The e2e tests' fixtures: each test's processes and databases, and Airflow's metadata
schema, migrated once per session.

``airflow db migrate`` of an empty database costs each test 5 CPU s and more (15 s and more
on a loaded machine); the schema depends only on the Airflow version. So it runs once, into
a PostgreSQL database the tests clone (``CREATE DATABASE ... TEMPLATE``) and into a SQLite
file the ``airflow dags test`` checks copy. Every test still runs on a schema that
``airflow db migrate`` made, in a database of its own.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg2
import pytest
from psycopg2.extensions import make_dsn

from tests.conftest import AIRFLOW_ENV, ROOT
from tests.e2e.stack import AIRFLOW, ProcessGroups, sqlalchemy_url


def _migrate(env: dict[str, str]) -> None:
    result = subprocess.run([AIRFLOW, "db", "migrate"], env={**os.environ, **AIRFLOW_ENV, **env},
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.fixture(scope="session")
def airflow_meta_template(pg_admin_dsn: str, tmp_path_factory: pytest.TempPathFactory,
                          ) -> Iterator[str]:
    """The name of a PostgreSQL database holding a freshly migrated Airflow schema, to be
    cloned (``create_database(name, template=...)``); no process stays connected to it."""
    name = f"airflow_meta_template_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(pg_admin_dsn)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        dsn = make_dsn(pg_admin_dsn, dbname=name)
        _migrate({"AIRFLOW_HOME": str(tmp_path_factory.mktemp("airflow-template")),
                  "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sqlalchemy_url(dsn)})
        yield name
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(scope="session")
def _airflow_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("airflow-sqlite-template")
    _migrate({"AIRFLOW_HOME": str(home)})
    return home / "airflow.db"


@pytest.fixture
def migrated_airflow_home(_airflow_sqlite_template: Path, tmp_path: Path) -> Path:
    """An ``AIRFLOW_HOME`` for this test whose SQLite metadata database is already migrated
    (a copy of the session's), as ``airflow db migrate`` would leave it."""
    home = tmp_path / "airflow"
    home.mkdir()
    shutil.copy(_airflow_sqlite_template, home / "airflow.db")
    return home


@pytest.fixture
def processes(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[ProcessGroups]:
    """The test's processes; after a failure their logs are kept (the path is printed)."""
    groups = ProcessGroups(tmp_path)
    failed_before = request.session.testsfailed
    try:
        yield groups
    finally:
        groups.close()
        if request.session.testsfailed > failed_before:
            kept = Path(tempfile.mkdtemp(prefix="newsflow-e2e-logs-"))
            for log in tmp_path.glob("*.log"):
                shutil.copy(log, kept)
            print(f"e2e test failed; component logs kept in {kept}", file=sys.stderr)


@pytest.fixture
def create_database(pg_admin_dsn: str, processes: ProcessGroups) -> Iterator[Callable]:
    """Create databases for this test (``create(name, template=None)`` returns a DSN);
    they are dropped once the processes using them are gone."""
    names: list[str] = []

    def create(name: str, template: str | None = None) -> str:
        conn = psycopg2.connect(pg_admin_dsn)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"'
                        + (f' TEMPLATE "{template}"' if template else ""))
        conn.close()
        names.append(name)
        return make_dsn(pg_admin_dsn, dbname=name)

    yield create
    processes.close()
    conn = psycopg2.connect(pg_admin_dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        for name in reversed(names):
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()
