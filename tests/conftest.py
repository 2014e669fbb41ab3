"""Shared fixtures: a real PostgreSQL (embedded or $NEWSFLOW_TEST_DSN), a real local HTTP server.

Airflow reads its configuration when first imported, so the environment it needs is set
here, before any test module imports it.
"""

import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import psycopg2
import pytest
from psycopg2.extensions import make_dsn, parse_dsn

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
DEMO = ROOT / "include" / "demo"
SEED = DEMO / "drop" / "000_6b0885ebeeff3833.txt"

AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="newsflow-test-airflow-"))
AIRFLOW_ENV = {
    "AIRFLOW_HOME": str(AIRFLOW_HOME),
    "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
    "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "XDG_RUNTIME_DIR": str(AIRFLOW_HOME / "run"),
}
os.environ.update(AIRFLOW_ENV)
(AIRFLOW_HOME / "run").mkdir(mode=0o700)


@pytest.fixture(scope="session", autouse=True)
def _remove_airflow_home() -> Iterator[None]:
    yield
    shutil.rmtree(AIRFLOW_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_admin_dsn() -> Iterator[str]:
    """A DSN with the right to create databases: $NEWSFLOW_TEST_DSN or an embedded server."""
    if os.environ.get("NEWSFLOW_TEST_DSN"):
        yield os.environ["NEWSFLOW_TEST_DSN"]
        return
    from newsflow import dbserver

    # Not under pytest's tmp root: a later pytest session resets that to mode 0700, which
    # locks out the server's own system user when running as root.
    parent = Path(tempfile.mkdtemp(prefix="newsflow-test-pg-"))
    pgdata = parent / "data"
    socket_dir = dbserver.start(pgdata, databases=())
    yield dbserver.dsn(socket_dir, "postgres")
    dbserver.stop(pgdata)
    shutil.rmtree(parent, ignore_errors=True)


@pytest.fixture
def news_dsn(pg_admin_dsn: str) -> Iterator[str]:
    """A fresh, empty database for one test, dropped afterwards."""
    name = f"newsflow_test_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(pg_admin_dsn)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_dsn(pg_admin_dsn, dbname=name)
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def news_conn(news_dsn: str) -> Iterator[object]:
    """A psycopg2 connection to a fresh database with the schema applied."""
    from newsflow import storage

    conn = storage.connect(news_dsn)
    storage.apply_migrations(conn)
    yield conn
    conn.close()


def airflow_conn_uri(dsn: str) -> str:
    """The DSN as a URI Airflow's connection parser and PostgresHook accept."""
    params = parse_dsn(dsn)
    host = params.get("host", "")
    auth = quote(params.get("user", "postgres"), safe="")
    if params.get("password"):
        auth += ":" + quote(params["password"], safe="")
    query = []
    if host.startswith("/"):
        netloc = ""
        query.append(f"host={quote(host, safe='')}")
    else:
        netloc = host + (f":{params['port']}" if params.get("port") else "")
    uri = f"postgresql://{auth}@{netloc}/{params['dbname']}"
    return uri + ("?" + "&".join(query) if query else "")


@dataclass
class LocalSite:
    """A real HTTP server on 127.0.0.1 serving a folder, with its request paths and headers."""

    root: Path
    port: int = 0
    requests: list[str] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"


@pytest.fixture
def local_site(tmp_path: Path) -> Iterator[LocalSite]:
    """Serve ``tmp_path / "site"`` (tests fill it) on an ephemeral port of 127.0.0.1."""
    site = LocalSite(tmp_path / "site")
    site.root.mkdir()

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(site.root), **kwargs)

        def log_request(self, code: object = "-", size: object = "-") -> None:
            site.requests.append(self.path)
            site.headers.append(dict(self.headers))

        def log_message(self, format: str, *args: object) -> None:
            """Keep test output quiet; requests are in ``site.requests``."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    site.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield site
    server.shutdown()
    server.server_close()
