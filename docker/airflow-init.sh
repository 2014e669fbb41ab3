#!/usr/bin/env bash
# airflow-init (docker-compose.yaml): runs once before the other Airflow services start.
# Migrates Airflow's metadata database and the news database, checks that the news_db
# connection (AIRFLOW_CONN_NEWS_DB, from .env) reaches the news database, and writes the
# UI login. Safe to run again: every step is a no-op when already done.
set -euo pipefail

echo "airflow-init: $(airflow version) with newsflow $(python -c 'import importlib.metadata as m; print(m.version("newsflow"))')"

echo "airflow-init: migrating Airflow's metadata database"
airflow db migrate

echo "airflow-init: migrating the news database (NEWSFLOW_DSN)"
newsflow migrate

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
