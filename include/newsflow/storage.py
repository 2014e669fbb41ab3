"""PostgreSQL storage: connections, migrations, roles and logins.

The tables have their own modules: ``staging`` (a batch's items, pages, rejects, fetch
log), ``article_store`` (articles, enrichment rows, duplicate clusters) and
``source_state`` (what runs remember of their sources).

Functions take an open DB-API connection and use only what psycopg2 and psycopg 3 share
(``%s`` parameters, ``::jsonb`` casts of JSON text), so the same code runs on the
connection Airflow's PostgresHook hands out and on a plain psycopg2 one. Callers own
transactions except where a function documents that it commits.
"""

import logging
import re
from importlib import resources
from typing import Any

import psycopg2
from psycopg2 import sql

LOGGER = logging.getLogger(__name__)

# Serialises migrations when several workers start at once.
MIGRATION_LOCK_ID = 0x6E657773
MIGRATION_NAME = re.compile(r"[0-9]{3}_[a-z0-9_]+\.sql")
# The group roles (sql/privileges/): the schema's owner, the pipeline, the analysts.
OWNER, WRITER, READER = "newsflow_owner", "newsflow_writer", "newsflow_reader"
INSUFFICIENT_PRIVILEGE = "42501"


def connect(dsn: str) -> Any:
    """Open a psycopg2 connection to ``dsn`` (a libpq URI or key=value string)."""
    return psycopg2.connect(dsn)


def migration_files() -> list[tuple[str, str]]:
    """The bundled migrations as (version, sql), in order: the files ``NNN_topic.sql``."""
    folder = resources.files("newsflow") / "sql"
    files = sorted(f for f in folder.iterdir() if MIGRATION_NAME.fullmatch(f.name))
    return [(f.name.removesuffix(".sql"), f.read_text(encoding="utf-8")) for f in files]


def _privileges_sql(name: str) -> str:
    """One of the re-runnable role and privilege scripts in ``sql/privileges/``."""
    return (resources.files("newsflow") / "sql" / "privileges" / f"{name}.sql").read_text(
        encoding="utf-8")


class MigrationError(RuntimeError):
    """The migrations cannot run with the rights of the role that connected."""


def apply_migrations(conn: Any) -> list[str]:
    """Apply the migrations not yet recorded in ``schema_migrations``, then the grants; commits.

    The migrations and the grants run as ``newsflow_owner`` (``SET ROLE``), so connect as
    a member of it or as an administrator. The first run on a server also creates the
    group roles (``sql/privileges/roles.sql``), which needs a role that may create roles;
    objects made before migration 012 are handed to the owner (the connecting role must own
    them). ``sql/privileges/grants.sql`` then gives the writer and the reader their rights
    on every object, the new ones included.

    Args:
        conn: an open connection.

    Returns:
        The versions applied by this call (empty when the schema was current).

    Raises:
        MigrationError: the connecting role lacks a right this needs (the message says which).
    """
    applied: list[str] = []
    with conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_ID,))
        _create_roles(cur)
        cur.execute("SELECT has_schema_privilege(%s, 'public', 'CREATE')"
                    " AND has_database_privilege(%s, current_database(), 'CREATE')",
                    (OWNER, OWNER))
        if not cur.fetchone()[0]:
            _as_connected(cur, _privileges_sql("schema"), f"letting {OWNER} create objects in"
                          " schema public needs the database's owner or a superuser (once per"
                          " database)")
        _as_connected(cur, _privileges_sql("ownership"), "objects of the schema belong to"
                      " another role: run newsflow migrate once as their owner or a superuser")
        _as_connected(cur, sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(OWNER)),
                      f"the role that connected is no member of {OWNER}")
        cur.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        cur.execute("SELECT version FROM schema_migrations")
        done = {row[0] for row in cur.fetchall()}
        for version, script in migration_files():
            if version in done:
                continue
            LOGGER.info("applying migration %s", version)
            cur.execute(script)
            cur.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (version,))
            applied.append(version)
        script = _privileges_sql("grants")
        cur.execute(script)
        cur.execute("RESET ROLE")
    conn.commit()
    return applied


def _create_roles(cur: Any) -> None:
    """Create the group roles unless all three exist."""
    cur.execute("SELECT count(*) FROM pg_roles WHERE rolname IN (%s, %s, %s)",
                (OWNER, WRITER, READER))
    if cur.fetchone()[0] < 3:
        _as_connected(cur, _privileges_sql("roles"), "creating the roles newsflow_owner,"
                      " newsflow_writer and newsflow_reader needs a superuser or a role with"
                      " CREATEROLE (once per server)")


def _as_connected(cur: Any, script: str | sql.Composable, why: str) -> None:
    """Run a privileges script or statement; a refused right becomes a MigrationError."""
    try:
        cur.execute(script)
    except psycopg2.Error as error:
        if error.pgcode == INSUFFICIENT_PRIVILEGE:
            raise MigrationError(f"newsflow migrate: {why}") from error
        raise


def pending_migrations(conn: Any) -> list[str]:
    """The bundled migrations the database has not applied (all of them on an empty one)."""
    with conn.cursor() as cur:
        cur.execute("SELECT to_regclass('schema_migrations') IS NOT NULL")
        done: set[str] = set()
        if cur.fetchone()[0]:
            cur.execute("SELECT version FROM schema_migrations")
            done = {row[0] for row in cur.fetchall()}
    conn.rollback()
    return [version for version, _ in migration_files() if version not in done]


def create_login(
    conn: Any, name: str, group: str, password: str | None = None
) -> None:
    """Create (or update) login ``name`` as a member of ``group``; commits.

    The login gets no right of its own: no superuser, no CREATEDB, no CREATEROLE. Needs
    a role that may create roles.

    Raises:
        ValueError: ``name`` is a role with administrator rights (superuser, CREATEROLE...).

    Args:
        conn: an administrator's connection.
        name: the login's name.
        group: ``newsflow_owner``, ``newsflow_writer`` or ``newsflow_reader``.
        password: its password; None leaves an existing one as it is (logins on a Unix
            socket the server trusts need none).
    """
    if group not in (OWNER, WRITER, READER):
        raise ValueError(f"not a newsflow group role: {group}")
    with conn.cursor() as cur:
        _create_roles(cur)
        cur.execute("SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolbypassrls"
                    " FROM pg_roles WHERE rolname = %s", (name,))
        existing = cur.fetchone()
        if existing and existing[0]:
            # Never demote (or hand a group to) an administrator by a name mix-up.
            raise ValueError(f"role {name} exists with administrator rights: not a login for"
                             f" {group}; choose another name")
        verb = "ALTER" if existing else "CREATE"
        statement = sql.SQL("{} ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE").format(
            sql.SQL(verb), sql.Identifier(name))
        if password is not None:
            statement += sql.SQL(" PASSWORD {}").format(sql.Literal(password))
        cur.execute(statement)
        cur.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(group), sql.Identifier(name)))
    conn.commit()
