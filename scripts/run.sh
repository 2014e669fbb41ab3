#!/usr/bin/env bash
# `make run`: the embedded PostgreSQL (unless you configured your own databases), the schema
# and the database logins, the demo site on 127.0.0.1 (dated over the past week), Airflow
# standalone on 127.0.0.1, and news_ingest unpaused (its last nightly interval runs). Ctrl-C stops everything this script started. Running it again reuses
# .data/ and .airflow/.
#
# Your own databases: NEWSFLOW_DSN (the news data, a libpq URI of a role that may create
# roles, e.g. the server's administrator: it migrates and makes the logins) and
# AIRFLOW__DATABASE__SQL_ALCHEMY_CONN (Airflow's metadata). With both set, no embedded server.
# The UI listens on 127.0.0.1; AIRFLOW__API__HOST=0.0.0.0 serves it to the network (put TLS
# in front). Passwords are written to files under .airflow/ (mode 0600), never printed.
set -euo pipefail
# Everything this script creates (databases, logs, password files) is for this user only.
umask 077
cd "$(dirname "$0")/.."
ROOT=$PWD
export PATH="$ROOT/.venv/bin:$PATH"

export AIRFLOW_HOME="${AIRFLOW_HOME:-$ROOT/.airflow}"
export AIRFLOW__CORE__DAGS_FOLDER="$ROOT/dags"
export AIRFLOW__CORE__PLUGINS_FOLDER="$ROOT/plugins"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__EXECUTOR=LocalExecutor
export AIRFLOW__CORE__PARALLELISM="${AIRFLOW__CORE__PARALLELISM:-4}"
export AIRFLOW__API__PORT="${AIRFLOW__API__PORT:-8080}"
export AIRFLOW__API__HOST="${AIRFLOW__API__HOST:-127.0.0.1}"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$ROOT/.data/run}"
DEMO_PORT=8765  # the demo feed's port, as written in include/sources/default.yaml
# The demo site is on loopback, which the SSRF guard refuses unless the deployment allows it:
# its port only (Airflow's API on 127.0.0.1:8080 stays out of reach of what feeds link to).
export NEWSFLOW_PRIVATE_HOSTS="${NEWSFLOW_PRIVATE_HOSTS:-127.0.0.1:$DEMO_PORT}"
PGDATA="${NEWSFLOW_PGDATA:-$ROOT/.data/pg}"
mkdir -p "$AIRFLOW_HOME" "$XDG_RUNTIME_DIR"
# Folders made by earlier versions of this script were readable by every local user.
chmod 700 "$AIRFLOW_HOME" "$XDG_RUNTIME_DIR"
[ -d "$ROOT/.data" ] && chmod 700 "$ROOT/.data"

started_pg=""
run_env_written=""
groups=()
cleanup() {
    trap - INT TERM HUP EXIT
    # Finish the clean-up even if the terminal or a pipe reading our output is gone.
    trap '' PIPE
    set +e
    echo
    echo "newsflow: stopping..."
    # Each child runs in its own process group: signal the group, not just its leader.
    for pgid in "${groups[@]}"; do kill -TERM -- "-$pgid" 2>/dev/null || true; done
    for _ in $(seq 1 20); do
        alive=""
        for pgid in "${groups[@]}"; do kill -0 -- "-$pgid" 2>/dev/null && alive=1; done
        [ -z "$alive" ] && break
        sleep 0.5
    done
    for pgid in "${groups[@]}"; do kill -KILL -- "-$pgid" 2>/dev/null || true; done
    [ -n "$run_env_written" ] && rm -f "$AIRFLOW_HOME/run.env"
    if [ -n "$started_pg" ]; then newsflow db stop --pgdata "$PGDATA" >/dev/null; fi
    echo "newsflow: stopped."
}
trap cleanup INT TERM HUP EXIT

# Start a command in a new process group of its own and remember the group.
start_group() {
    setsid "$@" &
    groups+=("$!")
}

