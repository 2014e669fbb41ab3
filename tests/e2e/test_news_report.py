"""news_report through Airflow for real: `airflow dags test` refreshes the views of a database
filled by the pipeline and writes the day's self-contained HTML report."""

import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import psycopg2
import pytest

from newsflow import storage
from tests.conftest import AIRFLOW_ENV, ROOT, SEED, airflow_conn_uri
from tests.integration.conftest import run_batch

pytestmark = pytest.mark.e2e


def test_news_report_refreshes_the_views_and_writes_the_days_report(
    news_dsn: str, writer_dsn: str, tmp_path: Path, migrated_airflow_home: Path,
) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    shutil.copy(SEED, drop)
    sources = tmp_path / "sources.yaml"
    sources.write_text(f"sources:\n  - {{name: drop, kind: folder, path: '{drop}'}}\n")
    conn = storage.connect(writer_dsn)
    run_batch(conn, "b1", sources)
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM v_entity_days")
        assert cur.fetchone() == (0,)  # materialized, not refreshed yet
    conn.close()

    reports = tmp_path / "reports"
    env = {
        **os.environ, **AIRFLOW_ENV,
        "AIRFLOW_HOME": str(migrated_airflow_home),  # migrated once (tests/e2e/conftest.py)
        "AIRFLOW_CONN_NEWS_DB": airflow_conn_uri(writer_dsn),
        "NEWSFLOW_REPORT_DIR": str(reports),
    }
    airflow = str(Path(sys.executable).parent / "airflow")
    queued_on = datetime.now(UTC).date()
    result = subprocess.run([airflow, "dags", "test", "news_report"], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    [report] = reports.iterdir()
    # Dated by the day the run was queued (asset-triggered runs have no logical date): the
    # day the command started, or the next if it ran past midnight UTC.
    assert report.name in {f"news-{day}.html" for day in (queued_on, datetime.now(UTC).date())}
    page = report.read_text(encoding="utf-8")
    assert page.count("<svg") == 6 and "John Kerry" in page
    with psycopg2.connect(news_dsn) as check, check.cursor() as cur:
        cur.execute("SELECT articles FROM v_entity_days WHERE name = 'John Kerry'")
        assert cur.fetchall() == [(1,)]
