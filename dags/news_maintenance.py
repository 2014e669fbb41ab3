"""
### news_maintenance

Daily housekeeping of the news database: drops the raw content of pages fetched more
than `$NEWSFLOW_RAW_PAGE_RETENTION_DAYS` days ago (default 180; 0 keeps every page).
The page rows stay, so articles remain valid; `news_reprocess` counts such pages as
`pruned` and skips them. Also forgets the remembered content keys of drop-folder files
deleted since a run read them (the drop root must be visible to this task, as to
`discover`; where it is not, nothing is forgotten). Both are idempotent: a re-run prunes
nothing new.
"""

from datetime import datetime, timedelta

from airflow.sdk import DAG
from airflow.sdk.definitions.timetables.trigger import CronTriggerTimetable

from newsflow_operators import (
    CheckSchemaOperator,
    ForgetGoneDropFilesOperator,
    PruneRawPagesOperator,
)

with DAG(
    dag_id="news_maintenance",
    doc_md=__doc__,
    # 03:15 UTC, before the nightly ingest at 04:30.
    schedule=CronTriggerTimetable("15 3 * * *", timezone="UTC"),
    start_date=datetime(2026, 11, 1),
    # Each run prunes everything due, so missed days need no replay.
    catchup=False,
    max_active_runs=1,
    default_args={
        "retries": 2,
        "retry_delay": timedelta(minutes=5),
        "execution_timeout": timedelta(hours=1),
    },
    tags=["newsflow", "maintenance"],
):
    check = CheckSchemaOperator(task_id="check_schema")
    prune = PruneRawPagesOperator(task_id="prune_raw_pages")
    forget = ForgetGoneDropFilesOperator(task_id="forget_gone_drop_files")

    check >> [prune, forget]
