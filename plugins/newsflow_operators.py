"""Thin Airflow operators over the newsflow library: each runs one pipeline stage on one batch.

The operators only connect (through ``PostgresHook``, in ``execute``) and call the
stages (``newsflow.discovery``, ``newsflow.fetch_stage``, ``newsflow.pipeline``,
``newsflow.load_stage``); all logic lives in the library. They hand each other nothing
but the batch key: pages and results are staged in PostgreSQL.

The library is imported in ``run``, not here: it loads trafilatura, NumPy and more,
which every parse of a DAG file would otherwise pay for.
"""

from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from airflow.providers.postgres.hooks.postgres import PostgresHook
from airflow.sdk import BaseOperator, Context


class _NewsDatabaseOperator(BaseOperator):
    """Runs ``run(conn)`` on a connection to the news database, made at execution time."""

    ui_color = "#e8f1fb"

    def __init__(self, *, news_conn_id: str = "news_db", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.news_conn_id = news_conn_id

    def execute(self, context: Context) -> Any:
        conn = PostgresHook(postgres_conn_id=self.news_conn_id).get_conn()
        try:
            return self.run(conn)
        finally:
            conn.close()

    def run(self, conn: Any) -> Any:
        raise NotImplementedError


class CheckSchemaOperator(_NewsDatabaseOperator):
    """Fail at once, without retries, when the news database lacks a bundled migration.

    DAGs do not migrate: the pipeline's login may not change the schema. Migrations run
    when the deployment starts (``newsflow migrate`` as the owner).
    """

    def run(self, conn: Any) -> None:
        from airflow.sdk.exceptions import AirflowFailException

        from newsflow import storage

        pending = storage.pending_migrations(conn)
        if pending:
            raise AirflowFailException(
                f"the news database lacks {len(pending)} migration(s) ({', '.join(pending)}):"
                " run `newsflow migrate` as the schema's owner (docker compose: restart"
                " airflow-init; make run does it at start-up)"
            )
        self.log.info("the news database schema is current")


class _BatchStageOperator(_NewsDatabaseOperator):
    """Runs the pipeline stage ``<stage>(conn, batch_key)`` on one batch: ``fetch`` from
    ``newsflow.fetch_stage``, the others from ``newsflow.pipeline``."""

    template_fields: Sequence[str] = ("batch_key",)
    stage: str

    def __init__(self, *, batch_key: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.batch_key = batch_key

    def run(self, conn: Any) -> Any:
        from newsflow import fetch_stage, pipeline

        module = fetch_stage if self.stage == "fetch" else pipeline
        return getattr(module, self.stage)(conn, self.batch_key)


class DiscoverArticlesOperator(_BatchStageOperator):
    """Stage the inputs of the enabled sources that the run takes.

    ``source_set`` names a source set in ``$NEWSFLOW_SOURCES_DIR`` (templated from the
    run's params); a run cannot name a file. ``interval_start``/``interval_end`` are ISO
    8601 strings (templated from the run's data interval). Scheduled and backfill runs
    take the inputs of their interval; a manual run (``dag_run.run_type``, read here)
    takes what is new: every input no other run took, dated from its interval's start on
    (see ``newsflow.discovery.discover``). What is left out, and why, is logged and pushed
    as the XCom ``left_out``. A configuration error (no such set, a file that is no
    regular file or too large, a source asking for what only the deployment may allow,
    every source's folder missing or outside the drop root, an interval that is no
    time) fails the task at once, without retries, with a one-line reason.

    WARC sources' files are listed (``warc_files``), not read: the task returns their
    ids, one ``ReadWarcFileOperator`` instance per id; the per-source counts go to the
    XCom ``stats``.
    """

    template_fields: Sequence[str] = ("batch_key", "source_set", "interval_start",
                                      "interval_end")

    def __init__(
        self,
        *,
        source_set: str,
        interval_start: str | None = None,
        interval_end: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.source_set = source_set
        self.interval_start = interval_start
        self.interval_end = interval_end

    def execute(self, context: Context) -> list[int]:
        """Discover; returns the ids of the run's WARC files (what ``read_warc`` is mapped
        over: Airflow maps only over a task's return value)."""
        from airflow.sdk.exceptions import AirflowFailException

        from newsflow import discovery
        from newsflow.sources import parse_moment
        from newsflow.sourcesets import SourceConfigError, set_path

        self.run_type = run_type(context)
        # A manual run takes what is new; scheduled and backfill runs their interval.
        self.mode = "new" if self.run_type == "manual" else "interval"
        try:
            self.interval = (parse_moment(self.interval_start), parse_moment(self.interval_end))
        except ValueError as error:
            raise AirflowFailException(f"bad data interval: {error}") from None
        try:  # no retry can fix these
            self.sources_path = set_path(self.source_set)
            stats = super().execute(context)
        except SourceConfigError as error:
            raise AirflowFailException(" ".join(str(error).split())) from None
        context["ti"].xcom_push(key="stats", value=stats)
        context["ti"].xcom_push(key="left_out", value=discovery.left_out(stats))
        return self.warc_file_ids

    def run(self, conn: Any) -> Any:
        from newsflow import archives, discovery

        self.log.info("run type %s: discover mode %r", self.run_type, self.mode)
        stats = discovery.discover(conn, self.batch_key, self.sources_path, *self.interval,
                                   mode=self.mode)
        self.warc_file_ids = archives.batch_files(conn, self.batch_key)
        return stats


def run_type(context: Context) -> str:
    """The run's type as a plain string: ``manual``, ``scheduled``, ``backfill``, ..."""
    kind = getattr(context.get("dag_run"), "run_type", None)
    return str(getattr(kind, "value", kind or ""))


class ReadWarcFileOperator(_BatchStageOperator):
    """Read one WARC file of the batch (listed by discover) into its staged pages.

    Map it over discover's XCom ``warc_files``: one task instance per file, so workers
    share a day's files and a failed file retries alone. On its last try, a file that
    cannot be downloaded is rejected instead of failing the run.
    """

    template_fields: Sequence[str] = ("batch_key", "warc_file_id")

    def __init__(self, *, warc_file_id: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.warc_file_id = warc_file_id

    def execute(self, context: Context) -> Any:
        self.last_try = context["ti"].try_number > self.retries
        return super().execute(context)

    def run(self, conn: Any) -> Any:
        from newsflow import archives

        return archives.read_file(conn, self.batch_key, int(self.warc_file_id),
                                  last_try=self.last_try)


class FetchPagesOperator(_BatchStageOperator):
    """Fetch or read every discovered input of the batch."""

    stage = "fetch"


class CleanPagesOperator(_BatchStageOperator):
    """Clean every fetched page of the batch with trafilatura or the plain-text parser."""

    stage = "clean"


class ExtractFieldsOperator(_BatchStageOperator):
    """Decide title, authors, dates and the other stored fields of each cleaned page."""

    stage = "extract"


class EnrichArticlesOperator(_BatchStageOperator):
    """Find the entities, quotes, numbers, dates and MinHash of each extracted article.

    CPU-heavy (spaCy): give it ``queue=`` to run it on workers of its own.
    """

    ui_color = "#f3e8fb"
    stage = "enrich"


class LoadArticlesOperator(_BatchStageOperator):
    """Upsert the batch's articles into PostgreSQL in one transaction.

    An ``Asset`` outlet gets an event whenever the task succeeds. Through an
    ``AssetAlias`` outlet (``newsflow_assets.ARTICLES_CHANGED``) the task emits the
    ``news_articles`` event only when the load inserted or changed articles, so runs
    that changed nothing do not re-render what depends on them. The lines discover left
    out (its XCom ``left_out``, if any) are repeated at the end of the log: the run's
    summary.
    """

    def run(self, conn: Any) -> Any:
        from newsflow import load_stage

        summary, self.changed = load_stage.load_batch(conn, self.batch_key)
        return summary

    def execute(self, context: Context) -> Any:
        from airflow.sdk import AssetAlias

        from newsflow_assets import ARTICLES

        summary = super().execute(context)
        for outlet in self.outlets:
            if isinstance(outlet, AssetAlias) and self.changed:
                context["outlet_events"][outlet].add(ARTICLES,
                                                     extra={"articles_changed": self.changed})
        self.log.info("summary: %d articles new or changed; %s", self.changed,
                      f"{ARTICLES.name} updated" if self.changed else
                      f"no {ARTICLES.name} event (nothing changed)")
        left_out = context["ti"].xcom_pull(task_ids="discover", key="left_out") or []
        for line in left_out:
            self.log.warning("summary: left out: %s", line)
        return summary


class RefreshReportingViewsOperator(_NewsDatabaseOperator):
    """Recompute the materialized reporting views; readers keep the old rows until it commits."""

    def run(self, conn: Any) -> None:
        # Imported here: reporting loads matplotlib, which DAG parsing need not pay for.
        from newsflow import reporting

        reporting.refresh_views(conn)
        self.log.info("reporting views refreshed")


class WriteReportOperator(_NewsDatabaseOperator):
    """Write the HTML report of the ``days`` days up to ``report_date`` to ``output_path``.

    Both are templated, e.g. ``report_date="{{ dag_run.run_after | ds }}"``. The views are
    read as they are: refresh them in a task before this one.
    """

    template_fields: Sequence[str] = ("output_path", "report_date")

    def __init__(
        self, *, output_path: str, report_date: str, days: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.output_path = output_path
        self.report_date = report_date
        self.days = days

    def run(self, conn: Any) -> str:
        from newsflow import reporting, settings

        end = date.fromisoformat(self.report_date)
        start = end - timedelta(days=(self.days or settings.REPORT_DAYS) - 1)
        path = reporting.write_report(conn, Path(self.output_path), start, end, refresh=False)
        self.log.info("report of %s to %s written to %s", start, end, path)
        return str(path)


class StageReprocessOperator(_BatchStageOperator):
    """Stage stored raw pages into the batch for re-extraction; nothing is fetched.

    All arguments are strings, templated from the run's params: ``fetched_from`` and
    ``fetched_to`` (fetch days, ``YYYY-MM-DD``, empty for open), ``sources`` and ``stages``
    (comma-separated; sources as analysts see them), ``dry_run`` ("True"/"False"). Bad
    values fail the task at once, without retries. A dry run succeeds with its plan as the
    first lines of its log and as the XCom ``plan``, and skips every later task (so the
    stages and the Asset update do not run): the plan sits in a green task, where a user
    looks, not in one shown as skipped.
    """

    template_fields: Sequence[str] = ("batch_key", "fetched_from", "fetched_to", "sources",
                                      "stages", "dry_run")

    def __init__(
        self,
        *,
        fetched_from: str = "",
        fetched_to: str = "",
        sources: str = "",
        stages: str = "clean,fields,enrichment",
        dry_run: str = "False",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.fetched_from = fetched_from
        self.fetched_to = fetched_to
        self.sources = sources
        self.stages = stages
        self.dry_run = dry_run

    def execute(self, context: Context) -> Any:
        from airflow.sdk.exceptions import AirflowFailException, DownstreamTasksSkipped

        from newsflow import reprocess

        try:
            self.request = reprocess.parse_request(
                self.fetched_from, self.fetched_to, self.sources, self.stages, self.dry_run
            )
        except reprocess.ReprocessError as error:
            raise AirflowFailException(f"bad params: {error}") from error
        summary = super().execute(context)
        if not self.request.dry_run:
            return summary
        context["ti"].xcom_push(key="plan", value=summary)
        self.log.info("%s", reprocess.plan_text(summary))
        # This task succeeds; the stages after it are skipped (as ShortCircuitOperator does).
        raise DownstreamTasksSkipped(
            tasks=[task.task_id for task in self.get_flat_relatives(upstream=False)]
        )

    def run(self, conn: Any) -> Any:
        from newsflow import reprocess

        return reprocess.reprocess(conn, self.batch_key, self.request)


class PruneRawPagesOperator(_NewsDatabaseOperator):
    """Drop the raw content of pages older than ``retention_days`` (default: the setting)."""

    def __init__(self, *, retention_days: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.retention_days = retention_days

    def run(self, conn: Any) -> dict[str, int]:
        from newsflow import retention, settings

        days = self.retention_days
        return retention.prune_raw_pages(
            conn, settings.RAW_PAGE_RETENTION_DAYS if days is None else days
        )


class ForgetGoneDropFilesOperator(_NewsDatabaseOperator):
    """Forget the remembered keys of drop-folder files deleted since a run read them."""

    def run(self, conn: Any) -> dict[str, int]:
        from newsflow import retention, settings

        return retention.prune_drop_file_keys(conn, settings.drop_root())
