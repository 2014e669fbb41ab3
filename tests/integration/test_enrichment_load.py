"""Enrichment through the pipeline on a real PostgreSQL: child tables, views, re-loads, clusters."""

import html
import threading
from pathlib import Path

import psycopg2
import pytest

from newsflow import discovery, fetch_stage, load_stage, pipeline, storage
from tests.conftest import FIXTURES
from tests.integration.conftest import rows, run_batch

WIRE = FIXTURES / "enrichment"
CHILD_ROWS = (
    "SELECT 'entity', count(*) FROM article_entities"
    " UNION ALL SELECT 'quote', count(*) FROM quotes"
    " UNION ALL SELECT 'number', count(*) FROM numbers"
    " UNION ALL SELECT 'date', count(*) FROM mentioned_dates"
    " UNION ALL SELECT 'signature', count(*) FROM article_signatures"
)


def _page(fixture: str, headline: str, published: str, url: str, extra: str = "") -> str:
    """A news page around a fixture body, as a publisher would serve it."""
    body = (WIRE / f"{fixture}.txt").read_text(encoding="utf-8").strip() + extra
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in body.split("\n\n"))
    return (
        f'<html lang="en"><head><title>{html.escape(headline)}</title>'
        f'<meta property="article:published_time" content="{published}">'
        f'<link rel="canonical" href="{url}"></head>'
        f"<body><nav>Home | World | Business</nav><article><h1>{html.escape(headline)}</h1>"
        f"{paragraphs}</article><footer>Contact us</footer></body></html>"
    )


def _drop_sources(tmp_path: Path, **folders: Path) -> Path:
    path = tmp_path / "sources.yaml"
    # Saved copies of the publishers' pages: their canonical links are believed.
    path.write_text("sources:\n" + "".join(
        f"  - {{name: {name}, kind: folder, path: '{folder}', trust_canonical: true}}\n"
        for name, folder in folders.items()
    ))
    return path


def _folder(tmp_path: Path, name: str, pages: dict[str, str]) -> Path:
    folder = tmp_path / name
    folder.mkdir(exist_ok=True)
    for file_name, page in pages.items():
        (folder / file_name).write_text(page, encoding="utf-8")
    return folder


ORIGINAL = ("wire_original", "Dock workers strike at Port of Valmora over pay",
            "2026-11-20T09:00:00Z", "https://newswire.example/business/valmora-port-strike")
REPUBLISHED = ("wire_republished", "Valmora port grinds to a halt as 3,000 walk out",
               "2026-11-20T15:00:00Z", "https://harbourdaily.example/2026/11/20/port-strike")
TRIMMED = ("wire_trimmed", "Port strike: what we know so far",
           "2026-11-21T07:30:00Z", "https://citypaper.example/news/port-strike-explained")
OTHER = ("other_story", "Valmora to build seventh container terminal",
         "2026-11-21T08:00:00Z", "https://newswire.example/business/valmora-new-terminal")


def test_the_seed_fills_the_enrichment_views(news_conn: object, seed_drop: Path,
                                             tmp_path: Path) -> None:
    run_batch(news_conn, "b1", _drop_sources(tmp_path, drop=seed_drop))
    seed = "SELECT article_id FROM articles WHERE title LIKE 'US and Russia%'"

    people = {name for (name,) in rows(
        news_conn, f"SELECT name FROM v_article_entities WHERE type = 'PERSON'"
        f" AND article_id = ({seed})")}
    assert {"John Kerry", "Sergey Lavrov", "Lakhdar Brahimi", "Vladimir Putin", "Assad",
            "Neave Barker", "Hans Blix"} <= people
    names = {name for (name,) in rows(news_conn, "SELECT name FROM v_entities")}
    assert not {"Riyadh", "Stalin", "John Pilger", "Kerry"} & names
    [(kerry_mentions, offsets)] = rows(
        news_conn, "SELECT mention_count, array_length(mention_offsets, 1) FROM v_article_entities"
        " WHERE name = 'John Kerry'")
    assert kerry_mentions == offsets >= 6
    # Offsets index into the stored body.
    assert rows(news_conn, "SELECT DISTINCT substr(a.body, lower(o) + 1, upper(o) - lower(o))"
                " FROM v_article_entities e JOIN articles a USING (article_id),"
                " unnest(e.mention_offsets) AS o WHERE e.name = 'Sergey Lavrov' ORDER BY 1") == [
        ("Lavrov",), ("Sergey Lavrov",)]

    speakers = {row for row in rows(
        news_conn, f"SELECT speaker, speaker_type FROM v_quotes WHERE article_id = ({seed})"
        " AND speaker IS NOT NULL")}
    assert {("John Kerry", "PERSON"), ("Sergey Lavrov", "PERSON"), ("Neave Barker", "PERSON"),
            ("Vladimir Putin", "PERSON")} <= speakers
    assert rows(news_conn, "SELECT speaker_text, speaker FROM v_quotes"
                " WHERE quote_text LIKE 'the logistics%'") == [("A spokesman for Lavrov", None)]
    assert rows(news_conn, "SELECT value, kind, counted, event FROM v_numbers"
                " WHERE number_text = '1,429'") == [(1429, "count", "people", "killing")]
    dates = {row[0] for row in rows(news_conn, "SELECT date_text, resolved FROM v_mentioned_dates"
                                               f" WHERE article_id = ({seed})")}
    assert {"Friday", "Thursday", "August 21", "September 28", "last year"} <= dates
    # Every loaded article has its signature and a cluster of its own.
    assert rows(news_conn, "SELECT count(*), count(DISTINCT cluster_id), max(cluster_size)"
                " FROM v_duplicate_clusters") == [(2, 2, 1)]


