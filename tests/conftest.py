"""Shared fixtures: a real PostgreSQL (embedded or $NEWSFLOW_TEST_DSN), a real local HTTP server.

Airflow reads its configuration when first imported, so the environment it needs is set
here, before any test module imports it.
"""

import contextlib
import email.utils
import hashlib
import io
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.message import Message
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
DEMO_URLS = ROOT / "include" / "sources" / "demo-urls.txt"

AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="newsflow-test-airflow-"))
AIRFLOW_ENV = {
    "AIRFLOW_HOME": str(AIRFLOW_HOME),
    "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
    "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "XDG_RUNTIME_DIR": str(AIRFLOW_HOME / "run"),
}
os.environ.update(AIRFLOW_ENV)
# Politeness waits scaled down so the suite stays fast but spacing is still measurable;
# tests that measure spacing set their own values.
# The local servers of the tests listen on 127.0.0.1, which the deployment setting must
# allow (other loopback addresses stay refused, for the SSRF tests); drop folders live in
# the temporary folder.
for _name, _value in (("NEWSFLOW_HOST_INTERVAL", "0.02"), ("NEWSFLOW_RETRY_BACKOFF", "0.02"),
                      ("NEWSFLOW_MAX_RETRY_AFTER", "1"), ("NEWSFLOW_PRIVATE_HOSTS", "127.0.0.1"),
                      ("NEWSFLOW_DROP_ROOT", os.path.realpath(tempfile.gettempdir()))):
    os.environ.setdefault(_name, _value)
(AIRFLOW_HOME / "run").mkdir(mode=0o700)


def source_set_env(sources: Path) -> dict[str, str]:
    """The settings that make a sources file the default named set (its folder, its stem)."""
    return {"NEWSFLOW_SOURCES_DIR": str(sources.parent), "NEWSFLOW_SOURCE_SET": sources.stem}


def demo_drop(tmp_path: Path) -> Path:
    """A copy of the demo drop folder under the drop root (the temporary folder)."""
    copy = tmp_path / "demo-drop"
    if not copy.exists():
        shutil.copytree(DEMO / "drop", copy)
    return copy


def utc_now_with_room(room: timedelta, boundary: timedelta = timedelta(0)) -> datetime:
    """Now (UTC) once at least ``room`` is left before the next ``boundary`` (a time of
    day, as the time since midnight UTC), waiting past the boundary if need be.

    For tests that record rows now and check them per day (boundary midnight), or that
    date their inputs by the nightly interval Airflow will pick (boundary 04:30): a test
    that crossed the boundary would find its rows split over two days, or the scheduler
    in the next interval. ``room`` is what the test needs up to its last dependent step
    on a slow machine, with a margin.
    """
    while True:
        now = datetime.now(UTC)
        next_boundary = datetime(now.year, now.month, now.day, tzinfo=UTC) + boundary
        if next_boundary <= now:
            next_boundary += timedelta(days=1)
        left = next_boundary - now
        if left >= room:
            return now
        time.sleep(min(left.total_seconds() + 0.5, 10))


def utc_day_with_room(room: timedelta) -> date:
    """Today (UTC) once at least ``room`` of it is left (``utc_now_with_room``)."""
    return utc_now_with_room(room).date()


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


@contextlib.contextmanager
def fresh_database(pg_admin_dsn: str, prefix: str) -> Iterator[str]:
    """A new, empty database on the test server, dropped on exit; yields its DSN."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
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


@dataclass(frozen=True)
class Logins:
    """This session's logins in the three group roles (roles belong to the whole server)."""

    owner: str
    writer: str
    reader: str
    password: str

    def dsn(self, dsn: str, login: str) -> str:
        """``dsn`` with ``login`` and its password in place of the administrator."""
        return make_dsn(dsn, user=login, password=self.password)


@pytest.fixture(scope="session")
def pg_logins(pg_admin_dsn: str) -> Iterator[Logins]:
    """An owner, a writer and a reader login, made by the server's administrator.

    Named per session, so that sessions sharing a server ($NEWSFLOW_TEST_DSN) do not change
    each other's passwords; dropped at the end where nothing depends on them any more.
    """
    from newsflow import storage

    prefix = f"newsflow_test_{uuid.uuid4().hex[:8]}"
    logins = Logins(f"{prefix}_owner", f"{prefix}_writer", f"{prefix}_reader",
                    uuid.uuid4().hex)
    admin = psycopg2.connect(pg_admin_dsn)
    for login, group in ((logins.owner, storage.OWNER), (logins.writer, storage.WRITER),
                         (logins.reader, storage.READER)):
        storage.create_login(admin, login, group, logins.password)
    yield logins
    admin.autocommit = True
    with admin.cursor() as cur:
        for login in (logins.owner, logins.writer, logins.reader):
            with contextlib.suppress(psycopg2.Error):
                cur.execute(f'DROP ROLE IF EXISTS "{login}"')
    admin.close()


@pytest.fixture
def news_dsn(pg_admin_dsn: str) -> Iterator[str]:
    """A fresh, empty database for one test, dropped afterwards (the administrator's DSN)."""
    with fresh_database(pg_admin_dsn, "newsflow_test") as dsn:
        yield dsn


def migrated_for_writer(admin_dsn: str, logins: Logins) -> str:
    """Apply the migrations to a database as its administrator; returns the writer's DSN."""
    from newsflow import storage

    conn = storage.connect(admin_dsn)
    try:
        storage.apply_migrations(conn)
    finally:
        conn.close()
    return logins.dsn(admin_dsn, logins.writer)


@pytest.fixture
def writer_dsn(news_dsn: str, pg_logins: Logins) -> str:
    """The fresh database with the schema applied, as the pipeline's writer login."""
    return migrated_for_writer(news_dsn, pg_logins)


