"""Text that attacks SQL, runs that repeat or overlap, and inputs two sources share."""

import html
import json
import threading
from pathlib import Path

from newsflow import storage
from tests.conftest import Logins, fresh_database, migrated_for_writer
from tests.faults import hostile as h
from tests.faults.conftest import (
    PARAGRAPH,
    article,
    check_ledger,
    outcomes,
    run_scenario,
    run_stages,
    url_list,
    write_sources,
)
from tests.integration.conftest import rows

INJECTIONS = [
    "Robert'); DROP TABLE articles;--",
    "' OR '1'='1' --",
    '"; DELETE FROM rejects WHERE ""="',
    "C:\\new\\table \\' \\\\ \\x00",
    "%s %(title)s {0} $1 $$ :name ?",
    "E'\\047' U&'\\0041' $tag$ x $tag$",
]


def test_sql_injection_text_is_stored_verbatim(news_conn: object, hostile: h.HostileServer,
                                               tmp_path: Path) -> None:
    pages = {}
    for n, text in enumerate(INJECTIONS):
        escaped = html.escape(text, quote=False)
        pages[text] = hostile.route(f"story-{n}", h.reply(body=article(
            escaped, f"{escaped} said the clerk. {PARAGRAPH}")))
    items = "".join(f"<item><title>{html.escape(text)}</title><link>{url}</link>"
                    f"<description>{html.escape(text)}</description></item>"
                    for text, url in pages.items())
    feed = hostile.route("feed.xml", h.reply(body=(
        f'<rss version="2.0"><channel><title>t</title>{items}</channel></rss>').encode(),
        content_type="application/xml"))
    odd_url = hostile.route("story?id=1'--\\", h.reply(body=article(INJECTIONS[1])))
    drop = tmp_path / "drop"
    drop.mkdir()
    odd_file = drop / "o'brien \"quoted\" \\ back; DROP TABLE pages;--.txt"
    odd_file.write_text(f"{INJECTIONS[0]}\n\n{PARAGRAPH}\n\n{PARAGRAPH}\n")
    sources = write_sources(tmp_path, (
        f"  - {{name: feed, kind: feed, url: '{feed}'}}\n"
        + url_list(tmp_path, "odd", [odd_url])
        + f"  - {{name: drop, kind: folder, path: '{drop}'}}\n"))
    entries = run_scenario(news_conn, "SQL-injection text, quotes, backslashes", sources,
                           {*pages.values(), odd_url, str(odd_file)})
    stored = dict(rows(news_conn, "SELECT url, title FROM articles WHERE source_name = 'feed'"))
    assert stored == {url: text for text, url in pages.items()}
    hints = dict(rows(news_conn, "SELECT input, hints->>'summary' FROM batch_items"
                                 " WHERE source_name = 'feed'"))
    assert hints == {url: text for text, url in pages.items()}
    assert rows(news_conn, "SELECT url, title FROM articles WHERE source_name = 'odd'") == [
        (odd_url, INJECTIONS[1])]
    assert rows(news_conn, "SELECT title FROM articles WHERE source_name = 'drop'") == [
        (INJECTIONS[0],)]
    assert set(outcomes(entries).values()) == {"article"}


def _mixed_sources(hostile: h.HostileServer, tmp_path: Path) -> tuple[Path, set[str]]:
    """A feed, a URL list and a drop folder with good and bad inputs; their inputs."""
    good = [hostile.route(f"story-{n}", h.reply(body=article(f"Story {n}"))) for n in range(4)]
    missing = hostile.url("missing")
    short = hostile.route("short", h.reply(body=b"<html><body><p>Soon.</p></body></html>"))
    tracked = good[3] + "?utm_source=feed"
    items = "".join(f"<item><title>t{n}</title><link>{url}</link></item>"
                    for n, url in enumerate([good[0], good[1], missing, tracked]))
    feed = hostile.route("feed.xml", h.reply(body=(
        f'<rss version="2.0"><channel><title>t</title>{items}</channel></rss>').encode(),
        content_type="application/xml"))
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "a.html").write_bytes(article("Dropped"))
    (drop / "copy-of-a.html").write_bytes(article("Dropped"))
    (drop / "notes.pdf").write_bytes(b"%PDF-1.4")
    # The list repeats the feed's tracked link and links its canonical form too.
    listed = [good[1], good[2], short, tracked, good[3], "not a url"]
    sources = write_sources(tmp_path, (
        f"  - {{name: feed, kind: feed, url: '{feed}'}}\n"
        + url_list(tmp_path, "list", listed)
        + f"  - {{name: drop, kind: folder, path: '{drop}'}}\n"))
    # Both list the tracked link: two inputs, one per source.
    inputs = {good[0], good[1], missing, f"feed:{tracked}", f"list:{tracked}", good[2], short,
              good[3], "not a url",
              *(str(p) for p in drop.iterdir())}
    return sources, inputs


