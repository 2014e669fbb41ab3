"""Reporting views, search and the HTML report on a real PostgreSQL filled by real pipeline runs.

One database for the module (spaCy makes runs slow), two nights of ingestion: a feed of the
demo Gazette pages on a local HTTP server with one dead link, whose pages on the second
night yield only teasers (short bodies, no date, no author; one page no text at all), a
newswire and two papers carrying copies of one wire story, and the seed.
"""

import html
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg2
import pytest

from newsflow import cli, reporting, storage
from tests.conftest import (
    DEMO,
    FIXTURES,
    SEED,
    Logins,
    fresh_database,
    migrated_for_writer,
    serve_site,
    utc_day_with_room,
)
from tests.integration.conftest import rows, run_batch

WIRE = FIXTURES / "enrichment"
# The reports' period: from the Monday before the fixtures' first story (2026-11-17) to the
# day of night 2 (``today``), whatever that day is.
PERIOD_START = date(2026, 11, 16)
GAZETTE = ["cannery-brewing-expansion", "library-extends-hours", "mill-street-bridge-closure",
           "winter-ferry-timetable"]


def _page(fixture: str, headline: str, published: str, url: str) -> str:
    """A news page around an enrichment fixture body."""
    body = (WIRE / f"{fixture}.txt").read_text(encoding="utf-8").strip()
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in body.split("\n\n"))
    return (
        f'<html lang="en"><head><title>{html.escape(headline)}</title>'
        f'<meta property="article:published_time" content="{published}">'
        f'<link rel="canonical" href="{url}"></head>'
        f"<body><article><h1>{html.escape(headline)}</h1>{paragraphs}</article></body></html>"
    )


def _teaser(number: int) -> str:
    """What a broken extractor leaves of a Gazette page: a headline and one short paragraph."""
    text = (f"Teaser {number}: the Riverside council met on Tuesday evening to discuss the"
            " harbour dredging contract, the ferry subsidy and the library's winter hours,"
            " and residents queued outside the chamber to speak about all three matters.")
    return (f'<html lang="en"><head><title>Gazette teaser {number}</title></head><body>'
            f"<article><h1>Gazette teaser {number}</h1><p>{text}</p></article></body></html>")


def _write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def _feed(site: object, links: list[str]) -> None:
    items = "".join(f"<item><title>{n}</title><link>{site.url(link)}</link></item>"
                    for n, link in enumerate(links))
    # Night 2's feed may be written within the second of night 1's fetch: the test server
    # tells them apart by their ETag (tests/conftest.py, serve_site).
    (site.root / "feed.xml").write_text(
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{items}'
        "</channel></rss>")


# Night 1 happened two days before night 2: the one change made outside the pipeline, so
# that night 2 has a history (and a 30-day baseline) to be compared with.
BACKDATE_NIGHT_1 = (
    "UPDATE articles SET first_loaded_at = first_loaded_at - interval '2 days'",
    "UPDATE fetch_log SET fetched_at = fetched_at - interval '2 days'",
    "UPDATE batch_items SET updated_at = updated_at - interval '2 days'",
    "UPDATE rejects SET first_seen_at = first_seen_at - interval '2 days',"
    " last_seen_at = last_seen_at - interval '2 days'",
)


