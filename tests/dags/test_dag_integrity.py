"""Every DAG imports cleanly, needs no secrets at parse time, and is wired as documented."""

from datetime import timedelta

import pytest
from airflow.dag_processing.dagbag import DagBag


def test_every_dag_imports_without_errors(dagbag: DagBag) -> None:
    assert dagbag.import_errors == {}
    assert "news_ingest" in dagbag.dags


def test_every_dag_has_docs_tags_and_retries(dagbag: DagBag) -> None:
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, f"{dag_id} has no tags"
        assert dag.doc_md and dag.doc_md.strip(), f"{dag_id} has no doc_md"
        for task in dag.tasks:
            assert task.retries >= 1, f"{dag_id}.{task.task_id} has no retries"
            assert task.retry_delay >= timedelta(seconds=30)
            # A hung task (a host that never answers, a stuck parse) must not hold a night.
            assert task.execution_timeout is not None, f"{dag_id}.{task.task_id} has no timeout"
            assert timedelta(minutes=5) <= task.execution_timeout <= timedelta(hours=4)


def test_news_ingest_runs_the_stages_in_order_nightly(dagbag: DagBag) -> None:
    dag = dagbag.dags["news_ingest"]
    order = ["check_schema", "discover", "fetch", "clean", "extract_fields", "enrich",
             "load"]
    for upstream, downstream in zip(order, order[1:], strict=False):
        if upstream == "discover":  # fetch URLs and files, read WARC files beside it
            assert dag.get_task(upstream).downstream_task_ids == {"fetch", "read_warc"}
            assert dag.get_task("read_warc").downstream_task_ids == {"clean"}
            continue
        assert dag.get_task(upstream).downstream_task_ids == {downstream}
    assert dag.catchup is False
    assert dag.timetable.expression == "30 4 * * *"


def test_stage_tasks_pass_only_the_run_id_as_batch_key(dagbag: DagBag) -> None:
    dag = dagbag.dags["news_ingest"]
    for task_id in ("discover", "fetch", "clean", "extract_fields", "enrich", "load"):
        task = dag.get_task(task_id)
        assert "batch_key" in task.template_fields
        assert task.batch_key == "{{ run_id }}"
        assert task.news_conn_id == "news_db"
    # The news_articles event goes out through an alias, only when the load changed rows.
    [outlet] = dag.get_task("load").outlets
    assert (type(outlet).__name__, outlet.name) == ("AssetAlias", "news_articles_changed")


def test_read_warc_is_mapped_over_discover_and_clean_runs_without_warc_files(
    dagbag: DagBag,
) -> None:
    dag = dagbag.dags["news_ingest"]
    read_warc = dag.get_task("read_warc")
    # One task instance per WARC file id that discover returns.
    [(name, arg)] = read_warc.expand_input.value.items()
    assert name == "warc_file_id" and arg.operator.task_id == "discover"
    assert arg.key == "return_value"
    assert read_warc.partial_kwargs["batch_key"] == "{{ run_id }}"
    # An empty list skips read_warc; clean must still run after fetch, and must not run
    # when either failed.
    assert dag.get_task("clean").trigger_rule == "none_failed_min_one_success"
    assert dag.get_task("extract_fields").trigger_rule == "all_success"


def test_enrich_runs_on_the_configured_queue(dagbag: DagBag) -> None:
    from newsflow import settings

    assert dagbag.dags["news_ingest"].get_task("enrich").queue == settings.ENRICH_QUEUE == "default"


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        # A manual run in Airflow 3 has no logical date: the interval names are absent.
        ({}, ""),
        ({"data_interval_start": None, "data_interval_end": None}, ""),
        ({"data_interval_start": "2026-11-25T04:30:00+00:00",
          "data_interval_end": "2026-11-26T04:30:00+00:00"}, "2026-11-25T04:30:00+00:00"),
    ],
)
def test_discover_interval_renders_with_and_without_a_data_interval(
    dagbag: DagBag, context: dict, expected: str
) -> None:
    dag = dagbag.dags["news_ingest"]
    task = dag.get_task("discover")
    rendered = task.render_template(task.interval_start, context, dag.get_template_env())
    assert rendered == expected


def test_parsing_the_dags_does_not_import_the_heavy_libraries(
        heavy_imports_by_dag_file: dict[str, list[str]]) -> None:
    # The DAG processor re-parses every file often; trafilatura, NumPy, spaCy and
    # matplotlib belong to the tasks that use them (parsed in a fresh interpreter: see
    # tests/dags/conftest.py).
    assert {name: heavy_imports_by_dag_file[name]
            for name in ("news_ingest.py", "news_report.py")} == {
        "news_ingest.py": [], "news_report.py": []}
