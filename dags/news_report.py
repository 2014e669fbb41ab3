"""
### news_report

Runs each time `news_ingest` updates the `news_articles` asset (its `load` task succeeded):
refreshes the materialized reporting views, then writes the day's HTML report,
`$NEWSFLOW_REPORT_DIR/news-YYYY-MM-DD.html` (default `reports/`), covering the
`$NEWSFLOW_REPORT_DAYS` days (default 30) up to the day the run was queued.

The report is self-contained (charts inline), so it can be mailed or opened offline:
volume by source, top people, organisations and places with the change against the
previous period, top speakers with their latest quotes, source health with failing
sources in red, numbers in the news, and stories published more than once. A re-run of
the same day overwrites that day's file.
"""

from datetime import datetime, timedelta

from airflow.sdk import DAG, Asset

from newsflow import settings
from newsflow_operators import RefreshReportingViewsOperator, WriteReportOperator

# Asset-triggered runs have no logical date: the report is dated by when the run was queued.
REPORT_DAY = "{{ dag_run.run_after | ds }}"

with DAG(
    dag_id="news_report",
    doc_md=__doc__,
    # Defined by news_ingest (its load task's outlet); referenced by name, not redefined.
    schedule=[Asset.ref(name="news_articles")],
    start_date=datetime(2026, 11, 1),
    catchup=False,
    # Refreshes of one database queue behind each other anyway; one run at a time.
    max_active_runs=1,
    default_args={
        "retries": 2,
        "retry_delay": timedelta(minutes=1),
        "execution_timeout": timedelta(minutes=30),
    },
    tags=["newsflow", "report"],
):
    refresh = RefreshReportingViewsOperator(task_id="refresh_views")
    report = WriteReportOperator(
        task_id="write_report",
        report_date=REPORT_DAY,
        output_path=f"{settings.REPORT_DIR}/news-{REPORT_DAY}.html",
    )

    refresh >> report