@pytest.fixture(scope="module")
def report_db(pg_admin_dsn: str, pg_logins: Logins) -> Iterator[str]:
    """The module's database after two nights of ingestion; yields its DSN."""
    work = Path(tempfile.mkdtemp(prefix="newsflow-report-"))
    site, server = serve_site(work / "site")
    try:
        shutil.copytree(DEMO / "site" / "articles", site.root / "articles")
        shutil.copy(DEMO / "drop" / "harbour-gallery.html", site.root / "articles")
        _feed(site, [f"articles/{name}.html" for name in GAZETTE]
              + ["articles/harbour-gallery.html", "articles/missing.html"])
        _write(work / "newswire", {
            "original.html": _page("wire_original", "Dock workers strike at Port of Valmora",
                                   "2026-11-20T09:00:00Z", "https://newswire.example/strike"),
            "terminal.html": _page("other_story", "Valmora to build seventh container terminal",
                                   "2026-11-21T08:00:00Z", "https://newswire.example/terminal"),
        })
        _write(work / "harbourdaily", {"strike.html": _page(
            "wire_republished", "Valmora port grinds to a halt as 3,000 walk out",
            "2026-11-20T15:00:00Z", "https://harbourdaily.example/strike")})
        _write(work / "citypaper", {"strike.html": _page(
            "wire_trimmed", "Port strike: what we know so far", "2026-11-21T07:30:00Z",
            "https://citypaper.example/strike")})
        _write(work / "seed", {SEED.name: SEED.read_text(encoding="utf-8")})
        sources = work / "sources.yaml"
        # Saved copies of the publishers' pages: their canonical links are believed.
        sources.write_text("sources:\n" + "".join(
            f"  - {{name: {name}, kind: folder, path: '{work / name}', trust_canonical: true}}\n"
            for name in ("newswire", "harbourdaily", "citypaper", "seed")
        # The feed's broken night must load its teasers as poor articles, for the source
        # health figures: it takes any page type.
        ) + f"  - {{name: feed, kind: feed, url: '{site.url('feed.xml')}', accept: any}}\n")
        with fresh_database(pg_admin_dsn, "newsflow_report") as dsn:
            conn = storage.connect(migrated_for_writer(dsn, pg_logins))
            # Both nights within one UTC day (a night's figures are per day): a few
            # seconds here, a minute on a slow machine.
            utc_day_with_room(timedelta(minutes=5))
            run_batch(conn, "night-1", sources)
            with conn.cursor() as cur:
                for statement in BACKDATE_NIGHT_1:
                    cur.execute(statement)
            conn.commit()
            # Night 2: the Gazette's new pages yield only teasers (the site changed its
            # layout and the extractor misses the article), one page no text at all.
            _write(site.root / "teasers", {f"teaser-{n}.html": _teaser(n) for n in (1, 2, 3)})
            empty = "<html><body><article><h1>Empty</h1><p>Read more</p></article></body></html>"
            _write(site.root / "teasers", {"empty.html": empty})
            _feed(site, [f"teasers/teaser-{n}.html" for n in (1, 2, 3)]
                  + ["teasers/empty.html", "articles/missing.html"])
            run_batch(conn, "night-2", sources)
            conn.close()
            yield dsn
    finally:
        server.shutdown()
        server.server_close()
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="module")
def today(report_db: str) -> date:
    """The day (UTC) night 2 ran; night 1 is backdated to two days before."""
    connection = psycopg2.connect(report_db)
    try:
        [(day,)] = rows(connection, "SELECT DISTINCT (fetched_at AT TIME ZONE 'UTC')::date"
                                    " FROM fetch_log WHERE batch_key = 'night-2'")
    finally:
        connection.close()
    return day


@pytest.fixture
def conn(report_db: str) -> Iterator[object]:
    connection = psycopg2.connect(report_db)
    reporting.refresh_views(connection)
    yield connection
    connection.close()


def _one(conn: object, query: str, *params: object) -> tuple:
    with conn.cursor() as cur:
        cur.execute(query, params)
        [row] = cur.fetchall()
    return row


def test_articles_per_source_day_counts_each_source_by_publication_day(
        conn: object, today: date) -> None:
    counts = {(s, str(d)): (n, u) for s, d, n, _, u in rows(
        conn, "SELECT source_name, day, articles, words, undated FROM v_articles_per_source_day")}
    night_1, night_2 = str(today - timedelta(days=2)), str(today)
    assert counts == {
        ("feed", "2026-11-17"): (1, 0), ("feed", "2026-11-19"): (1, 0),
        ("feed", "2026-11-20"): (1, 0), ("feed", "2026-11-21"): (1, 0),
        ("feed", "2026-11-25"): (1, 0),
        ("feed", night_2): (3, 3),  # the undated teasers count on the day they were loaded
        ("newswire", "2026-11-20"): (1, 0), ("newswire", "2026-11-21"): (1, 0),
        ("harbourdaily", "2026-11-20"): (1, 0), ("citypaper", "2026-11-21"): (1, 0),
        ("seed", night_1): (1, 1),
    }


