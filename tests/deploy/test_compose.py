"""The Docker deployment: docker-compose.yaml, Dockerfile, .env.example and the init script.

No Docker engine runs here. The compose file is validated offline against the compose-spec
schema and read as YAML; the commands are parsed by the installed Airflow's own CLI; the
init script runs for real against PostgreSQL.
"""

import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg2
import psycopg2.errors
import pytest
import yaml
from psycopg2.extensions import make_dsn

from tests.conftest import AIRFLOW_ENV, ROOT, airflow_conn_uri, fresh_database

BIN = Path(sys.executable).parent
COMPOSE_FILE = ROOT / "docker-compose.yaml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
INIT_SCRIPT = ROOT / "docker" / "airflow-init.sh"
AIRFLOW_COMMANDS = {"api-server", "scheduler", "dag-processor", "triggerer", "celery worker"}
# Services that run once or on demand rather than staying up.
ONE_OFF = {"airflow-init", "airflow-cli"}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|FERNET|_CONN|DSN|BACKEND")
REQUIRED_REFERENCE = re.compile(r"^\$\{[A-Z_][A-Z0-9_]*:\?[^}]+\}$")
VARIABLE = re.compile(r"(?<!\$)\$\{([A-Z_][A-Z0-9_]*)(?::?([-?])([^}]*))?\}")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    """The variables .env.example sets or shows commented out, with their example values."""
    found = re.findall(r"^#? ?([A-Z_][A-Z0-9_]*)=(.*)$", ENV_EXAMPLE.read_text(), re.M)
    return dict(found)


def _airflow_services(compose: dict) -> dict[str, dict]:
    """The services built from the newsflow image (they merge x-airflow-common)."""
    image = compose["x-airflow-common"]["image"]
    return {name: service for name, service in compose["services"].items()
            if service.get("image") == image}


def _interpolate(text: str) -> str:
    """``text`` as compose would fill it in: defaults for ``${VAR:-x}``, ``<VAR>`` otherwise."""
    def fill(match: re.Match) -> str:
        name, kind, default = match.groups()
        return default if kind == "-" else f"<{name}>"

    return VARIABLE.sub(fill, text).replace("$$", "$")


def _command(service: dict) -> list[str]:
    command = service.get("command", [])
    return command.split() if isinstance(command, str) else list(command)


def _locked_version(package: str) -> str:
    match = re.search(rf"^{re.escape(package)}==(\S+)", (ROOT / "requirements.lock").read_text(),
                      re.M)
    assert match, f"{package} is not in requirements.lock"
    return match.group(1)


def test_compose_file_is_valid_against_the_compose_spec() -> None:
    result = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec",
         str(COMPOSE_FILE)], capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_service_in_the_readme_exists_and_every_service_is_in_the_readme(
    compose: dict,
) -> None:
    readme = (ROOT / "docs" / "deploying.md").read_text()  # the compose reference
    section = readme.split("\n## Deploying\n", 1)[1].split("\n## ", 1)[0]
    documented = re.findall(r"^\| `([a-z0-9-]+)` \|", section, re.M)
    assert documented, "the Deploying section has no service table"
    assert sorted(documented) == sorted(compose["services"])
    for mentioned in re.findall(r"--scale ([a-z0-9-]+)=", section):
        assert mentioned in compose["services"]


def test_image_is_the_locked_airflow_version_on_the_locked_python() -> None:
    dockerfile = DOCKERFILE.read_text()
    args = dict(re.findall(r"^ARG (\w+)=(\S+)$", dockerfile, re.M))
    assert args["AIRFLOW_VERSION"] == _locked_version("apache-airflow")
    # The lock is compiled for the interpreter the tests run on.
    assert args["PYTHON_VERSION"] == f"{sys.version_info.major}.{sys.version_info.minor}"
    froms = re.findall(r"^FROM (\S+)", dockerfile, re.M)
    assert froms == ["apache/airflow:slim-${AIRFLOW_VERSION}-python${PYTHON_VERSION}"]
    assert "--require-hashes -r /opt/newsflow/requirements.lock" in dockerfile
    assert "pip install --no-cache-dir --no-deps /opt/newsflow" in dockerfile
    for folder in ("dags/ /opt/airflow/dags/", "plugins/ /opt/airflow/plugins/",
                   "docker/ /opt/newsflow/docker/"):
        assert re.search(rf"^COPY .*{re.escape(folder)}$", dockerfile, re.M), folder
    ignored = (ROOT / ".dockerignore").read_text().split()
    for copied in ("requirements.lock", "pyproject.toml", "include/", "dags/", "plugins/",
                   "docker/"):
        assert f"!{copied}" in ignored, copied


