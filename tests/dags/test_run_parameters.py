"""Run parameters cannot reach outside the deployment: news_ingest's real discover operator.

Each rule fails the task at once (AirflowFailException: no retries) with a one-line reason
that quotes nothing of the files involved.
"""

import os
from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.sdk.exceptions import AirflowFailException

from tests.conftest import airflow_conn_uri

SECRET = "s3cr3t-line-of-the-file"


@pytest.fixture
def sets(tmp_path: Path, writer_dsn: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A sources folder, a drop root beside it, and the news_db connection as the writer."""
    folder, drop_root = tmp_path / "sets", tmp_path / "drops"
    (drop_root / "inbox").mkdir(parents=True)
    folder.mkdir()
    (folder / "good.yaml").write_text("sources:\n  - {name: inbox, kind: folder, path: inbox}\n")
    monkeypatch.setenv("NEWSFLOW_SOURCES_DIR", str(folder))
    monkeypatch.setenv("NEWSFLOW_DROP_ROOT", str(drop_root))
    monkeypatch.setenv("AIRFLOW_CONN_NEWS_DB", airflow_conn_uri(writer_dsn))
    return folder


class _PushedXComs(dict):
    """What the operator pushes through its task instance's ``xcom_push``, by key."""

    def xcom_push(self, key: str, value: object) -> None:
        self[key] = value


def _discover(source_set: str, context: dict | None = None, **arguments: str) -> object:
    """The discover stage's per-source counts (its XCom ``stats``); its return value is the
    run's WARC file ids, none here."""
    from newsflow_operators import DiscoverArticlesOperator

    task = DiscoverArticlesOperator(task_id="discover", batch_key="run-1", source_set=source_set,
                                    **arguments)
    pushed = _PushedXComs()
    assert task.execute({"ti": pushed, **(context or {})}) == []
    return pushed["stats"]


def _refused(source_set: str, **arguments: str) -> str:
    with pytest.raises(AirflowFailException) as failed:
        _discover(source_set, **arguments)
    message = str(failed.value)
    assert "\n" not in message and SECRET not in message
    return message


def test_a_named_set_runs(sets: Path) -> None:
    assert _discover("good") == {"inbox": {"listed": 0, "staged": 0}}


@pytest.mark.parametrize("name", ["/etc/passwd", "../sets/good", "good.yaml", "/dev/zero"])
def test_a_path_instead_of_a_set_name_is_refused(sets: Path, name: str) -> None:
    assert _refused(name) == (
        "source set: not a set name (lower-case letters, digits, '-' and '_')")


def test_a_name_outside_the_sources_folder_is_refused(sets: Path, tmp_path: Path) -> None:
    (tmp_path / "elsewhere.yaml").write_text((sets / "good.yaml").read_text())
    assert _refused("elsewhere") == f"source set elsewhere: no such set in {sets}"


def test_a_fifo_or_dev_zero_in_the_sources_folder_is_no_set(sets: Path) -> None:
    os.mkfifo(sets / "fifo.yaml")
    (sets / "zero.yaml").symlink_to("/dev/zero")
    assert _refused("fifo") == f"source set fifo: no such set in {sets}"
    assert _refused("zero") == f"source set zero: no such set in {sets}"


def test_a_url_list_that_is_a_fifo_or_dev_zero_is_refused(sets: Path) -> None:
    os.mkfifo(sets / "pipe.txt")
    (sets / "zero.txt").symlink_to("/dev/zero")
    (sets / "fifo-list.yaml").write_text("sources:\n  - {name: l, kind: urls, path: pipe.txt}\n")
    (sets / "zero-list.yaml").write_text("sources:\n  - {name: l, kind: urls, path: zero.txt}\n")
    assert _refused("fifo-list") == (
        "sources file fifo-list.yaml: source l: its URL list is no regular file")
    assert _refused("zero-list") == (
        f"sources file zero-list.yaml: source l: its URL list is outside {sets.resolve()}")


def test_a_set_that_asks_for_private_hosts_is_refused(sets: Path) -> None:
    (sets / "private.yaml").write_text(
        "sources:\n  - {name: f, kind: feed, url: 'http://127.0.0.1:9/f', allow_private: true}\n")
    assert _refused("private") == (
        "sources file private.yaml: source f: option allow_private refused: private hosts are"
        " allowed by the deployment (NEWSFLOW_PRIVATE_HOSTS), not by a source")


@pytest.mark.parametrize("path", ["/etc", "../../..", "link"])
def test_a_folder_outside_the_drop_root_is_refused(sets: Path, tmp_path: Path, path: str) -> None:
    (tmp_path / "drops" / "link").symlink_to("/var")
    (sets / "outside.yaml").write_text(
        f"sources:\n  - {{name: d, kind: folder, path: '{path}'}}\n")
    assert _refused("outside") == (
        f"sources file outside.yaml: source d: its folder is outside {(tmp_path / 'drops')}")


def test_a_set_that_is_not_yaml_quotes_nothing(sets: Path) -> None:
    (sets / "broken.yaml").write_text(f"sources: [\n  {SECRET}: {{\n")
    assert _refused("broken").startswith("sources file broken.yaml: not valid YAML (line ")


def test_a_set_over_the_size_cap_is_refused(sets: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from newsflow import settings

    monkeypatch.setattr(settings, "MAX_CONFIG_BYTES", 100)
    (sets / "huge.yaml").write_text("sources:\n" + f"# {SECRET}\n" * 20)
    assert _refused("huge") == "sources file huge.yaml: larger than 100 bytes"


def test_the_trigger_form_offers_the_sets_as_an_enum(dagbag: DagBag) -> None:
    from newsflow import settings, sourcesets

    ingest = dagbag.dags["news_ingest"]
    schema = ingest.params.get_param("source_set").schema
    assert schema["type"] == "string"
    assert schema["enum"] == sorted({*sourcesets.set_names(), settings.DEFAULT_SOURCE_SET})
    assert "default" in schema["enum"]
    assert ingest.get_task("discover").source_set == "{{ params.source_set }}"
    assert "sources_file" not in ingest.params


def test_a_set_whose_folder_is_missing_fails_at_once(sets: Path) -> None:
    (sets / "typo.yaml").write_text("sources:\n  - {name: d, kind: folder, path: inbx}\n")
    assert _refused("typo") == f"source d: {sets.parent / 'drops' / 'inbx'} is not a folder"


def test_a_bad_interval_fails_at_once(sets: Path) -> None:
    assert _refused("good", interval_start="yesterday").startswith("bad data interval: ")


def test_a_manual_run_takes_what_is_new_and_says_what_it_left(sets: Path) -> None:
    from types import SimpleNamespace

    from airflow.utils.types import DagRunType

    inbox = sets.parent / "drops" / "inbox"
    (inbox / "new.txt").write_text("Dropped a minute ago.\n")
    interval = {"interval_start": "2026-11-23T04:30:00+00:00",
                "interval_end": "2026-11-24T04:30:00+00:00"}
    # A scheduled run of an interval that ended before the file was dropped leaves it...
    scheduled = SimpleNamespace(run_type=DagRunType.SCHEDULED)
    assert _discover("good", {"dag_run": scheduled}, **interval) == {
        "inbox": {"listed": 1, "staged": 0, "outside_interval": 1, "dated_after_interval": 1}}
    # ...a manual run with the same interval (the form's default) takes it.
    manual = SimpleNamespace(run_type=DagRunType.MANUAL)
    assert _discover("good", {"dag_run": manual}, **interval) == {
        "inbox": {"listed": 1, "staged": 1}}
