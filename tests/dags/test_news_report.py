"""news_report is triggered by the articles asset news_ingest updates, and wired as documented."""

from airflow.dag_processing.dagbag import DagBag


def test_news_report_runs_when_news_ingest_loads_articles(dagbag: DagBag) -> None:
    assert dagbag.import_errors == {}
    report = dagbag.dags["news_report"]
    assert type(report.timetable).__name__ == "AssetTriggeredTimetable"
    # The schedule names the very asset news_ingest's load task emits (through its alias,
    # when articles changed), as news_reprocess's load does.
    from newsflow_assets import ARTICLES, ARTICLES_CHANGED

    assert dagbag.dags["news_ingest"].get_task("load").outlets == [ARTICLES_CHANGED]
    assert dagbag.dags["news_reprocess"].get_task("load").outlets == [ARTICLES_CHANGED]
    assert [ref.name for ref in report.timetable.asset_condition.objects] == [ARTICLES.name]
    assert report.catchup is False and report.max_active_runs == 1


def test_news_report_refreshes_then_writes_a_dated_report(dagbag: DagBag) -> None:
    from newsflow import settings

    report = dagbag.dags["news_report"]
    assert report.get_task("refresh_views").downstream_task_ids == {"write_report"}
    task = report.get_task("write_report")
    assert {"output_path", "report_date"} <= set(task.template_fields)
    assert task.report_date == "{{ dag_run.run_after | ds }}"
    assert task.output_path == f"{settings.REPORT_DIR}/news-{{{{ dag_run.run_after | ds }}}}.html"
    assert task.news_conn_id == "news_db"
