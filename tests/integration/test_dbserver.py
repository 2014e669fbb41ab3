"""The embedded PostgreSQL that `make run` uses: start, stop, start again on the same data."""

import shutil
import tempfile
from pathlib import Path

import psycopg2

from newsflow import dbserver


def test_embedded_server_keeps_its_data_across_restarts() -> None:
    parent = Path(tempfile.mkdtemp(prefix="newsflow-test-dbserver-"))
    pgdata = parent / "pg"
    try:
        socket_dir = dbserver.start(pgdata, ("news",))
        conn = psycopg2.connect(dbserver.dsn(socket_dir, "news"))
        with conn, conn.cursor() as cur:
            cur.execute("CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)")
        conn.close()
        assert dbserver.stop(pgdata) is True
        assert dbserver.stop(pgdata) is False

        socket_dir = dbserver.start(pgdata, ("news",))
        conn = psycopg2.connect(dbserver.dsn(socket_dir, "news"))
        with conn.cursor() as cur:
            cur.execute("SELECT n FROM kept")
            assert cur.fetchall() == [(42,)]
        conn.close()
        assert dbserver.psql_path().is_file()
    finally:
        dbserver.stop(pgdata)
        shutil.rmtree(parent, ignore_errors=True)
