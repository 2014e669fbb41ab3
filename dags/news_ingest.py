"""
### news_ingest

Nightly ingestion of a named source set (a file `NAME.yaml` in `$NEWSFLOW_SOURCES_DIR`,
default `include/sources/`; scheduled runs take `$NEWSFLOW_SOURCE_SET`, default `default`):
check the schema → discover → fetch (and read_warc, one mapped task per WARC file of the
interval) → clean → extract fields → enrich (entities, quotes, numbers, dates,
near-duplicates) → load into PostgreSQL.

**What a run takes.** A scheduled or backfill run takes the inputs of its data interval
(04:30 to 04:30 UTC): sitemap entries and feed items by their dates, dropped files by
their modification times, undated inputs once (see docs/sources.md). A **manual**
run (the Trigger form, defaults and all) takes what is new: every input its sources list
that no earlier run took, however recent (a page dropped a minute ago too); only sitemap
entries dated before its interval are left to a backfill. Re-running a run takes the same
inputs again and leaves the same rows. Whatever a run leaves out is counted, with the
reason, in `discover`'s and `load`'s logs ("left out: demo-sitemap: 12 dated before this
interval — backfill to take them") and in `discover`'s XCom `left_out`.

**Backfill: which run covers which day.** A run's *logical date* is the start of its
interval; Airflow names the run (and the grid shows it) by its *run after* time, the end
of the interval, when it can run. Worked example: Trigger → Backfill, From 2026-11-19 To
2026-11-21 (the form makes To the end of that day) creates three runs:

| logical date (interval start) | covers (UTC) | run id / "run after" in the grid |
|---|---|---|
| 2026-11-19 04:30 | 19 Nov 04:30 → 20 Nov 04:30 | `backfill__2026-11-20T04:30:00+00:00` |
| 2026-11-20 04:30 | 20 Nov 04:30 → 21 Nov 04:30 | `backfill__2026-11-21T04:30:00+00:00` |
| 2026-11-21 04:30 | 21 Nov 04:30 → 22 Nov 04:30 | `backfill__2026-11-22T04:30:00+00:00` |

So the runs named 20, 21, 22 November load the articles of 19, 20 and 21 November: pick
the days whose articles you want. The nightly run named D 04:30 covers the day before.

Each task works on one batch, keyed by the run id; pages and intermediate results are
staged in the `news_db` database, so tasks pass nothing but that key. Loads are upserts
keyed by canonical URL, so re-running an interval (or two runs at once) gives the same
rows. Inputs that do not become articles are in `rejects` with their reason.

Trigger with another set (the form lists the sets found when the DAG was parsed) to
ingest it once. A configuration error (no such set, a set that breaks a rule, every
source's folder missing, a bad interval) fails `discover` at once, without retries, with
a one-line reason. The `news_articles` Asset event (which renders the report) is emitted
only when `load` inserted or changed articles.
"""

from datetime import datetime, timedelta

from airflow.sdk import DAG, Param, TriggerRule
from airflow.sdk.definitions.timetables.interval import CronDataIntervalTimetable

from newsflow import settings, sourcesets
from newsflow_assets import ARTICLES_CHANGED
from newsflow_operators import (
    CheckSchemaOperator,
    CleanPagesOperator,
    DiscoverArticlesOperator,
    EnrichArticlesOperator,
    ExtractFieldsOperator,
    FetchPagesOperator,
    LoadArticlesOperator,
    ReadWarcFileOperator,
)

BATCH_KEY = "{{ run_id }}"
# The sets a run may pick, as found now in the sources folder (the default always offered).
SOURCE_SETS = sorted({*sourcesets.set_names(), settings.DEFAULT_SOURCE_SET})

with DAG(
    dag_id="news_ingest",
    doc_md=__doc__,
    # 04:30 UTC, after most sources' overnight publishing; each run covers the previous
    # 24 hours as its data interval, so a backfilled date means that day's articles.
    schedule=CronDataIntervalTimetable("30 4 * * *", timezone="UTC"),
    start_date=datetime(2026, 11, 1),
    # Feeds only list recent items, so missed nights are not replayed automatically;
    # backfill a range from the UI when one is wanted.
    catchup=False,
    max_active_runs=2,
    default_args={
        "retries": 3,
        "retry_delay": timedelta(minutes=2),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=30),
        # No task may hold a night: a hung one is killed and retried.
        "execution_timeout": timedelta(minutes=30),
    },
    params={
        "source_set": Param(
            settings.DEFAULT_SOURCE_SET, type="string", enum=SOURCE_SETS, title="Source set",
            description="The named set of sources to ingest (a file NAME.yaml in the"
            " deployment's sources folder).",
        ),
    },
    tags=["newsflow", "ingest"],
):
    check = CheckSchemaOperator(task_id="check_schema")
    discover = DiscoverArticlesOperator(
        task_id="discover",
        execution_timeout=timedelta(hours=1),
        batch_key=BATCH_KEY,
        source_set="{{ params.source_set }}",
        # Sitemap dates and file times pick the inputs of this interval; a manual run
        # (the operator reads dag_run.run_type) takes what no run took, from its
        # interval's start on. Without an interval the names are left out of the context.
        interval_start="{{ data_interval_start | default('', true) }}",
        interval_end="{{ data_interval_end | default('', true) }}",
    )
    # Longer than a source's fetch budget (settings.SOURCE_FETCH_SECONDS), which defers
    # the rest of a slow source's pages to the next run before this is reached. While it
    # waits on hosts, fetch cleans what it has fetched (settings.CLEAN_DURING_FETCH);
    # clean cleans the rest.
    fetch = FetchPagesOperator(
        task_id="fetch", batch_key=BATCH_KEY,
        execution_timeout=timedelta(seconds=settings.SOURCE_FETCH_SECONDS) + timedelta(hours=1),
    )
    # One task per WARC file of the interval (none without warc sources: then skipped);
    # a CC-NEWS file is about 1 GB to download and read.
    read_warc = ReadWarcFileOperator.partial(
        task_id="read_warc", batch_key=BATCH_KEY, execution_timeout=timedelta(hours=2)
    ).expand(warc_file_id=discover.output)
    # Runs when fetch succeeded and read_warc succeeded or was skipped (no WARC files).
    clean = CleanPagesOperator(
        task_id="clean", batch_key=BATCH_KEY, trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS
    )
    extract = ExtractFieldsOperator(task_id="extract_fields", batch_key=BATCH_KEY)
    # spaCy work: a CeleryExecutor deployment can route it to workers of its own.
    enrich = EnrichArticlesOperator(
        task_id="enrich", batch_key=BATCH_KEY, queue=settings.ENRICH_QUEUE,
        execution_timeout=timedelta(hours=2),
    )
    # Emits the news_articles event (news_report's trigger) only when articles changed.
    load = LoadArticlesOperator(task_id="load", batch_key=BATCH_KEY, outlets=[ARTICLES_CHANGED])

    check >> discover >> [fetch, read_warc] >> clean >> extract >> enrich >> load
