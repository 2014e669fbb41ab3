"""news_reprocess and news_maintenance: manual-only re-extraction with a validated trigger
form, daily raw-page retention; both parse without the heavy libraries."""

import copy

import pytest
from airflow.dag_processing.dagbag import DagBag

STAGES = ["check_schema", "stage_pages", "clean", "extract_fields", "enrich", "load"]


def test_news_reprocess_is_manual_and_updates_the_articles_asset(dagbag: DagBag) -> None:
    dag = dagbag.dags["news_reprocess"]
    assert type(dag.timetable).__name__ == "NullTimetable"  # schedule=None: by hand only
    assert dag.max_active_runs == 1
    for upstream, downstream in zip(STAGES, STAGES[1:], strict=False):
        assert dag.get_task(upstream).downstream_task_ids == {downstream}
    # No fetch anywhere: re-extraction reads stored pages.
    assert not {"discover", "fetch"} & set(dag.task_ids)
    # news_ingest emits the same asset's events through an alias, when articles changed.
    assert [o.name for o in dag.get_task("load").outlets] == ["news_articles_changed"]
    for task in dag.tasks:
        assert task.retries == 2


def test_news_reprocess_params_have_types_defaults_and_descriptions(dagbag: DagBag) -> None:
    params = dagbag.dags["news_reprocess"].params
    assert set(params) == {"start_date", "end_date", "sources", "stages", "dry_run"}
    for name in params:
        param = params.get_param(name)
        assert param.description, name
        assert "type" in param.schema, name
    assert params.validate() == {
        "start_date": None, "end_date": None, "sources": [],
        "stages": ["clean", "fields", "enrichment"], "dry_run": True,
    }


@pytest.mark.parametrize(
    ("conf", "complaint"),
    [
        ({"start_date": "2026-13-01"}, "is not a 'date'"),
        ({"end_date": "yesterday"}, "is not a 'date'"),
        ({"stages": ["fetch"]}, "is not one of"),
        ({"stages": []}, "should be non-empty"),
        ({"stages": ["clean", "clean"]}, "non-unique elements"),
        ({"dry_run": "no"}, "is not of type 'boolean'"),
        ({"sources": "feed"}, "is not of type 'null', 'array'"),
        ({"start_date": "2026-11-31"}, "is not a 'date'"),
        ({"start_date": "20261101"}, "is not a 'date'"),
    ],
)
def test_news_reprocess_trigger_form_rejects_bad_params(
    dagbag: DagBag, conf: dict, complaint: str
) -> None:
    # What Airflow runs on trigger (UI, API, CLI, backfill), on the serialized DAG the
    # scheduler and API server hold: the params merged with the conf and validated.
    from airflow.serialization.serialized_objects import DagSerialization

    dag = DagSerialization.from_dict(DagSerialization.to_dict(dagbag.dags["news_reprocess"]))
    dag.params.deep_merge({}).validate()  # the defaults pass
    with pytest.raises(ValueError, match=complaint):
        dag.params.deep_merge(conf).validate()


def test_news_reprocess_form_fields_read_as_their_help_says(dagbag: DagBag) -> None:
    # Airflow's form (FlexibleForm) marks a typed field required unless "null" is among its
    # types, and draws `format: date` as the browser's date picker (mm/dd/yyyy in en-US).
    params = dagbag.dags["news_reprocess"].params
    for name in ("start_date", "end_date", "sources"):
        assert "null" in params.get_param(name).schema["type"], name
    for name in ("start_date", "end_date"):
        param = params.get_param(name)
        assert "format" not in param.schema and "YYYY-MM-DD" in param.description, name
    # Emptied in the form, the list arrives as null: every source.
    merged = copy.deepcopy(params)
    merged.update({"sources": None})
    assert merged.validate()["sources"] is None


def test_news_reprocess_renders_params_for_the_stage_task(dagbag: DagBag) -> None:
    dag = dagbag.dags["news_reprocess"]
    task = dag.get_task("stage_pages")
    params = copy.deepcopy(dag.params)
    params.update({"start_date": "2026-11-01", "sources": ["a", "b"],
                   "stages": ["fields", "enrichment"], "dry_run": False})
    context = {"params": params.validate(), "run_id": "manual__x"}
    env = dag.get_template_env()
    rendered = {name: task.render_template(getattr(task, name), context, env)
                for name in task.template_fields}
    assert rendered == {"batch_key": "manual__x", "fetched_from": "2026-11-01", "fetched_to": "",
                        "sources": "a,b", "stages": "fields,enrichment", "dry_run": "False"}
    params.update({"sources": None})
    context = {"params": params.validate(), "run_id": "manual__x"}
    assert task.render_template(task.sources, context, env) == ""


def test_news_maintenance_prunes_daily_before_the_nightly_ingest(dagbag: DagBag) -> None:
    dag = dagbag.dags["news_maintenance"]
    assert dag.timetable.expression == "15 3 * * *"
    assert dag.catchup is False and dag.max_active_runs == 1
    assert dag.get_task("check_schema").downstream_task_ids == {"prune_raw_pages",
                                                                 "forget_gone_drop_files"}
    assert dag.get_task("prune_raw_pages").retention_days is None  # the setting, at run time


def test_parsing_the_new_dags_does_not_import_the_heavy_libraries(
        heavy_imports_by_dag_file: dict[str, list[str]]) -> None:
    assert {name: heavy_imports_by_dag_file[name]
            for name in ("news_reprocess.py", "news_maintenance.py")} == {
        "news_reprocess.py": [], "news_maintenance.py": []}
