#!/usr/bin/env bash
# airflow-init (docker-compose.yaml): runs once before the other Airflow services start.
# Migrates Airflow's metadata database and the news database (as its administrator,
# NEWSFLOW_DSN: newsflow migrate runs the migrations as newsflow_owner), makes the news
# database's logins (the pipeline's, in newsflow_writer, from AIRFLOW_CONN_NEWS_DB; analyst,
# in newsflow_reader, password NEWS_DB_ANALYST_PASSWORD), checks that the news_db
# connection reaches the news database, and writes the UI login. Safe to run again: every
# step is a no-op when already done (a changed password is set again). Prints no password.
set -euo pipefail

echo "airflow-init: $(airflow version) with newsflow $(python -c 'import importlib.metadata as m; print(m.version("newsflow"))')"

echo "airflow-init: migrating Airflow's metadata database"
airflow db migrate

echo "airflow-init: migrating the news database (NEWSFLOW_DSN)"
newsflow migrate

echo "airflow-init: making the news database's logins (pipeline: writer, analyst: reader)"
python - <<'PY'
import os
from urllib.parse import unquote, urlsplit

from newsflow import storage

writer = urlsplit(os.environ["AIRFLOW_CONN_NEWS_DB"])
conn = storage.connect(os.environ["NEWSFLOW_DSN"])
storage.create_login(conn, unquote(writer.username or ""), storage.WRITER,
                     unquote(writer.password or "") or None)
storage.create_login(conn, "analyst", storage.READER, os.environ["NEWS_DB_ANALYST_PASSWORD"])
conn.close()
print(f"airflow-init: logins {unquote(writer.username or '')} (writer) and analyst (reader)")
PY

echo "airflow-init: checking the news_db connection"
python - <<'PY'
from airflow.providers.postgres.hooks.postgres import PostgresHook

conn = PostgresHook(postgres_conn_id="news_db").get_conn()
with conn.cursor() as cur:
    cur.execute("SELECT current_database(), count(*) FROM schema_migrations")
    database, migrations = cur.fetchone()
conn.close()
print(f"airflow-init: news_db reaches database {database!r} ({migrations} migrations applied)")
PY

echo "airflow-init: writing the UI login for user admin"
python - <<'PY'
import json
import os
from pathlib import Path

path = Path(os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"])
path.write_text(json.dumps({"admin": os.environ["AIRFLOW_ADMIN_PASSWORD"]}))
path.chmod(0o600)
PY

echo "airflow-init: done"
