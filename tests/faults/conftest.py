"""The fault suite's fixtures: the hostile server, the scenario runner and the ledger table.

Every scenario runs the real stages (discover to load) on a real PostgreSQL and ends with
the ledger check: each input the scenario fed in is in exactly one of articles or
rejects, with a stage and a reason; inputs = articles + rejects, lost = 0, duplicates = 0.

Scenarios marked ``faults_slow`` run only under ``NEWSFLOW_FAULTS=1`` (``make faults``),
which also prints the table of every scenario's ledger at the end.
"""

import os
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from psycopg2 import sql

from newsflow import discovery, fetch_stage, ledger, load_stage, pipeline
from tests.faults.hostile import HostileServer, serve_hostile

FAULTS = os.environ.get("NEWSFLOW_FAULTS") == "1"
# (scenario, summary) of every ledger checked in this session, for the table.
RESULTS: list[tuple[str, ledger.LedgerSummary]] = []
COLUMNS = ("scenario", "inputs", "articles", "rejects", "lost", "duplicates")

PARAGRAPH = (
    "The council met on Tuesday evening and voted to repair the harbour wall before the "
    "winter storms, after engineers warned that the old stones had shifted by several "
    "centimetres since the spring survey and could give way in a heavy sea. "
)


def article(title: str, body: str = PARAGRAPH, head: str = "") -> bytes:
    """A small article page long enough to pass the clean stage."""
    return (
        f"<!doctype html><html><head><title>{title}</title>{head}</head><body>"
        f"<article><h1>{title}</h1><p>{body}</p><p>{PARAGRAPH}</p></article></body></html>"
    ).encode()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if FAULTS:
        return
    skip = pytest.mark.skip(reason="slow fault scenario: run with make faults")
    for item in items:
        if item.get_closest_marker("faults_slow"):
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter: object) -> None:
    if not (FAULTS and RESULTS):
        return
    table = [COLUMNS] + [
        (name, *(str(getattr(summary, column)) for column in COLUMNS[1:]))
        for name, summary in RESULTS
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                       for i, (cell, w) in enumerate(zip(row, widths, strict=True)))
             for row in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    terminalreporter.write_sep("=", "fault suite ledger")
    for line in lines:
        terminalreporter.write_line(line)


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    """A hostile server on an ephemeral port of 127.0.0.1."""
    site, server = serve_hostile()
    yield site
    server.shutdown()
    server.server_close()


def write_sources(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n" + body)
    return path


def url_list(tmp_path: Path, name: str, urls: list[str]) -> str:
    """A URL-list source of ``urls`` (a sources.yaml entry)."""
    path = tmp_path / f"{name}.txt"
    path.write_text("".join(f"{url}\n" for url in urls))
    return f"  - {{name: {name}, kind: urls, path: '{path}'}}\n"


def run_stages(conn: object, batch_key: str, sources: Path,
               after: dict[str, Callable[[], None]] | None = None) -> dict:
    """Every stage of one batch as the DAG runs them; ``after[stage]()`` runs after it."""
    after = after or {}
    discovery.discover(conn, batch_key, sources)
    after.get("discover", lambda: None)()
    for stage in (fetch_stage.fetch, pipeline.clean, pipeline.extract, pipeline.enrich):
        stage(conn, batch_key)
        after.get(stage.__name__, lambda: None)()
    return load_stage.load(conn, batch_key)


def check_ledger(conn: object, scenario: str, batch_key: str,
                 expected: set[str]) -> dict[str, ledger.LedgerEntry]:
    """The ledger rule for one batch, against the inputs the scenario fed in.

    Returns:
        Each input's ledger entry, for the scenario's own checks of outcomes and reasons.
    """
    summary = ledger.batch_ledger(conn, batch_key)
    RESULTS.append((scenario, summary))
    listed = ledger.ledger_entries(conn, batch_key)
    shared = {i for i, n in Counter(e.input for e in listed).items() if n > 1}
    # An input two sources list is two inputs, named "source:input" here.
    entries = {f"{e.source_name}:{e.input}" if e.input in shared else e.input: e
               for e in listed}
    missing, unexpected = expected - set(entries), set(entries) - expected
    assert not missing, f"inputs fed in but not in the ledger (lost before staging): {missing}"
    assert not unexpected, f"ledger inputs nobody fed in: {unexpected}"
    odd = {i: e.outcome for i, e in entries.items() if e.outcome not in ("article", "reject")}
    assert summary.lost == 0 and summary.duplicates == 0, odd
    assert summary.inputs == summary.articles + summary.rejects == len(expected)
    for entry in entries.values():
        if entry.outcome == "reject":
            assert entry.reject_stage and entry.reject_reason, entry
            # A reject for an internal error is a bug found, not bad input handled.
            assert not entry.reject_reason.startswith("internal error"), entry
    return entries


def run_scenario(conn: object, scenario: str, sources: Path, expected: set[str],
                 after: dict[str, Callable[[], None]] | None = None,
                 batch_key: str | None = None) -> dict[str, ledger.LedgerEntry]:
    """Run one batch through every stage, then check its ledger."""
    batch_key = batch_key or scenario
    run_stages(conn, batch_key, sources, after)
    return check_ledger(conn, scenario, batch_key, expected)


def database_text(conn: object) -> str:
    """Every row of every table of the news database, as text (to search for leaks)."""
    with conn.cursor() as cur:
        cur.execute("SELECT table_name FROM information_schema.tables"
                    " WHERE table_schema = 'public' AND table_type = 'BASE TABLE'")
        texts = []
        for (table,) in cur.fetchall():
            cur.execute(sql.SQL("SELECT coalesce(string_agg(t::text, ' '), '') FROM {} t")
                        .format(sql.Identifier(table)))
            texts.append(cur.fetchone()[0])
    return " ".join(texts)


def outcomes(entries: dict[str, ledger.LedgerEntry]) -> dict[str, str]:
    """Input -> 'article' or 'stage: reason', for exact assertions."""
    return {i: "article" if e.outcome == "article" else f"{e.reject_stage}: {e.reject_reason}"
            for i, e in entries.items()}