@pytest.fixture
def news_conn(writer_dsn: str) -> Iterator[object]:
    """A connection to a fresh database with the schema applied, as the pipeline's writer."""
    from newsflow import storage

    conn = storage.connect(writer_dsn)
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


# Host spacing is exact in PostgreSQL's clock; what a server sees also carries each request's
# thread wake-up and send latency, tens of milliseconds on a busy machine (a fetch thread
# waits for the GIL while another parses a page: 35 ms seen). A missing spacing shows as
# gaps near zero, far below this.
SPACING_JITTER = 0.05


@dataclass
class Reply:
    """A scripted HTTP answer of a LocalSite route."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # Seconds to pause before each 1 KB of the body (a slow server).
    chunk_delay: float = 0.0


# A route answers with one Reply, a list of Replies (one per request, the last repeated)
# or a function of the request headers.
Route = Reply | list[Reply] | Callable[[dict[str, str]], Reply]


@dataclass
class LocalSite:
    """A real HTTP server on a loopback address serving a folder plus scripted routes.

    Every request's path, headers and arrival time (``time.monotonic()``) are recorded,
    so tests check what was asked and how far apart from the server's side.
    """

    root: Path
    host: str = "127.0.0.1"
    port: int = 0
    requests: list[str] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    routes: dict[str, Route] = field(default_factory=dict)

    def url(self, path: str = "") -> str:
        return f"http://{self.host}:{self.port}/{path.lstrip('/')}"

    def route(self, path: str, answer: Route) -> str:
        """Answer GET ``path`` with ``answer``; returns the route's URL."""
        self.routes["/" + path.lstrip("/")] = answer
        return self.url(path)

    def hits(self, path: str) -> list[float]:
        """Arrival times of the requests for ``path``."""
        path = "/" + path.lstrip("/")
        return [t for p, t in zip(self.requests, self.times, strict=True) if p == path]

    def _reply(self, path: str, headers: dict[str, str]) -> Reply | None:
        answer = self.routes.get(path)
        if answer is None:
            return None
        if isinstance(answer, list):
            served = sum(1 for p in self.requests[:-1] if p == path)
            return answer[min(served, len(answer) - 1)]
        return answer(headers) if callable(answer) else answer


def _unchanged(headers: Message, etag: str, modified: float) -> bool:
    """Whether a conditional GET of a file with ``etag``, modified at ``modified``
    (seconds since the epoch), is answered 304: by If-None-Match when the request has one,
    else by If-Modified-Since to the second (all HTTP dates can say)."""
    if headers.get("If-None-Match") is not None:
        tags = [tag.strip() for tag in headers["If-None-Match"].split(",")]
        return etag in tags or "*" in tags
    try:
        since = email.utils.parsedate_to_datetime(headers.get("If-Modified-Since", ""))
    except (TypeError, IndexError, OverflowError, ValueError):
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return datetime.fromtimestamp(int(modified), UTC) <= since


def serve_site(root: Path, host: str = "127.0.0.1") -> tuple[LocalSite, ThreadingHTTPServer]:
    """Start a LocalSite on ``host`` (any 127.0.0.0/8 address works on Linux)."""
    site = LocalSite(root, host)
    site.root.mkdir(parents=True, exist_ok=True)

    class Handler(SimpleHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(site.root), **kwargs)

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            site.requests.append(self.path)
            site.headers.append(dict(self.headers))
            site.times.append(time.monotonic())
            reply = site._reply(self.path, dict(self.headers))
            if reply is None:
                super().do_GET()
                return
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            for start in range(0, len(reply.body), 1024):
                if reply.chunk_delay:
                    time.sleep(reply.chunk_delay)
                try:
                    self.wfile.write(reply.body[start : start + 1024])
                    self.wfile.flush()
                except OSError:
                    return  # the client stopped reading

        def send_head(self) -> io.BytesIO | None:
            """A file of the folder with an ETag of its bytes; If-None-Match honoured.

            Last-Modified counts whole seconds: a file a test rewrites within the second
            of the last fetch would be answered 304 by If-Modified-Since alone (a fast
            machine fetches, rewrites and fetches again within one second). An ETag of
            the content changes with every change of the bytes, and a request carrying
            If-None-Match is answered by it alone (RFC 9110, 13.2.2), as nginx or Apache
            would. Folders (listings, redirects) are left to http.server.
            """
            path = self.translate_path(self.path)
            if not os.path.isfile(path) or path.endswith("/"):
                return super().send_head()
            try:
                with open(path, "rb") as file:
                    data, modified = file.read(), os.fstat(file.fileno()).st_mtime
            except OSError:
                return super().send_head()
            etag = f'"{hashlib.sha256(data).hexdigest()[:32]}"'
            if _unchanged(self.headers, etag, modified):
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return None
            self.send_response(200)
            self.send_header("Content-Type", self.guess_type(path))
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Last-Modified", self.date_time_string(modified))
            self.send_header("ETag", etag)
            self.end_headers()
            return io.BytesIO(data)

        def log_message(self, format: str, *args: object) -> None:
            """Keep test output quiet; requests are in ``site.requests``."""

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: object, client_address: object) -> None:
            """Clients that hang up (body cap, time limit) are expected, not errors."""
            if not isinstance(sys.exc_info()[1], ConnectionError):
                super().handle_error(request, client_address)

    server = Server((host, 0), Handler)
    site.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return site, server


@pytest.fixture
def local_site(tmp_path: Path) -> Iterator[LocalSite]:
    """Serve ``tmp_path / "site"`` (tests fill it) on an ephemeral port of 127.0.0.1."""
    site, server = serve_site(tmp_path / "site")
    yield site
    server.shutdown()
    server.server_close()
