"""The DagBag of this project's dags/, parsed once for the DAG tests."""

import pytest
from airflow.dag_processing.dagbag import DagBag

from tests.conftest import ROOT


@pytest.fixture(scope="session")
def dagbag() -> DagBag:
    with pytest.MonkeyPatch.context() as patch:
        # No connection and no database configured: parsing must not need them.
        patch.delenv("AIRFLOW_CONN_NEWS_DB", raising=False)
        patch.delenv("NEWSFLOW_DSN", raising=False)
        return DagBag(dag_folder=str(ROOT / "dags"))