def test_entity_days_match_the_article_entities_they_summarise(conn: object) -> None:
    direct = rows(conn, """
        SELECT (coalesce(a.published_at, a.first_loaded_at) AT TIME ZONE 'UTC')::date,
               e.entity_id, count(*), sum(e.mention_count)
        FROM v_article_entities e JOIN v_articles a USING (article_id)
        WHERE e.type IN ('PERSON', 'ORG', 'GPE', 'LOC', 'FAC') GROUP BY 1, 2 ORDER BY 1, 2""")
    assert direct == rows(conn, "SELECT day, entity_id, articles, mentions FROM v_entity_days"
                                " ORDER BY 1, 2")
    # Each week is the sum of its days.
    assert rows(conn, """
        SELECT w.week, w.entity_id FROM v_top_entities_weekly w
        JOIN (SELECT date_trunc('week', day)::date AS week, entity_id, sum(articles) AS articles
              FROM v_entity_days GROUP BY 1, 2) d USING (week, entity_id)
        WHERE d.articles <> w.articles""") == []


def test_top_entities_per_day_rank_and_compare_with_the_day_before(
        conn: object, today: date) -> None:
    seed_day = today - timedelta(days=2)
    top_people = rows(conn, "SELECT name, articles, mentions, rank FROM v_top_entities_daily"
                            f" WHERE day = '{seed_day}' AND kind = 'person' AND rank <= 3"
                            " ORDER BY rank")
    [(kerry_mentions,)] = rows(conn, "SELECT mention_count FROM v_article_entities"
                                     " WHERE name = 'John Kerry'")
    assert top_people[0] == ("John Kerry", 1, kerry_mentions, 1)
    assert [name for name, *_ in top_people] == ["John Kerry", "Assad", "Sergey Lavrov"]
    # The strike was on the wire and in one paper on the 20th, in one paper on the 21st.
    day_21 = {name: (articles, previous, change, rank) for name, articles, previous, change, rank
              in rows(conn, "SELECT name, articles, previous_articles, change, rank"
                            " FROM v_top_entities_daily WHERE day = '2026-11-21'"
                            " AND kind = 'organisation'")}
    assert day_21["Corvin Bank"] == (2, 2, 0, 1)
    assert day_21["National Union of Port Workers"] == (1, 2, -1, 2)


def test_top_entities_per_week(conn: object) -> None:
    week = {(kind, name): (articles, previous, rank) for kind, name, articles, previous, rank
            in rows(conn, "SELECT kind, name, articles, previous_articles, rank"
                          " FROM v_top_entities_weekly WHERE week = '2026-11-16'")}
    # Four articles of the week mention the port: the wire story, its two copies, the terminal.
    assert week["place", "Port of Valmora"] == (4, 0, 1)
    assert week["organisation", "Corvin Bank"] == (4, 0, 1)
    assert week["organisation", "National Union of Port Workers"] == (3, 0, 2)


def test_top_speakers_with_their_latest_quotes(conn: object) -> None:
    speakers = {name: (quotes, articles, latest) for name, quotes, articles, latest in rows(
        conn, "SELECT speaker, quotes, articles, latest_quotes FROM v_top_speakers")}
    quotes, articles, latest = speakers["Daniel Hartmann"]
    assert (quotes, articles) == (3, 3)  # quoted in the wire story and both copies
    # Instants: JSON writes them with the offset of the server's TimeZone.
    assert [datetime.fromisoformat(q["published_at"]) for q in latest] == [
        datetime(2026, 11, 21, 7, 30, tzinfo=UTC), datetime(2026, 11, 20, 15, tzinfo=UTC),
        datetime(2026, 11, 20, 9, tzinfo=UTC)]
    quotes, articles, latest = speakers["John Kerry"]
    assert (quotes, articles) == (2, 1)
    assert [q["quote"] for q in latest] == [
        "We are committed to trying to work together, beginning with this initiative on the"
        " chemical weapons, in hopes that those efforts could pay off and bring peace and"
        " stability to a war-torn part of the world", "This is not a game"]
    assert max(len(q) for _, _, q in speakers.values()) == 3


