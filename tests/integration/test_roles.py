"""Least privilege on a real PostgreSQL: what the owner, the writer and the reader may do.

The server's administrator makes the databases and the logins (tests/conftest.py); the
owner migrates, the pipeline runs as the writer, analysts read as the reader.
"""

from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from psycopg2 import sql

from newsflow import cli, storage
from tests.conftest import Logins, fresh_database
from tests.integration.conftest import rows, run_batch

INSUFFICIENT_PRIVILEGE = "42501"


def _objects(conn: object, kinds: str) -> list[str]:
    """Names of schema public's relations of the given pg_class kinds."""
    return [name for (name,) in rows(conn, (
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        f" WHERE n.nspname = 'public' AND c.relkind = ANY('{{{kinds}}}') ORDER BY 1"))]


def _denied(conn: object, statement: str | sql.Composable) -> str:
    """Run ``statement``, which must be refused for lack of a right; returns the message."""
    with pytest.raises(psycopg2.Error) as raised, conn.cursor() as cur:
        cur.execute(statement)
    conn.rollback()
    assert raised.value.pgcode == INSUFFICIENT_PRIVILEGE, (statement, raised.value)
    return str(raised.value).splitlines()[0]


@pytest.fixture
def loaded(news_conn: object, seed_drop: Path, tmp_path: Path) -> object:
    """The writer's connection after a whole ingest of the seed drop folder."""
    sources = tmp_path / "sources.yaml"
    sources.write_text(f"sources:\n  - {{name: drop, kind: folder, path: '{seed_drop}'}}\n")
    summary = run_batch(news_conn, "b1", sources)
    assert summary["drop"]["loaded"] == 2
    return news_conn


@pytest.fixture
def reader(loaded: object, news_dsn: str, pg_logins: Logins) -> Iterator[object]:
    conn = psycopg2.connect(pg_logins.dsn(news_dsn, pg_logins.reader))
    yield conn
    conn.close()


def test_the_writer_runs_a_whole_ingest_and_refresh_but_changes_no_schema(
    loaded: object, news_dsn: str
) -> None:
    conn = loaded
    assert rows(conn, "SELECT current_user")[0][0].endswith("_writer")
    assert rows(conn, "SELECT count(*) FROM articles") == [(2,)]
    with conn.cursor() as cur:
        cur.execute("SELECT refresh_reporting_views()")  # as the owner: SECURITY DEFINER
    conn.commit()
    assert rows(conn, "SELECT count(*) > 0 FROM v_entity_days") == [(True,)]
    _denied(conn, "CREATE TABLE extra (n int)")
    _denied(conn, "CREATE VIEW v_extra AS SELECT 1")
    _denied(conn, "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'")
    for table in _objects(conn, "r,m"):
        _denied(conn, sql.SQL("DROP TABLE {} CASCADE").format(sql.Identifier(table))
                if table not in _objects(conn, "m") else
                sql.SQL("DROP MATERIALIZED VIEW {}").format(sql.Identifier(table)))
    _denied(conn, "ALTER TABLE articles ADD COLUMN extra int")
    _denied(conn, "TRUNCATE articles CASCADE")
    _denied(conn, "REFRESH MATERIALIZED VIEW mv_entity_days")
    _denied(conn, "INSERT INTO schema_migrations (version) VALUES ('999_fake')")
    _denied(conn, "SELECT pg_read_file('/etc/passwd')")
    _denied(conn, "COPY (SELECT 1) TO PROGRAM 'true'")
    # Every table, including the ones other migrations add, is the writer's to change.
    admin = psycopg2.connect(news_dsn)
    tables = _objects(admin, "r")
    admin.close()
    for table in tables:
        if table == "schema_migrations":
            continue
        with conn.cursor() as cur:
            cur.execute(sql.SQL("DELETE FROM {} WHERE false").format(sql.Identifier(table)))
    conn.rollback()


