"""A huge or hostile drop folder costs a bounded amount of work (lesson 1).

Discovery examines a drop folder by metadata only (names, lstat), at most
NEWSFLOW_MAX_FOLDER_SCAN entries per run, applies the per-source cap, and reads only the
files it takes; a file a run already read, unchanged since, is not read again. What is
left out waits for the next run: nothing is lost, and a re-run of an interval stages the
same rows. Real files, real PostgreSQL; the reads are counted by wrapping the real reader.
"""

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newsflow import (
    discovery,
    dropfiles,
    fetch_stage,
    load_stage,
    pipeline,
    retention,
    settings,
    source_state,
    sources,
    storage,
)
from tests.faults.conftest import article, check_ledger, outcomes, run_stages, write_sources
from tests.integration.conftest import rows

NOV_23, NOV_24, NOV_25, NOV_26 = (datetime(2026, 11, d, tzinfo=UTC) for d in (23, 24, 25, 26))


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The relative paths discovery reads, in order (the real reader, counted)."""
    done: list[str] = []
    real = dropfiles.read_file

    def counted(path: Path, cap: int, **options: object) -> bytes:
        done.append(str(options.get("relative") or path.name))
        return real(path, cap, **options)

    monkeypatch.setattr(sources.dropfiles, "read_file", counted)
    # Files made a moment ago count as unchanged once a run read them (the margin is for
    # clocks that differ; here the database and the files share one).
    monkeypatch.setattr(source_state, "UNCHANGED_MARGIN", timedelta(0))
    yield done


def _after_the_last_read(conn: object, folder: Path) -> None:
    """Wait until a change made now gets an inode change time after the last run's reads.

    The kernel stamps ctime from a coarse clock that can lag the real time PostgreSQL's
    now() reads by a tick (a few milliseconds): a change made right after a quick run could
    carry a ctime from before that run started, and pass for unchanged. A probe file beside
    the folder shows when the file clock has passed the last ``read_at``.
    """
    [(last_read,)] = rows(conn, "SELECT max(read_at) FROM drop_file_keys")
    conn.commit()
    probe = folder.parent / "clock-probe"
    deadline = time.monotonic() + 10
    while True:
        probe.write_bytes(b"")
        if datetime.fromtimestamp(probe.stat().st_ctime, UTC) > last_read:
            break
        assert time.monotonic() < deadline, f"the file clock stays before {last_read}"
        time.sleep(0.001)
    probe.unlink()


def _drop(tmp_path: Path, count: int, when: datetime = NOV_23) -> Path:
    """``count`` articles, the n-th modified n minutes after ``when``."""
    drop = tmp_path / "drop"
    drop.mkdir()
    for n in range(count):
        path = drop / f"story-{n:03d}.html"
        path.write_bytes(article(f"Dropped story number {n}"))
        moment = (when + timedelta(minutes=n)).timestamp()
        os.utime(path, (moment, moment))
    return drop


def _staged(conn: object, batch_key: str) -> list[str]:
    return [Path(i).name for (i,) in rows(
        conn, f"SELECT input FROM batch_items WHERE batch_key = '{batch_key}' ORDER BY 1")]


def _folder_source(tmp_path: Path, drop: Path) -> Path:
    return write_sources(tmp_path, f"  - {{name: drop, kind: folder, path: '{drop}'}}\n")


def test_the_cap_applies_before_any_file_is_read(
        news_conn: object, tmp_path: Path, reads: list[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "MAX_SOURCE_INPUTS", 5)
    drop = _drop(tmp_path, 40)
    source_file = _folder_source(tmp_path, drop)
    stats = discovery.discover(news_conn, "cap-1", source_file, NOV_23, NOV_24)
    newest = [f"story-{n:03d}.html" for n in range(35, 40)]
    # Five files read, the five newest: the 35 others cost a name and an lstat each.
    assert sorted(reads) == newest
    assert _staged(news_conn, "cap-1") == newest
    assert stats["drop"] == {"listed": 40, "staged": 5, "over_source_cap": 35}
    # The next interval takes the next five, reading only those: the five the first run
    # read are unchanged since and keep their key unread.
    reads.clear()
    stats = discovery.discover(news_conn, "cap-2", source_file, NOV_24, NOV_25)
    assert sorted(reads) == [f"story-{n:03d}.html" for n in range(30, 35)]
    assert _staged(news_conn, "cap-2") == sorted(reads)
    assert stats["drop"] == {"listed": 40, "staged": 5, "taken_by_other_interval": 5,
                             "over_source_cap": 30}
    # A re-run of the first interval stages the same rows and reads nothing.
    reads.clear()
    discovery.discover(news_conn, "cap-1-again", source_file, NOV_23, NOV_24)
    assert reads == []
    assert _staged(news_conn, "cap-1-again") == newest


def test_eight_runs_take_a_capped_folder_whole_and_lose_nothing(
        news_conn: object, tmp_path: Path, reads: list[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "MAX_SOURCE_INPUTS", 5)
    drop = _drop(tmp_path, 40)
    source_file = _folder_source(tmp_path, drop)
    taken: set[str] = set()
    for run in range(8):
        batch = f"manual-{run}"
        discovery.discover(news_conn, batch, source_file, mode="new")
        staged = set(_staged(news_conn, batch))
        assert len(staged) == 5 and not staged & taken
        taken |= staged
    assert len(reads) == 40  # each file read once, in the run that took it
    assert taken == {f"story-{n:03d}.html" for n in range(40)}
    discovery.discover(news_conn, "manual-8", source_file, mode="new")
    assert _staged(news_conn, "manual-8") == []


def test_a_folder_past_the_scan_cap_is_examined_in_turns(
        news_conn: object, tmp_path: Path, reads: list[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "MAX_FOLDER_SCAN", 4)
    drop = _drop(tmp_path, 10)
    (drop / "nested").mkdir()  # a folder is an entry examined too
    (drop / "nested" / "inner.html").write_bytes(article("Nested story"))
    os.utime(drop / "nested" / "inner.html", (NOV_23.timestamp(),) * 2)
    source_file = _folder_source(tmp_path, drop)
    names = [f"story-{n:03d}.html" for n in range(10)]
    stats = discovery.discover(news_conn, "scan-1", source_file, NOV_23, NOV_24)
    # Name order: "nested", "nested/inner.html", "story-000", "story-001".
    assert _staged(news_conn, "scan-1") == ["inner.html", *names[:2]]
    assert stats["drop"]["not_examined"] == 8
    assert sorted(reads) == ["nested/inner.html", *names[:2]]
    discovery.discover(news_conn, "scan-2", source_file, NOV_24, NOV_25)
    assert _staged(news_conn, "scan-2") == names[2:6]
    discovery.discover(news_conn, "scan-3", source_file, NOV_25, NOV_26)
    # The last turn wraps round: the four after story-005 are the last four names.
    assert _staged(news_conn, "scan-3") == names[6:]
    # A re-run of an interval examines the same names again: the same rows.
    discovery.discover(news_conn, "scan-2-again", source_file, NOV_24, NOV_25)
    assert _staged(news_conn, "scan-2-again") == names[2:6]
    # The next turn starts over and finds everything taken.
    stats = discovery.discover(news_conn, "scan-4", source_file, NOV_26,
                               NOV_26 + timedelta(days=1))
    assert _staged(news_conn, "scan-4") == []
    assert stats["drop"]["taken_by_other_interval"] == 3


def test_a_file_changed_after_a_run_took_it_is_read_and_taken_again(
        news_conn: object, tmp_path: Path, reads: list[str]) -> None:
    drop = _drop(tmp_path, 3)
    source_file = _folder_source(tmp_path, drop)
    discovery.discover(news_conn, "change-1", source_file, mode="new")
    assert len(reads) == 3
    reads.clear()
    changed = drop / "story-001.html"
    _after_the_last_read(news_conn, drop)
    changed.write_bytes(article("Dropped story number 1, corrected"))
    discovery.discover(news_conn, "change-2", source_file, mode="new")
    # Only the file whose inode changed is read again; its new content is a new input.
    assert reads == ["story-001.html"]
    assert _staged(news_conn, "change-2") == ["story-001.html"]


def test_a_file_replaced_between_listing_and_reading_is_taken_as_read(
        news_conn: object, tmp_path: Path, reads: list[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    drop = _drop(tmp_path, 2)
    source_file = _folder_source(tmp_path, drop)
    real_scan = dropfiles.scan_folder

    def scan_then_replace(*args: object) -> dropfiles.FolderScan:
        scan = real_scan(*args)
        # After the lstat, before the read: now huge (over the cap) and then a folder.
        (drop / "story-000.html").write_bytes(b"x" * (settings.MAX_BODY_BYTES + 1))
        (drop / "story-001.html").unlink()
        (drop / "story-001.html").mkdir()
        return scan

    monkeypatch.setattr(sources.dropfiles, "scan_folder", scan_then_replace)
    run_stages(news_conn, "swap", source_file)
    got = {Path(i).name: o for i, o in outcomes(check_ledger(
        news_conn, "drop folder: files replaced between lstat and read", "swap",
        {str(drop / "story-000.html"), str(drop / "story-001.html")})).items()}
    assert got == {
        "story-000.html": f"fetch: story-000.html larger than {settings.MAX_BODY_BYTES} bytes",
        "story-001.html": "fetch: a folder, not a file: story-001.html",
    }


def test_hostile_entries_cost_no_read_and_each_ends_in_the_ledger(
        news_conn: object, tmp_path: Path, reads: list[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "MAX_BODY_BYTES", 100_000)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.html").write_bytes(article("Outside the drop folder"))
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "good.html").write_bytes(article("A good file"))
    (drop / "link.html").symlink_to(outside / "secret.html")
    (drop / "linked-folder").symlink_to(outside)
    os.mkfifo(drop / "pipe.html")
    with open(drop / "huge.html", "wb") as huge:  # 10 GB, sparse: read up to the cap
        huge.truncate(10 * 2**30)
    (drop / "bell\x07 and \x1b[31mred\x1b[0m.html").write_bytes(article("Control names"))
    deep = drop.joinpath(*[f"d{n}" for n in range(60)])
    deep.mkdir(parents=True)
    (deep / "bottom.html").write_bytes(article("At the bottom of sixty folders"))
    devices = []
    try:
        os.mknod(drop / "null.html", 0o600 | 0o020000, os.makedev(1, 3))  # /dev/null
        devices.append(drop / "null.html")
    except PermissionError:
        pass  # no CAP_MKNOD here: the FIFO stands for the special files
    source_file = _folder_source(tmp_path, drop)
    expected = {str(p) for p in (drop / "good.html", drop / "link.html", drop / "linked-folder",
                                 drop / "pipe.html", drop / "huge.html",
                                 drop / "bell\x07 and \x1b[31mred\x1b[0m.html",
                                 deep / "bottom.html", *devices)}
    discovery.discover(news_conn, "hostile", source_file)
    deep_name = "/".join(f"d{n}" for n in range(60)) + "/bottom.html"
    # Discovery read the regular files it took (the huge one up to the cap), nothing else.
    assert sorted(reads) == sorted(["good.html", "huge.html", deep_name,
                                    "bell\x07 and \x1b[31mred\x1b[0m.html"])
    for stage in (fetch_stage.fetch, pipeline.clean, pipeline.extract, pipeline.enrich,
                  load_stage.load):
        stage(news_conn, "hostile")
    got = {Path(i).relative_to(drop).as_posix(): o for i, o in outcomes(check_ledger(
        news_conn, "drop folder: links, FIFO, device, huge, control names, deep",
        "hostile", expected)).items()}
    assert got == {
        "good.html": "article",
        deep_name: "article",
        "bell\x07 and \x1b[31mred\x1b[0m.html": "article",
        "link.html": "fetch: symbolic link, not followed (the file is a link): link.html",
        "linked-folder": "fetch: symbolic link, not followed (the file is a link):"
                         " linked-folder",
        "pipe.html": "fetch: not a regular file: pipe.html",
        "huge.html": "fetch: huge.html larger than 100000 bytes",
        **({"null.html": "fetch: not a regular file: null.html"} if devices else {}),
    }
    assert "Outside the drop folder" not in str(rows(news_conn, "SELECT * FROM pages"))


def test_a_name_that_is_no_utf8_costs_that_file_only(
        news_conn: object, tmp_path: Path, reads: list[str]) -> None:
    drop = _drop(tmp_path, 1)
    odd = drop / os.fsdecode(b"latin-1 caf\xe9.html")
    odd.write_bytes(article("A file named in Latin-1"))
    source_file = _folder_source(tmp_path, drop)
    run_stages(news_conn, "bytes", source_file)
    escaped = str(drop / "latin-1 caf\\xe9.html")
    assert outcomes(check_ledger(news_conn, "drop folder: a name that is no UTF-8", "bytes",
                                 {str(drop / "story-000.html"), escaped})) == {
        str(drop / "story-000.html"): "article",
        escaped: "discover: file name is not UTF-8 text: rename the file to read it",
    }
    # The name is rejected, never read.
    assert reads == ["story-000.html", "story-000.html"]  # discover, then fetch


def test_files_read_a_moment_ago_are_read_again_but_do_not_take_the_caps_places(
        news_conn: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The default margin: a file read less than a minute after its last change may have
    # changed since, so the second run reads the five newest again; they turn out taken
    # by the first run and the next five newest are read in their place.
    monkeypatch.setattr(settings, "MAX_SOURCE_INPUTS", 5)
    reads: list[str] = []
    real = dropfiles.read_file
    monkeypatch.setattr(sources.dropfiles, "read_file", lambda path, cap, **options: (
        reads.append(path.name), real(path, cap, **options))[1])
    drop = _drop(tmp_path, 20)
    source_file = _folder_source(tmp_path, drop)
    pipeline_runs = [("soon-1", NOV_23, NOV_24), ("soon-2", NOV_24, NOV_25)]
    stats = {}
    for batch, start, end in pipeline_runs:
        stats[batch] = discovery.discover(news_conn, batch, source_file, start, end)
    assert _staged(news_conn, "soon-1") == [f"story-{n:03d}.html" for n in range(15, 20)]
    assert _staged(news_conn, "soon-2") == [f"story-{n:03d}.html" for n in range(10, 15)]
    assert stats["soon-2"]["drop"] == {"listed": 20, "staged": 5, "taken_by_other_interval": 5,
                                       "over_source_cap": 10}
    assert sorted(reads) == sorted([f"story-{n:03d}.html" for n in range(15, 20)] * 2
                                   + [f"story-{n:03d}.html" for n in range(10, 15)])


def test_a_touched_file_is_read_once_more_then_known_again(
        news_conn: object, tmp_path: Path, reads: list[str]) -> None:
    drop = _drop(tmp_path, 2)
    source_file = _folder_source(tmp_path, drop)
    discovery.discover(news_conn, "touch-1", source_file, mode="new")
    _after_the_last_read(news_conn, drop)
    os.chmod(drop / "story-000.html", 0o600)  # its ctime moves, its content does not
    reads.clear()
    discovery.discover(news_conn, "touch-2", source_file, mode="new")
    assert reads == ["story-000.html"]
    assert _staged(news_conn, "touch-2") == []  # the same content: taken by touch-1
    reads.clear()
    discovery.discover(news_conn, "touch-3", source_file, mode="new")
    assert reads == []


def _keys(conn: object) -> list[tuple[str, str]]:
    return [(source, Path(path).name) for source, path in rows(
        conn, "SELECT source_name, path FROM drop_file_keys ORDER BY 1, 2")]


def test_maintenance_forgets_the_keys_of_files_gone_from_their_folder(
        news_conn: object, writer_dsn: str, tmp_path: Path, reads: list[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    drop = _drop(tmp_path, 4)
    source_file = _folder_source(tmp_path, drop)
    discovery.discover(news_conn, "keys-1", source_file, mode="new")
    assert _keys(news_conn) == [("drop", f"story-{n:03d}.html") for n in range(4)]
    # A row of a folder outside the drop root (the root moved): no source lists it now.
    with news_conn.cursor() as cur:
        cur.execute("INSERT INTO drop_file_keys (source_name, path, input_key)"
                    " VALUES ('moved', '/nowhere/story.html', 'sha256:00')")
    news_conn.commit()
    (drop / "story-001.html").unlink()
    (drop / "story-002.html").unlink()
    # A worker that does not see the drop root forgets nothing.
    assert retention.prune_drop_file_keys(news_conn, tmp_path / "not-mounted") == {}
    assert len(_keys(news_conn)) == 5
    # A run reads story-002 again while maintenance looks (as when a file comes back): its
    # row, written anew, stays this time; the rows of the other files gone go.
    present = retention._present_under

    def returns_meanwhile(root: str, path: str) -> bool:
        if path.endswith("story-002.html"):
            with storage.connect(writer_dsn) as other, other.cursor() as cur:
                cur.execute("UPDATE drop_file_keys SET read_at = now() WHERE path = %s",
                            (path,))
            other.close()
        return present(root, path)

    monkeypatch.setattr(retention, "_present_under", returns_meanwhile)
    root = settings.drop_root()
    assert retention.prune_drop_file_keys(news_conn, root) == {"drop": 1, "moved": 1}
    assert _keys(news_conn) == [("drop", f"story-{n:03d}.html") for n in (0, 2, 3)]
    monkeypatch.setattr(retention, "_present_under", present)
    assert retention.prune_drop_file_keys(news_conn, root) == {"drop": 1}
    assert retention.prune_drop_file_keys(news_conn, root) == {}  # idempotent
    # The files still there keep their keys: the next run reads nothing and stages nothing.
    reads.clear()
    discovery.discover(news_conn, "keys-2", source_file, mode="new")
    assert reads == [] and _staged(news_conn, "keys-2") == []
    # A file dropped again under a forgotten name is read once, and is no new input.
    (drop / "story-001.html").write_bytes(article("Dropped story number 1"))
    discovery.discover(news_conn, "keys-3", source_file, mode="new")
    assert reads == ["story-001.html"] and _staged(news_conn, "keys-3") == []