# The tables a run writes its results to. Left out of the comparison: serial ids and the
# foreign keys holding them (numbering differs between databases), times, run keys, and
# how often a reject was seen.
OUTPUT_TABLES = ("articles", "pages", "rejects", "article_entities", "entities", "quotes",
                 "numbers", "mentioned_dates", "article_signatures", "source_documents")
VOLATILE = ("batch_key", "attempts")


def snapshot(conn: object) -> dict[str, list[str]]:
    """The output tables' rows as sorted JSON, run-specific values left out."""
    skipped = rows(conn, """
        SELECT c.table_name, c.column_name FROM information_schema.columns c
        WHERE c.table_schema = 'public'
          AND (c.data_type LIKE 'timestamp%' OR c.column_default LIKE 'nextval(%')
        UNION
        SELECT k.table_name, k.column_name FROM information_schema.key_column_usage k
        JOIN information_schema.table_constraints t USING (constraint_schema, constraint_name)
        WHERE t.constraint_type = 'FOREIGN KEY' AND k.table_schema = 'public'""")
    snap = {}
    for table in OUTPUT_TABLES:
        drop = sorted({c for t, c in skipped if t == table} | set(VOLATILE))
        minus = "".join(f" - '{column}'" for column in drop)
        snap[table] = sorted(json.dumps(row) for (row,) in rows(
            conn, f"SELECT to_jsonb(t){minus} FROM {table} t"))
    return snap


def test_same_interval_twice_in_a_row(news_conn: object, hostile: h.HostileServer,
                                      tmp_path: Path) -> None:
    sources, inputs = _mixed_sources(hostile, tmp_path)
    first = run_scenario(news_conn, "run 1 of an interval", sources, inputs, batch_key="run-1")
    assert sorted(outcomes(first).values()) == [
        # The feed's tracked link and the list's canonical one are one article.
        "article", "article", "article", "article", "article", "article",
        "clean: body too short for an article (5 < 200 characters)",
        "discover: line 6: not an absolute http(s) URL",
        f"discover: same canonical URL as {hostile.url('story-3')}",
        f"discover: same content as {sources.parent / 'drop' / 'a.html'}",
        "fetch: HTTP 404",
        "fetch: unsupported file type: notes.pdf",
    ]
    once = snapshot(news_conn)
    assert once["articles"]
    # Airflow's retry or clear re-runs the same batch; a new run of the interval is a new one.
    again = run_scenario(news_conn, "run 1 again (cleared)", sources, inputs, batch_key="run-1")
    assert snapshot(news_conn) == once
    second = run_scenario(news_conn, "run 2, same interval", sources, inputs, batch_key="run-2")
    assert snapshot(news_conn) == once
    assert outcomes(first) == outcomes(again) == outcomes(second)


def test_two_runs_of_an_interval_at_once(pg_admin_dsn: str, pg_logins: Logins, writer_dsn: str,
                                         news_conn: object,
                                         hostile: h.HostileServer, tmp_path: Path) -> None:
    sources, inputs = _mixed_sources(hostile, tmp_path)
    errors: list[BaseException] = []

    def run(batch_key: str) -> None:
        conn = storage.connect(writer_dsn)
        try:
            run_stages(conn, batch_key, sources)
        except BaseException as error:  # re-raised below, in the test's thread
            errors.append(error)
        finally:
            conn.close()

    threads = [threading.Thread(target=run, args=(key,)) for key in ("run-a", "run-b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert errors == []
    a = check_ledger(news_conn, "two runs at once: run a", "run-a", inputs)
    b = check_ledger(news_conn, "two runs at once: run b", "run-b", inputs)
    assert outcomes(a) == outcomes(b)
    parallel = snapshot(news_conn)
    with fresh_database(pg_admin_dsn, "newsflow_once") as dsn:
        conn = storage.connect(migrated_for_writer(dsn, pg_logins))
        try:
            run_scenario(conn, "one run alone", sources, inputs, batch_key="alone")
            assert snapshot(conn) == parallel
        finally:
            conn.close()