def test_the_reader_reads_every_consumer_view_and_searches_and_nothing_else(
    reader: object, news_dsn: str
) -> None:
    admin = psycopg2.connect(news_dsn)
    views = _objects(admin, "v")
    tables, materialized = _objects(admin, "r"), _objects(admin, "m")
    admin.close()
    consumer = [v for v in views if v.startswith("v_")]
    assert {"v_articles", "v_rejects", "v_quotes", "v_source_health", "v_batch_ledger",
            "v_article_versions"} <= set(consumer)
    for view in consumer:
        with reader.cursor() as cur:
            cur.execute(sql.SQL("SELECT * FROM {} LIMIT 1").format(sql.Identifier(view)))
    assert rows(reader, "SELECT count(*) FROM v_articles") == [(2,)]
    hits = rows(reader, "SELECT title FROM search_articles('Kerry')")
    assert hits == [("US and Russia seek Syria peace talks revival",)]
    for table in tables + materialized:
        _denied(reader, sql.SQL("SELECT 1 FROM {} LIMIT 1").format(sql.Identifier(table)))
    # Some views are not updatable whatever the rights: ask for the rights themselves.
    written = [view for view in consumer if rows(reader, (
        f"SELECT has_table_privilege('{view}', 'INSERT, UPDATE, DELETE, TRUNCATE')"))[0][0]]
    assert written == []
    for table in tables:
        _denied(reader, sql.SQL("DELETE FROM {}").format(sql.Identifier(table)))
        _denied(reader, sql.SQL("INSERT INTO {} DEFAULT VALUES").format(sql.Identifier(table)))
    _denied(reader, "UPDATE articles SET title = 'x'")
    _denied(reader, "SELECT refresh_reporting_views()")
    _denied(reader, "CREATE TABLE mine (n int)")
    _denied(reader, "COPY (SELECT 1) TO PROGRAM 'id'")
    _denied(reader, "COPY articles FROM PROGRAM 'id'")
    _denied(reader, "SELECT pg_read_file('/etc/passwd')")
    _denied(reader, "SELECT pg_ls_dir('.')")