if [ -z "${NEWSFLOW_DSN:-}" ] || [ -z "${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN:-}" ]; then
    for_what=()
    [ -z "${NEWSFLOW_DSN:-}" ] && for_what+=("news data")
    [ -z "${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN:-}" ] && for_what+=("Airflow metadata")
    echo "newsflow: starting the embedded PostgreSQL in $PGDATA ($(IFS=/; echo "${for_what[*]}"))"
    socket_dir=$(newsflow db start --pgdata "$PGDATA" --database news --database airflow)
    started_pg=1
    host=$(python -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$socket_dir")
    export NEWSFLOW_DSN="${NEWSFLOW_DSN:-postgresql://postgres@/news?host=$host}"
    export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN:-postgresql+psycopg2://postgres@/airflow?host=$host}"
fi
# The schema, as its owner (newsflow migrate: SET ROLE newsflow_owner), then the logins: the
# pipeline writes as newsflow_pipeline (newsflow_writer), analysts read as analyst
# (newsflow_reader). Their passwords are generated once into files of mode 0600.
newsflow migrate
newsflow login newsflow_pipeline --role writer --password-file "$AIRFLOW_HOME/news_writer_password"
newsflow login analyst --role reader --password-file "$AIRFLOW_HOME/news_analyst_password"
login_dsn() {  # the news DSN with another login and its password file's password, as a URI
    python - "$NEWSFLOW_DSN" "$1" "$2" <<'PY'
import sys
from pathlib import Path
from urllib.parse import quote, urlencode

from psycopg2.extensions import parse_dsn

params = parse_dsn(sys.argv[1])
password = Path(sys.argv[3]).read_text().strip() if sys.argv[3] else ""
host = params.pop("host", "")
netloc = "" if host.startswith("/") else host + (f":{params['port']}" if "port" in params else "")
query = {k: v for k, v in params.items() if k not in ("user", "password", "dbname", "port")}
if host.startswith("/"):
    query["host"] = host
auth = quote(sys.argv[2], safe="") + (":" + quote(password, safe="") if password else "")
uri = f"postgresql://{auth}@{netloc}/{quote(params['dbname'], safe='')}"
print(uri + ("?" + urlencode(query) if query else ""))
PY
}
AIRFLOW_CONN_NEWS_DB=$(login_dsn newsflow_pipeline "$AIRFLOW_HOME/news_writer_password")
export AIRFLOW_CONN_NEWS_DB
analyst_dsn=$(login_dsn analyst "")
# Airflow's processes get the writer's connection only, not the administrator's DSN.
unset NEWSFLOW_DSN

# The environment of this deployment, for scripts/airflow (`make airflow ARGS=...`): the
# Airflow CLI against it. Mode 0600 (umask 077): it holds the pipeline's connection.
export -p | grep -E '^declare -x (AIRFLOW|NEWSFLOW|XDG_RUNTIME_DIR)' >"$AIRFLOW_HOME/run.env"
run_env_written=1

# The demo site, dated over the past week relative to now (newsflow.demo): last night's
# items for the nightly run, one story per earlier day for backfills. The bundled drop
# files are dated into last night's interval.
newsflow demo-site "$AIRFLOW_HOME/demo-site" --base "http://127.0.0.1:$DEMO_PORT" \
    --drop "$ROOT/include/demo/drop" >"$AIRFLOW_HOME/demo-site.json"
echo "newsflow: serving the demo site, dated over the past week, on http://127.0.0.1:$DEMO_PORT/"
start_group python -m http.server "$DEMO_PORT" --bind 127.0.0.1 --directory "$AIRFLOW_HOME/demo-site" \
    >"$AIRFLOW_HOME/demo-feed.log" 2>&1

echo "newsflow: starting Airflow (log: $AIRFLOW_HOME/standalone.log)"
start_group airflow standalone >"$AIRFLOW_HOME/standalone.log" 2>&1

ui="http://127.0.0.1:$AIRFLOW__API__PORT"
started=$(date +%s)
until curl -fsS "$ui/api/v2/monitor/health" >/dev/null 2>&1; do
    kill -0 "${groups[-1]}" 2>/dev/null || { echo "Airflow exited; see $AIRFLOW_HOME/standalone.log"; exit 1; }
    sleep 2
done
echo "newsflow: Airflow is healthy after $(( $(date +%s) - started )) s"

# The DAG appears once the DAG processor has parsed it.
until airflow dags unpause news_ingest >/dev/null 2>&1; do sleep 3; done
# news_report runs after each news_ingest load (asset-triggered): unpaused before the first run.
until airflow dags unpause news_report >/dev/null 2>&1; do sleep 3; done
# Manual-only re-extraction (runs only when triggered) and the daily raw-page retention.
for dag in news_reprocess news_maintenance; do
    until airflow dags unpause "$dag" >/dev/null 2>&1; do sleep 3; done
done
# Unpaused, news_ingest runs its last nightly interval at once (catchup is off): last
# night's demo items. Earlier days are for a backfill; a manual run takes what is new.
echo "newsflow: news_ingest and news_report unpaused: the nightly run of the last interval starts now"
echo "newsflow: reports go to ${NEWSFLOW_REPORT_DIR:-$ROOT/reports}/news-YYYY-MM-DD.html"

cat <<EOT

  Airflow UI:  $ui   (user: admin, password in
               $AIRFLOW_HOME/simple_auth_manager_passwords.json.generated)
  News data, read-only (login analyst, password in $AIRFLOW_HOME/news_analyst_password):
               PGPASSWORD="\$(cat $AIRFLOW_HOME/news_analyst_password)" $(newsflow db psql-path) \\
                   "$analyst_dsn" -c 'SELECT source_name, title FROM v_articles'
  Airflow CLI: scripts/airflow ARGS...   (or: make airflow ARGS="...")
  Press Ctrl-C to stop everything.

EOT
wait