def test_reloads_keep_child_rows_and_a_changed_article_replaces_them(
    news_conn: object, tmp_path: Path
) -> None:
    folder = _folder(tmp_path, "drop", {"strike.html": _page(*ORIGINAL)})
    sources = _drop_sources(tmp_path, drop=folder)
    run_batch(news_conn, "b1", sources)
    snapshot = ("SELECT quote_id, position, quote_text, speaker_entity_id FROM quotes"
                " ORDER BY quote_id")
    first = rows(news_conn, snapshot)
    counts = rows(news_conn, CHILD_ROWS)
    assert len(first) == 4

    run_batch(news_conn, "b2", sources)
    assert rows(news_conn, snapshot) == first  # untouched, not even re-inserted
    assert rows(news_conn, CHILD_ROWS) == counts

    update = ('\n\n"We will sit down with anyone who brings a serious offer," Ostrowska said '
              "late on Thursday, adding that 120 members had joined the picket.")
    (folder / "strike.html").write_text(_page(*ORIGINAL, extra=update), encoding="utf-8")
    run_batch(news_conn, "b3", sources)
    assert rows(news_conn, "SELECT count(*) FROM articles") == [(1,)]
    quotes = rows(news_conn, "SELECT position, speaker, quote_text FROM v_quotes ORDER BY 1")
    assert [q[0] for q in quotes] == [1, 2, 3, 4, 5]
    assert quotes[-1][1:] == ("Maria Ostrowska",
                              "We will sit down with anyone who brings a serious offer")
    assert rows(news_conn, "SELECT count(*) FROM v_numbers WHERE number_text = '120'") == [(1,)]
    assert rows(news_conn, "SELECT count(*) FROM entities WHERE name = 'Maria Ostrowska'") == [(1,)]
    assert rows(news_conn, "SELECT count(*) FROM article_signatures") == [(1,)]


def test_wire_copies_cluster_across_runs_with_the_earliest_as_canonical(
    news_conn: object, tmp_path: Path
) -> None:
    first = _folder(tmp_path, "harbourdaily", {"strike.html": _page(*REPUBLISHED),
                                                "terminal.html": _page(*OTHER)})
    run_batch(news_conn, "night-1", _drop_sources(tmp_path, harbourdaily=first))
    second = _folder(tmp_path, "newswire", {"a.html": _page(*ORIGINAL),
                                            "b.html": _page(*TRIMMED)})
    run_batch(news_conn, "night-2", _drop_sources(tmp_path, newswire=second))

    clusters = rows(
        news_conn, "SELECT c.canonical_url, c.cluster_size, canonical.canonical_url, c.is_canonical"
        " FROM v_duplicate_clusters c"
        " JOIN articles canonical ON canonical.article_id = c.canonical_article_id"
        " ORDER BY c.published_at")
    assert clusters == [
        (ORIGINAL[3], 3, ORIGINAL[3], True),
        (REPUBLISHED[3], 3, ORIGINAL[3], False),
        (TRIMMED[3], 3, ORIGINAL[3], False),
        (OTHER[3], 1, OTHER[3], True),
    ]
    # The cluster was founded by the copy loaded first; later copies joined it.
    [(similarity,)] = rows(news_conn, "SELECT similarity FROM v_duplicate_clusters"
                                      f" WHERE canonical_url = '{TRIMMED[3]}'")
    assert 0.5 <= similarity < 1