def test_search_and_report_commands_work_as_the_reader(
    reader: object, news_dsn: str, pg_logins: Logins, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dsn = pg_logins.dsn(news_dsn, pg_logins.reader)
    assert cli.main(["search", "Kerry", "--dsn", dsn]) == 0
    assert "US and Russia seek Syria peace talks revival" in capsys.readouterr().out
    out = tmp_path / "report.html"
    assert cli.main(["report", "--from", "2000-01-01", "--out", str(out), "--dsn", dsn]) == 0
    assert "may not refresh the reporting views" in capsys.readouterr().err
    report = out.read_text(encoding="utf-8")
    # The volume chart reads v_articles_per_source_day: the source's two articles.
    assert report.startswith("<!DOCTYPE html>") and "drop" in report


def test_the_owner_migrates_a_database_made_for_it(
    pg_admin_dsn: str, pg_logins: Logins
) -> None:
    with fresh_database(pg_admin_dsn, "newsflow_owned") as admin_dsn:
        admin = psycopg2.connect(admin_dsn)
        admin.autocommit = True
        database = rows(admin, "SELECT current_database()")[0][0]
        with admin.cursor() as cur:
            # What an administrator does once: the database (and so its schema public)
            # belongs to the owner role.
            cur.execute(f'ALTER DATABASE "{database}" OWNER TO newsflow_owner')
        owner = psycopg2.connect(pg_logins.dsn(admin_dsn, pg_logins.owner))
        applied = storage.apply_migrations(owner)
        assert applied == [version for version, _ in storage.migration_files()]
        assert storage.apply_migrations(owner) == []
        assert storage.pending_migrations(owner) == []
        owners = rows(admin, (
            "SELECT DISTINCT pg_get_userbyid(c.relowner) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'"))
        assert owners == [("newsflow_owner",)]
        owner.close()
        admin.close()


def test_objects_made_before_the_roles_are_handed_to_the_owner(
    pg_admin_dsn: str, pg_logins: Logins
) -> None:
    with fresh_database(pg_admin_dsn, "newsflow_upgrade") as admin_dsn:
        admin = psycopg2.connect(admin_dsn)
        # A deployment migrated by its administrator before migration 012.
        with admin.cursor() as cur:
            cur.execute("CREATE TABLE schema_migrations (version text PRIMARY KEY,"
                        " applied_at timestamptz NOT NULL DEFAULT now())")
            for version, script in storage.migration_files():
                if version < "009":
                    cur.execute(script)
                    cur.execute("INSERT INTO schema_migrations VALUES (%s)", (version,))
        admin.commit()
        owner = psycopg2.connect(pg_logins.dsn(admin_dsn, pg_logins.owner))
        with pytest.raises(storage.MigrationError, match="belong to another role"):
            storage.apply_migrations(owner)
        owner.rollback()
        applied = storage.apply_migrations(admin)
        assert "012_roles" in applied and not [v for v in applied if v < "009"]
        assert rows(admin, (
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relowner <> 'newsflow_owner'::regrole")) == [(0,)]
        assert rows(admin, (
            "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname = 'public' AND p.proowner <> 'newsflow_owner'::regrole")) == [(0,)]
        # Now the owner login can migrate (nothing left to do) and the writer can work.
        assert storage.apply_migrations(owner) == []
        owner.close()
        writer = psycopg2.connect(pg_logins.dsn(admin_dsn, pg_logins.writer))
        assert storage.pending_migrations(writer) == []
        with writer.cursor() as cur:
            cur.execute("INSERT INTO host_slots (host, next_at) VALUES ('h', now())")
        writer.close()
        admin.close()


def test_the_writer_cannot_migrate_and_is_told_why(news_dsn: str, pg_logins: Logins) -> None:
    writer = psycopg2.connect(pg_logins.dsn(news_dsn, pg_logins.writer))
    with pytest.raises(storage.MigrationError, match="no member of newsflow_owner"):
        storage.apply_migrations(writer)
    writer.close()
    assert storage.pending_migrations(psycopg2.connect(news_dsn))[0] == "001_schema"


def test_objects_of_a_later_migration_follow_the_same_rules(
    news_dsn: str, writer_dsn: str, pg_logins: Logins, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As other issues' migrations (009, 010, 011, ...) will: a table, a consumer view, an
    # internal view, a function; nobody edits the grants for them.
    bundled = storage.migration_files()
    future = ("999_future", "CREATE TABLE future_items (n int);"
              " CREATE VIEW v_future AS SELECT n FROM future_items;"
              " CREATE VIEW future_internal AS SELECT n FROM future_items;"
              " CREATE FUNCTION future_count() RETURNS bigint LANGUAGE sql VOLATILE"
              " AS 'SELECT count(*) FROM future_items';")
    monkeypatch.setattr(storage, "migration_files", lambda: [*bundled, future])
    admin = psycopg2.connect(news_dsn)
    assert storage.apply_migrations(admin) == ["999_future"]
    admin.close()
    writer = psycopg2.connect(writer_dsn)
    with writer.cursor() as cur:
        cur.execute("INSERT INTO future_items VALUES (1)")
        cur.execute("SELECT future_count()")
        assert cur.fetchone() == (1,)
    writer.commit()
    _denied(writer, "DROP TABLE future_items")
    writer.close()
    reader = psycopg2.connect(pg_logins.dsn(news_dsn, pg_logins.reader))
    assert rows(reader, "SELECT n FROM v_future") == [(1,)]
    _denied(reader, "SELECT n FROM future_internal")
    _denied(reader, "SELECT n FROM future_items")
    _denied(reader, "SELECT future_count()")
    reader.close()