def test_numeric_facts_by_object_and_event(conn: object) -> None:
    facts = {key[:4]: key[4:] for key in rows(
        conn, "SELECT counted, event, kind, unit, facts, articles, min_value, max_value,"
              " latest_text FROM v_numeric_facts")}
    assert facts["people", "killing", "count", None] == (1, 1, 1429, 1429, "1,429")
    assert facts["dock workers", "walked", "count", None] == (2, 2, 3000, 3000, "More than 3,000")
    assert facts[None, "cost", "money", "USD"][:4] == (5, 5, 412000, 12000000)


def test_duplicate_stories_name_the_first_publisher(conn: object) -> None:
    stories = {title: rest for title, *rest in rows(
        conn, "SELECT title, member_count, source_count, sources, first_publisher,"
              " first_published_at, spread FROM v_duplicate_stories")}
    assert stories["Dock workers strike at Port of Valmora"] == [
        3, 3, ["citypaper", "harbourdaily", "newswire"], "newswire",
        datetime(2026, 11, 20, 9, 0, tzinfo=UTC), timedelta(hours=22, minutes=30)]
    # The broken night's teasers are near-identical: one story, three copies, one source.
    assert stories["Gazette teaser 1"][:4] == [3, 1, ["feed"], "feed"]
    assert len(stories) == 2


def test_source_health_shows_the_day_an_extractor_breaks(conn: object, today: date) -> None:
    columns = ("articles", "bodiless_pages", "runs", "fetches", "failed_fetches",
               "fetch_success_rate", "share_missing_date", "share_missing_author",
               "share_missing_body", "articles_30d", "problems", "failing")
    query = (f"SELECT {', '.join(columns)} FROM v_source_health_daily"
             " WHERE source_name = %s AND day = %s")
    night_1 = dict(zip(columns, _one(conn, query, "feed", today - timedelta(days=2)), strict=True))
    # Five pages and a dead link, plus the feed itself; robots.txt (a 404) not counted.
    assert night_1 == {
        "articles": 5, "bodiless_pages": 0, "runs": 1, "fetches": 7, "failed_fetches": 1,
        "fetch_success_rate": Decimal("0.857"), "share_missing_date": 0,
        "share_missing_author": 0, "share_missing_body": 0, "articles_30d": 0,
        "problems": [], "failing": False}
    night_2 = dict(zip(columns, _one(conn, query, "feed", today), strict=True))
    assert night_2 == {
        "articles": 3, "bodiless_pages": 1, "runs": 1, "fetches": 6, "failed_fetches": 1,
        "fetch_success_rate": Decimal("0.833"), "share_missing_date": 1,
        "share_missing_author": 1, "share_missing_body": Decimal("0.250"), "articles_30d": 5,
        "problems": ["no body", "body length", "dates", "authors"], "failing": True}
    [(median, baseline, drift)] = rows(conn, "SELECT body_chars_median, body_chars_median_30d,"
                                             " body_length_drift FROM v_source_health_daily"
                                             f" WHERE source_name = 'feed' AND day = '{today}'")
    assert median < 300 < 1500 < baseline
    assert drift == round(Decimal(median / baseline - 1), 3)
    # v_source_health: the all-time counts as before, and the latest day's health.
    health = {name: row for name, *row in rows(
        conn, "SELECT source_name, articles, fetches, failed_fetches, health_day, problems,"
              " failing FROM v_source_health")}
    assert health["feed"] == [8, 13, 2, today, ["no body", "body length", "dates", "authors"],
                              True]
    # A new source has no baseline yet: the seed's missing date and author are not a change.
    # Its latest active day is night 1 (night 2 found nothing new in its folder).
    assert health["seed"][3:] == [today - timedelta(days=2), [], False]
    assert [name for name, row in health.items() if row[-1]] == ["feed"]


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Bar colours of the report's charts (reporting.py), as Chromium paints them.
CHART_COLOURS = {"entity bars": reporting.PALETTE[0], "speaker bars": reporting.PALETTE[1],
                 "fetch success bars": "#4f9d69", "failing source in volume chart":
                 reporting.FAILING_COLOUR}