def test_two_loads_at_once_put_copies_of_a_story_in_one_cluster(
    writer_dsn: str, news_conn: object, tmp_path: Path
) -> None:
    folders = {
        "a": _folder(tmp_path, "a", {"strike.html": _page(*ORIGINAL)}),
        "b": _folder(tmp_path, "b", {"strike.html": _page(*REPUBLISHED)}),
    }
    errors: list[BaseException] = []

    def run(name: str) -> None:
        conn = storage.connect(writer_dsn)
        try:
            run_batch(conn, f"parallel-{name}", _drop_sources(tmp_path / name, **{
                name: folders[name]}))
        except BaseException as error:  # collected and re-raised in the main thread
            errors.append(error)
        finally:
            conn.close()

    threads = [threading.Thread(target=run, args=(name,)) for name in folders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert errors == []
    assert rows(news_conn, "SELECT count(*), count(DISTINCT cluster_id) FROM v_duplicate_clusters"
                ) == [(2, 1)]


def test_a_load_that_fails_on_child_rows_leaves_no_article(
    news_conn: object, tmp_path: Path
) -> None:
    folder = _folder(tmp_path, "drop", {"strike.html": _page(*ORIGINAL)})
    discovery.discover(news_conn, "b1", _drop_sources(tmp_path, drop=folder))
    for stage in (fetch_stage.fetch, pipeline.clean, pipeline.extract, pipeline.enrich):
        stage(news_conn, "b1")
    with news_conn.cursor() as cur:
        cur.execute("UPDATE batch_items SET fields = jsonb_set(fields, '{numbers}',"
                    " '[{\"text\": \"x\", \"kind\": \"not a kind\", \"start\": 0, \"end\": 1}]')"
                    " WHERE batch_key = 'b1'")
    news_conn.commit()

    with pytest.raises(psycopg2.errors.CheckViolation):
        load_stage.load(news_conn, "b1")
    news_conn.rollback()
    assert rows(news_conn, "SELECT count(*) FROM articles") == [(0,)]
    assert rows(news_conn, "SELECT stage FROM batch_items WHERE batch_key = 'b1'") == [
        ("enriched",)]


def test_an_article_that_breaks_enrichment_is_rejected_and_the_rest_go_on(
    news_conn: object, tmp_path: Path
) -> None:
    folder = _folder(tmp_path, "drop", {"a.html": _page(*ORIGINAL), "b.html": _page(*OTHER)})
    discovery.discover(news_conn, "b1", _drop_sources(tmp_path, drop=folder))
    for stage in (fetch_stage.fetch, pipeline.clean, pipeline.extract):
        stage(news_conn, "b1")
    with news_conn.cursor() as cur:
        cur.execute("UPDATE batch_items SET fields = jsonb_set(fields, '{body}', '42')"
                    " WHERE batch_key = 'b1' AND input LIKE '%b.html'")
    news_conn.commit()

    assert pipeline.enrich(news_conn, "b1") == {"drop": {"enriched": 1, "rejected": 1}}
    [(input_, stage, reason)] = rows(news_conn, "SELECT input, stage, reason FROM v_rejects")
    assert input_.endswith("b.html") and stage == "enrich"
    assert reason.startswith("internal error: TypeError")
    load_stage.load(news_conn, "b1")
    assert rows(news_conn, "SELECT canonical_url FROM articles") == [(ORIGINAL[3],)]


def test_worker_processes_stage_what_one_process_stages(
    news_conn: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pages = {f"{n}.html": _page(*story) for n, story in
             enumerate((ORIGINAL, REPUBLISHED, TRIMMED, OTHER))}
    pages["short.html"] = "<html><body><p>Too short.</p></body></html>"
    sources = _drop_sources(tmp_path, drop=_folder(tmp_path, "drop", pages))
    staged = ("SELECT input, stage, cleaned, fields FROM batch_items"
              " WHERE batch_key = %s ORDER BY input")
    outcomes = {}
    # Chunks of two: three jobs per stage, spread over two worker processes or run inline.
    monkeypatch.setattr(pipeline, "CHUNK_SIZE", 2)
    for processes in (1, 2):
        monkeypatch.setattr(pipeline.settings, "CPU_PROCESSES", processes)
        batch = f"b{processes}"
        discovery.discover(news_conn, batch, sources)
        stats = [stage(news_conn, batch) for stage in
                 (fetch_stage.fetch, pipeline.clean, pipeline.extract, pipeline.enrich)]
        with news_conn.cursor() as cur:
            cur.execute(staged, (batch,))
            outcomes[processes] = (stats, cur.fetchall())

    assert outcomes[2] == outcomes[1]
    stats, items = outcomes[2]
    assert stats[1] == {"drop": {"cleaned": 4, "rejected": 1}}
    assert stats[3] == {"drop": {"enriched": 4}}
    assert all(fields["entities"] for _, stage, _, fields in items if stage == "enriched")
