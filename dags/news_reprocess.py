"""
### news_reprocess

Re-extraction of raw pages already stored, **without any network access**: pick the
pages by the UTC days they were fetched and by source, pick the stages to redo, and the
run re-cleans, re-extracts and/or re-enriches them, then loads through the same upsert
as `news_ingest`, which updates the `news_articles` asset when articles changed.

Stages: `clean` (from the raw page), `fields` (from the last stored cleaned document),
`enrichment` (from the last stored fields). The earliest chosen stage and every later
one run, because each reads the one before. A changed article keeps its previous fields
in `article_versions` (diff them in `v_article_field_changes`); a re-extraction with the
same extractor version changes nothing.

`sources` are the source names analysts see (`v_articles.source_name`: the source that
first loaded the article), not the source that fetched a page last; empty: every source.

`dry_run` (on by default) changes nothing: `stage_pages` succeeds and its log opens with
the plan (how many pages it would re-run, per source, and which stages; also the XCom
`plan`), and the later tasks are skipped. (Airflow 3.3 gives a task no way to set its
run's note, so the plan is in that log.)
Pages whose raw content the retention job pruned are counted and skipped, not errors.
Bad params fail the trigger form (types, formats) or, for a start after the end, the
first task, at once and without retries.
"""

from datetime import datetime, timedelta

from airflow.sdk import DAG, Param

from newsflow import settings
from newsflow_assets import ARTICLES_CHANGED
from newsflow_operators import (
    CheckSchemaOperator,
    CleanPagesOperator,
    EnrichArticlesOperator,
    ExtractFieldsOperator,
    LoadArticlesOperator,
    StageReprocessOperator,
)

BATCH_KEY = "{{ run_id }}"
# A fetch day typed as YYYY-MM-DD, or empty. Not the top-level `format: date`: Airflow's form
# draws that as the browser's date picker, which shows the locale's order (mm/dd/yyyy). The
# date check stays (in allOf, where the form does not look): "2026-11-31" fails the trigger.
FETCH_DAY = {"type": ["null", "string"], "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
             "allOf": [{"format": "date"}]}

with DAG(
    dag_id="news_reprocess",
    doc_md=__doc__,
    # Manual only: triggered from the UI form (or `airflow dags trigger --conf`).
    schedule=None,
    start_date=datetime(2026, 11, 1),
    catchup=False,
    # Re-extraction is CPU-heavy and rewrites many articles: one at a time.
    max_active_runs=1,
    default_args={
        "retries": 2,
        "retry_delay": timedelta(minutes=1),
        # A re-extraction may cover months of pages: generous, but never unbounded.
        "execution_timeout": timedelta(hours=4),
    },
    params={
        "start_date": Param(
            None, **FETCH_DAY, title="From (fetch day, UTC)",
            description="First day (YYYY-MM-DD, UTC) the pages were fetched; empty: no limit.",
        ),
        "end_date": Param(
            None, **FETCH_DAY, title="To (fetch day, UTC)",
            description="Last day (YYYY-MM-DD, UTC, inclusive) the pages were fetched; empty:"
            " no limit. Must not be before the start.",
        ),
        # Optional ("null" allowed): the form marks a field required unless it may be null.
        "sources": Param(
            [], type=["null", "array"], items={"type": "string"}, title="Sources",
            description="Source names as analysts see them (v_articles.source_name), one per"
            " line; empty: all.",
        ),
        "stages": Param(
            ["clean", "fields", "enrichment"], type="array", minItems=1, uniqueItems=True,
            items={"type": "string", "enum": ["clean", "fields", "enrichment"]},
            title="Stages",
            description="Stages to redo: clean (from the raw page), fields, enrichment."
            " The earliest chosen and every later stage run.",
        ),
        "dry_run": Param(
            True, type="boolean", title="Dry run",
            description="Only report how many pages per source would be re-run, and which"
            " stages; change nothing.",
        ),
    },
    tags=["newsflow", "reprocess"],
):
    check = CheckSchemaOperator(task_id="check_schema")
    stage = StageReprocessOperator(
        task_id="stage_pages",
        batch_key=BATCH_KEY,
        fetched_from="{{ params.start_date or '' }}",
        fetched_to="{{ params.end_date or '' }}",
        sources="{{ (params.sources or []) | join(',') }}",
        stages="{{ params.stages | join(',') }}",
        dry_run="{{ params.dry_run }}",
    )
    clean = CleanPagesOperator(task_id="clean", batch_key=BATCH_KEY)
    extract = ExtractFieldsOperator(task_id="extract_fields", batch_key=BATCH_KEY)
    enrich = EnrichArticlesOperator(
        task_id="enrich", batch_key=BATCH_KEY, queue=settings.ENRICH_QUEUE
    )
    load = LoadArticlesOperator(task_id="load", batch_key=BATCH_KEY, outlets=[ARTICLES_CHANGED])

    check >> stage >> clean >> extract >> enrich >> load