def test_report_collects_the_period_and_highlights_the_failing_source(
        conn: object, today: date) -> None:
    data = reporting.collect(conn, PERIOD_START, today)
    assert data.articles == 13 and data.sources == 5
    assert data.entities["place"][0] == ("Port of Valmora", 4, 0, 4)
    assert data.speakers[0][:3] == ("Daniel Hartmann", 3, 3)
    assert [row["source_name"] for row in data.health if row["failing"]] == ["feed"]
    assert [(day, source) for day, source, _ in data.failing_days] == [(today, "feed")]
    page = reporting.render_html(data)
    assert page.count("<svg") == 6  # volume, three entity kinds, speakers, health
    # Self-contained: nothing to fetch (namespace URIs in the SVGs are names, not requests).
    assert not re.search(r"(src|href)=\"(https?:)?//|<script|<link", page)
    assert '<tr class="failing"><td>feed</td>' in page


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get install"
                    " chromium; .ci/run installs it)")
def test_report_charts_render_in_headless_chromium(report_db: str, today: date,
                                                 tmp_path: Path) -> None:
    from PIL import Image

    connection = psycopg2.connect(report_db)
    try:
        path = reporting.write_report(connection, tmp_path / "report.html",
                                      PERIOD_START, today)
    finally:
        connection.close()
    screenshot = tmp_path / "report.png"
    subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={screenshot}",
         "--window-size=1280,4200", path.as_uri()],
        check=True, capture_output=True, timeout=120)
    image = Image.open(screenshot).convert("RGB")
    assert image.size == (1280, 4200)
    counts = {colour: n for n, colour in image.getcolors(maxcolors=1 << 20)}
    # Each chart's bars are there, in their colours: hundreds of pixels each, not a stray
    # anti-aliased glyph (text in these colours is a few dozen pixels at most).
    for chart, colour in CHART_COLOURS.items():
        rgb = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
        assert counts.get(rgb, 0) > 800, f"{chart} not rendered ({counts.get(rgb, 0)} pixels)"
    # The page is more than white: charts and tables fill much of it.
    white = counts.get((255, 255, 255), 0)
    assert white < 0.9 * image.size[0] * image.size[1]


def test_the_commands_search_and_write_a_report(
    report_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["search", "strike", "--dsn", report_db, "--source", "citypaper"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("1. Port strike: what we know so far  [citypaper, 2026-11-21, rank")
    assert "https://citypaper.example/strike" in out and "**strike**" in out
    assert cli.main(["search", "strike", "--dsn", report_db, "--since", "2026-11-21"]) == 0
    assert [line[:3] for line in capsys.readouterr().out.splitlines() if line[:1].isdigit()] == [
        "1. "]  # the copy of the 21st; the wire story and the other copy are of the 20th
    out_file = tmp_path / "out" / "report.html"
    assert cli.main(["report", "--dsn", report_db, "--from", "2026-11-16", "--to", "2026-11-22",
                     "--out", str(out_file)]) == 0
    assert "wrote" in capsys.readouterr().out
    page = out_file.read_text(encoding="utf-8")
    assert "News report, 2026-11-16 to 2026-11-22" in page and page.count("<svg") == 6
    assert cli.main(["report", "--dsn", report_db, "--from", "2026-11-22", "--to",
                     "2026-11-16"]) == 2
    assert "is after --to" in capsys.readouterr().err


# Last in the module: it changes the shared database.
def test_refresh_picks_up_changes(report_db: str) -> None:
    connection = psycopg2.connect(report_db)
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT count(*) FROM v_entity_days")
            before = cur.fetchone()[0]
            cur.execute("DELETE FROM article_entities WHERE article_id ="
                        " (SELECT min(article_id) FROM articles)")
            cur.execute("SELECT count(*) FROM v_entity_days")
            assert cur.fetchone()[0] == before  # materialized: unchanged until refreshed
            reporting.refresh_views(connection)  # commits the delete, too
            cur.execute("SELECT count(*) FROM v_entity_days")
            assert cur.fetchone()[0] < before
    finally:
        connection.rollback()
        connection.close()
