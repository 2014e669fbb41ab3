"""The DagBag of this project's dags/, parsed once for the DAG tests, and what parsing the
DAG files imports, found once in a fresh interpreter."""

import json
import os
import subprocess
import sys

import pytest
from airflow.dag_processing.dagbag import DagBag

from tests.conftest import AIRFLOW_ENV, ROOT


@pytest.fixture(scope="session")
def dagbag() -> DagBag:
    with pytest.MonkeyPatch.context() as patch:
        # No connection and no database configured: parsing must not need them.
        patch.delenv("AIRFLOW_CONN_NEWS_DB", raising=False)
        patch.delenv("NEWSFLOW_DSN", raising=False)
        return DagBag(dag_folder=str(ROOT / "dags"))


# Modules that belong to the tasks that use them, never to parsing a DAG file.
HEAVY = ("trafilatura", "numpy", "spacy", "matplotlib", "newsflow.pipeline",
         "newsflow.item_stage", "newsflow.load_stage",
         "newsflow.reprocess")
DAG_FILES = ("news_ingest.py", "news_report.py", "news_reprocess.py", "news_maintenance.py")


@pytest.fixture(scope="session")
def heavy_imports_by_dag_file() -> dict[str, list[str]]:
    """Per DAG file, the heavy modules that were first imported while parsing it.

    The DAG processor re-parses every file often. One fresh interpreter (so nothing other
    tests imported counts) parses the files one after another, as the DAG processor's
    parsing process would; a module is charged to the first file after which it is there.
    """
    script = (
        "import json, runpy, sys\n"
        f"sys.path[:0] = [{str(ROOT / 'plugins')!r}, {str(ROOT / 'include')!r}]\n"
        "found, seen = {}, set()\n"
        f"for name in {DAG_FILES!r}:\n"
        f"    runpy.run_path({str(ROOT / 'dags')!r} + '/' + name)\n"
        f"    found[name] = [m for m in {HEAVY!r} if m in sys.modules and m not in seen]\n"
        "    seen.update(found[name])\n"
        "print(json.dumps(found))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True, env={**os.environ, **AIRFLOW_ENV})
    return json.loads(result.stdout.strip().splitlines()[-1])
