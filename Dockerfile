# The newsflow image: Airflow's official image, the locked dependencies, the newsflow
# library, the DAGs and the plugins. Used by every Airflow service in docker-compose.yaml.
#
#   docker build -t newsflow-airflow .       (docker compose build does this)
#
# The slim image is Airflow with no extra providers: requirements.lock (made with
# `uv pip compile --generate-hashes`) then adds exactly what newsflow runs with, including
# the Celery and PostgreSQL providers, at the versions the tests ran with. Keep AIRFLOW_VERSION
# equal to apache-airflow in requirements.lock and PYTHON_VERSION to the Python it was
# compiled for; tests/deploy checks both.
ARG AIRFLOW_VERSION=3.3.2
ARG PYTHON_VERSION=3.11
FROM apache/airflow:slim-${AIRFLOW_VERSION}-python${PYTHON_VERSION}

# newsflow's own folder, writable by the airflow user (pip builds the library in it).
USER root
RUN mkdir -p /opt/newsflow && chown airflow:0 /opt/newsflow
USER airflow

# Every package pinned and hash-checked. The lock is the constraint: it pins apache-airflow
# to the image's own version (checked here first), so pip cannot swap Airflow for another
# release, and every other package to the version the tests ran with.
COPY --chown=airflow:0 requirements.lock /opt/newsflow/requirements.lock
RUN grep -q "^apache-airflow==${AIRFLOW_VERSION} " /opt/newsflow/requirements.lock \
        || { echo "requirements.lock does not pin apache-airflow==${AIRFLOW_VERSION}" >&2; exit 1; } \
    && pip install --no-cache-dir --require-hashes -r /opt/newsflow/requirements.lock

# The library (include/newsflow, with its SQL migrations), installed as a package.
COPY --chown=airflow:0 pyproject.toml /opt/newsflow/
COPY --chown=airflow:0 include/ /opt/newsflow/include/
RUN pip install --no-cache-dir --no-deps /opt/newsflow

COPY --chown=airflow:0 docker/ /opt/newsflow/docker/
COPY --chown=airflow:0 dags/ /opt/airflow/dags/
COPY --chown=airflow:0 plugins/ /opt/airflow/plugins/

# Named volumes start as a copy of these folders, so they belong to the airflow user.
RUN mkdir -p /opt/airflow/config /opt/airflow/logs

# The bundled source sets and demo drop folder; docker-compose.yaml points these at its
# mounted folders.
ENV NEWSFLOW_SOURCES_DIR=/opt/newsflow/include/sources \
    NEWSFLOW_DROP_ROOT=/opt/newsflow/include/demo