def test_every_airflow_service_runs_the_newsflow_image(compose: dict) -> None:
    common = compose["x-airflow-common"]
    assert common["build"] == "."
    services = _airflow_services(compose)
    assert set(services) >= {"airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
                             "airflow-triggerer", "airflow-worker", "airflow-init"}
    others = set(compose["services"]) - set(services)
    assert others == {"postgres", "news-postgres", "redis"}
    for name in others:
        assert not compose["services"][name]["image"].startswith("apache/airflow"), name


def test_commands_are_those_of_the_locked_airflow_3(compose: dict) -> None:
    commands = {name: [_interpolate(part) for part in _command(service)]
                for name, service in _airflow_services(compose).items()
                if _command(service)[:1] != ["bash"]}
    started = {" ".join(command[:2]) if command[0] == "celery" else command[0]
               for command in commands.values()}
    assert started >= AIRFLOW_COMMANDS
    # Airflow's own argument parser, with the Celery commands the CeleryExecutor adds.
    check = (
        "import json, sys\n"
        "from airflow.cli.cli_parser import get_parser\n"
        "for command in json.loads(sys.argv[1]):\n"
        "    get_parser().parse_args(command)\n"
    )
    env = {**os.environ, **AIRFLOW_ENV, "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor"}
    result = subprocess.run([sys.executable, "-c", check, json.dumps(list(commands.values()))],
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert _locked_version("apache-airflow").startswith("3.")


def test_services_have_health_checks_and_start_in_order(compose: dict) -> None:
    services = compose["services"]
    airflow = _airflow_services(compose)
    for name, service in services.items():
        if name not in ONE_OFF:
            assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
        for needed, how in service.get("depends_on", {}).items():
            assert needed in services, f"{name} depends on a missing service {needed}"
            assert how["condition"] in ("service_healthy", "service_completed_successfully")
    init = services["airflow-init"]["depends_on"]
    for needed in ("postgres", "news-postgres", "redis"):
        assert init[needed]["condition"] == "service_healthy"
    for name in set(airflow) - ONE_OFF:
        assert airflow[name]["depends_on"]["airflow-init"] == {
            "condition": "service_completed_successfully"}, name
        assert airflow[name]["restart"] == "always"
    for service in airflow.values():
        if _command(service)[:2] == ["celery", "worker"]:
            # Workers run tasks through the API server's execution API.
            assert service["depends_on"]["airflow-apiserver"]["condition"] == "service_healthy"
    environment = compose["x-airflow-common"]["environment"]
    assert environment["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    api = urlsplit(environment["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
    assert (api.hostname, api.port, api.path) == ("airflow-apiserver", 8080, "/execution/")
    assert environment["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"] == "true"
    assert environment["AIRFLOW__CORE__LOAD_EXAMPLES"] == "false"


def test_news_database_is_a_server_of_its_own_with_its_own_volume(
    compose: dict, env_example: dict[str, str]
) -> None:
    services = compose["services"]
    volumes = {}
    for name in ("postgres", "news-postgres"):
        (mount,) = [volume for volume in services[name]["volumes"]
                    if volume.endswith(":/var/lib/postgresql/data")]
        volumes[name] = mount.split(":")[0]
        assert volumes[name] in compose["volumes"]
    assert volumes["postgres"] != volumes["news-postgres"]
    assert services["news-postgres"]["environment"]["POSTGRES_DB"] == "news"
    news = urlsplit(_interpolate(env_example["NEWSFLOW_DSN"]))
    meta = urlsplit(_interpolate(env_example["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]))
    assert (news.hostname, news.path) == ("news-postgres", "/news")
    assert (meta.hostname, meta.path) == ("postgres", "/airflow")
    writer = urlsplit(_interpolate(env_example["NEWS_DB_WRITER_DSN"]))
    assert (writer.hostname, writer.path, writer.username) == (
        "news-postgres", "/news", "newsflow_pipeline")
    services = compose["services"]
    assert services["airflow-init"]["environment"]["NEWSFLOW_DSN"].startswith("${NEWSFLOW_DSN:?")
    for name in ("airflow-worker", "airflow-worker-enrichment", "airflow-init"):
        assert services[name]["environment"]["AIRFLOW_CONN_NEWS_DB"].startswith(
            "${NEWS_DB_WRITER_DSN:?"), name


def test_no_secret_is_written_in_the_compose_file(
    compose: dict, env_example: dict[str, str]
) -> None:
    blocks = [compose["x-airflow-common"]["environment"]]
    blocks += [service.get("environment", {}) for service in compose["services"].values()]
    checked = 0
    for block in blocks:
        for name, value in block.items():
            # A newsflow setting without a value is passed by name from .env, if set there.
            if value is None and name.startswith("NEWSFLOW_") and "DSN" not in name:
                continue
            if SECRET_NAME.search(name) and not name.endswith("_FILE"):
                assert REQUIRED_REFERENCE.match(str(value)), f"{name}: {value}"
                checked += 1
    assert checked >= 8
    # No user:password@ in any URI of the file, except through a variable.
    assert not re.search(r"://[^/\s:@$]+:[^@\s$]+@", COMPOSE_FILE.read_text())
    secrets = [name for name in env_example if re.search(r"PASSWORD|SECRET|KEY", name)]
    assert len(secrets) >= 6
    for name in secrets:
        assert env_example[name] == "", f".env.example gives {name} a value"
    assert ".env" in (ROOT / ".gitignore").read_text().split()


def test_each_service_gets_only_the_secrets_it_uses(compose: dict) -> None:
    services = compose["services"]
    assert not any("env_file" in service for service in
                   [compose["x-airflow-common"], *services.values()])
    common = compose["x-airflow-common"]["environment"]
    assert not {"NEWSFLOW_DSN", "AIRFLOW_CONN_NEWS_DB", "AIRFLOW_ADMIN_PASSWORD",
                "NEWS_DB_ANALYST_PASSWORD"} & set(common)
    holders: dict[str, set[str]] = {}
    for name, service in _airflow_services(compose).items():
        for variable in ("NEWSFLOW_DSN", "AIRFLOW_CONN_NEWS_DB", "AIRFLOW_ADMIN_PASSWORD",
                         "NEWS_DB_ANALYST_PASSWORD"):
            if variable in service.get("environment", {}):
                holders.setdefault(variable, set()).add(name)
    assert holders == {
        # The news database's administrator: the init job and the operator's CLI.
        "NEWSFLOW_DSN": {"airflow-init", "airflow-cli"},
        # The pipeline's writer login: where tasks run, and the init job's check.
        "AIRFLOW_CONN_NEWS_DB": {"airflow-worker", "airflow-worker-enrichment", "airflow-init"},
        "AIRFLOW_ADMIN_PASSWORD": {"airflow-init"},
        "NEWS_DB_ANALYST_PASSWORD": {"airflow-init"},
    }
    # Every newsflow setting reaches the Airflow services by name, unset unless .env sets it.
    library = "\n".join(path.read_text() for path in (ROOT / "include" / "newsflow").glob("*.py"))
    settings = set(re.findall(r"environ(?:\.get\(|\[)\"(NEWSFLOW_[A-Z0-9_]+)\"", library))
    passed = {name for name in common if name.startswith("NEWSFLOW_")}
    # Not settings of a deployed worker: the administrator's DSN, the embedded server's
    # folder, the password of `newsflow login`.
    assert settings - passed == {"NEWSFLOW_DSN", "NEWSFLOW_PGDATA", "NEWSFLOW_LOGIN_PASSWORD"}


def test_nothing_listens_beyond_this_host_by_default_and_redis_needs_a_password(
    compose: dict,
) -> None:
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert _interpolate(str(port)).startswith("127.0.0.1:"), (name, port)
    assert compose["services"]["airflow-apiserver"]["ports"] == [
        "${AIRFLOW_API_BIND:-127.0.0.1}:${AIRFLOW_API_PORT:-8080}:8080"]
    redis = compose["services"]["redis"]
    assert REQUIRED_REFERENCE.match(redis["environment"]["REDISCLI_AUTH"])
    assert "${REDIS_PASSWORD:?" in redis["environment"]["REDISCLI_AUTH"]
    command = " ".join(redis["command"])
    assert "requirepass" in command and "redis-server /tmp/redis.conf" in command
    broker = compose["x-airflow-common"]["environment"]["AIRFLOW__CELERY__BROKER_URL"]
    assert REQUIRED_REFERENCE.match(broker)


def test_env_example_lists_every_setting_and_every_compose_variable(
    env_example: dict[str, str]
) -> None:
    library = "\n".join(path.read_text() for path in (ROOT / "include" / "newsflow").glob("*.py"))
    settings = set(re.findall(r"environ(?:\.get\(|\[)\"(NEWSFLOW_[A-Z0-9_]+)\"", library))
    assert "NEWSFLOW_DSN" in settings
    assert settings - set(env_example) == set()
    interpolated = {match[0] for match in VARIABLE.findall(COMPOSE_FILE.read_text())}
    assert interpolated - set(env_example) == set()
    # What the file requires (${VAR:?...}) is an active line, for the user to fill in.
    active = set(re.findall(r"^([A-Z_][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(), re.M))
    required = {name for name, kind, _ in VARIABLE.findall(COMPOSE_FILE.read_text())
                if kind == "?"}
    assert required and required - active == set()


def test_workers_scale_and_the_enrichment_worker_serves_the_enrichment_queue(
    compose: dict,
) -> None:
    services = compose["services"]
    for name in ("airflow-worker", "airflow-worker-enrichment"):
        # A fixed container name or host port would stop `--scale`.
        assert "container_name" not in services[name]
        assert "ports" not in services[name]
        assert services[name]["environment"]["DUMB_INIT_SETSID"] == "0"
    assert _command(services["airflow-worker"]) == ["celery", "worker", "--queues", "default"]
    enrichment = services["airflow-worker-enrichment"]
    assert enrichment["profiles"] == ["enrichment"]
    assert _command(enrichment) == ["celery", "worker", "--queues",
                                    "${NEWSFLOW_ENRICH_QUEUE:-default}"]
    settings = (ROOT / "include" / "newsflow" / "settings.py").read_text()
    assert 'os.environ.get("NEWSFLOW_ENRICH_QUEUE", "default")' in settings


@pytest.fixture
def meta_dsn(pg_admin_dsn: str) -> Iterator[str]:
    """A fresh database for Airflow's metadata, dropped afterwards."""
    with fresh_database(pg_admin_dsn, "deploy_test") as dsn:
        yield dsn


def _tables(dsn: str) -> set[str]:
    conn = psycopg2.connect(dsn)
    with conn.cursor() as cur:
        cur.execute("SELECT table_name FROM information_schema.tables"
                    " WHERE table_schema = 'public'")
        tables = {row[0] for row in cur.fetchall()}
    conn.close()
    return tables


# Two runs of `airflow db migrate`: minutes on a busy machine.
@pytest.mark.timeout(900)
def test_init_script_migrates_both_databases_and_writes_the_logins(
    meta_dsn: str, news_dsn: str, tmp_path: Path
) -> None:
    passwords = tmp_path / "passwords.json"
    tag = uuid.uuid4().hex[:8]
    writer, writer_password = f"newsflow_deploy_{tag}", f"w-{uuid.uuid4().hex}"
    analyst_password = f"a-{uuid.uuid4().hex}"
    writer_dsn = make_dsn(news_dsn, user=writer, password=writer_password)
    env = {
        **os.environ, **AIRFLOW_ENV,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN":
            airflow_conn_uri(meta_dsn).replace("postgresql://", "postgresql+psycopg2://", 1),
        "NEWSFLOW_DSN": news_dsn,
        "AIRFLOW_CONN_NEWS_DB": airflow_conn_uri(writer_dsn),
        "NEWS_DB_ANALYST_PASSWORD": analyst_password,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW_ADMIN_PASSWORD": "a-test-password",
    }
    for _ in range(2):  # a second run (a restart, an upgrade) changes nothing and succeeds
        result = subprocess.run(["bash", str(INIT_SCRIPT)], env=env, capture_output=True,
                                text=True, timeout=300)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        assert "airflow-init: news_db reaches database" in result.stdout
        assert result.stdout.rstrip().endswith("airflow-init: done")
        for secret in (writer_password, analyst_password, "a-test-password"):
            assert secret not in result.stdout + result.stderr
    assert {"dag", "dag_run", "task_instance", "alembic_version"} <= _tables(meta_dsn)
    assert {"articles", "rejects", "schema_migrations"} <= _tables(news_dsn)
    analyst = psycopg2.connect(make_dsn(news_dsn, user="analyst", password=analyst_password))
    with analyst.cursor() as cur:
        cur.execute("SELECT count(*) FROM v_articles")
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cur.execute("SELECT count(*) FROM articles")
    analyst.close()
    pipeline = psycopg2.connect(writer_dsn)
    with pipeline.cursor() as cur:
        cur.execute("SELECT pg_has_role(current_user, 'newsflow_writer', 'MEMBER')")
        assert cur.fetchone() == (True,)
    pipeline.close()
    assert json.loads(passwords.read_text()) == {"admin": "a-test-password"}
    assert passwords.stat().st_mode & 0o777 == 0o600
