# newsflow: `make run` starts the whole thing, `make test` runs every test.
# Both bootstrap .venv from requirements.lock first (offline but for the package index).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

ARGS ?=

.PHONY: install run airflow test lint clean celery-check compose-check eval bench-enrich bench bench-warc faults

install: $(STAMP)

# Reinstalls when the lock or the package metadata changes.
$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check pip==26.3 uv==0.13.9
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@

run: install
	bash scripts/run.sh

# The Airflow CLI against the running `make run`: make airflow ARGS="dags list-runs news_ingest"
airflow: install
	scripts/airflow $(ARGS)

test: install
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

# news_ingest on CeleryExecutor with two workers and a real Redis, compared with a
# LocalExecutor run (also part of `make test`; this runs it alone, with its timings).
celery-check: install
	NEWSFLOW_CELERY_CHECK=1 $(BIN)/python -m pytest -q -s -p no:cacheprovider tests/e2e/test_celery.py

# docker-compose.yaml against the compose-spec schema (offline) and the deployment tests.
compose-check: install
	$(BIN)/check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yaml
	$(BIN)/python -m pytest -q tests/deploy

# Extraction quality on the shared corpora, newsflow next to trafilatura alone (not part of
# `make test`): make eval [EVAL_DIR=../shared/eval] [EVAL_ARGS="--jobs 2"]
EVAL_DIR ?= ../shared/eval
EVAL_ARGS ?= --jobs 2
eval: install
	$(BIN)/python -m newsflow.evaluation $(EVAL_DIR) $(EVAL_ARGS)

# Enrichment alone (spaCy, quotes, numbers, dates, MinHash): articles/s and peak memory on
# the aeb bodies and the seed (not part of `make test`).
bench-enrich: install
	$(BIN)/python -m newsflow.enrichment_bench --ground-truth $(EVAL_DIR)/aeb/ground-truth.json

# The fault suite: hostile servers, bad input, a database stopped mid-load, a task killed
# with SIGKILL; prints each scenario's ledger (inputs, articles, rejects, lost, duplicates).
# Its fast scenarios also run in `make test`; this adds the slow ones.
faults: install
	NEWSFLOW_FAULTS=1 $(BIN)/python -m pytest -q -p no:cacheprovider tests/faults

# Throughput: news_ingest on a real Airflow (LocalExecutor, scheduler) over N pages of the
# eval corpora served on 40 loopback hosts, against its own components in one process, load
# alone and news-please in its own venv; N = 500, 1,000, 2,000 (not part of `make test`;
# 11 min on 2 quiet cores, ~20 when shared): make bench [BENCH_ARGS="--pages 1000 --scale --no-peer"]
# Then the WARC run (newsflow.warc_bench): one generated WARC of the eval pages, records/s
# read, articles/s with and without enrichment, news-please's CC-NEWS extractor on the
# same file: make bench-warc [WARC_BENCH_ARGS="--records 2000 --enrich-records 500"]
BENCH_ARGS ?=
WARC_BENCH_ARGS ?=
bench: install
	$(BIN)/python -m newsflow.benchmark --eval-dir $(EVAL_DIR) $(BENCH_ARGS)
	$(BIN)/python -m newsflow.warc_bench --eval-dir $(EVAL_DIR) $(WARC_BENCH_ARGS)

bench-warc: install
	$(BIN)/python -m newsflow.warc_bench --eval-dir $(EVAL_DIR) $(WARC_BENCH_ARGS)

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .airflow .pytest_cache .ruff_cache
