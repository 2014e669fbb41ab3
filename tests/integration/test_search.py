"""Full-text search on a small known set of articles loaded by a real pipeline run."""

import html
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg2
import pytest

from newsflow import storage
from newsflow.search import search
from tests.conftest import Logins, fresh_database, migrated_for_writer
from tests.integration.conftest import run_batch

FILLER = ("The item was one of several on an agenda that also covered parking permits, a"
          " playground upgrade and the schedule for winter road gritting in the town centre.")

ARTICLES = {
    # name: (source, language, published, title, paragraphs)
    "contract": ("gazette", "en", "2026-11-20T09:00:00Z", "Harbour dredging contract signed",
                 ["The port board signed a four-year contract on Thursday, the first such"
                  " agreement since the channel silted up in the spring floods.", FILLER]),
    "budget": ("gazette", "en", "2026-11-21T09:00:00Z", "Council budget week begins",
               ["Councillors began a week of budget hearings. Harbour dredging took most of"
                " the first morning, as harbour dredging costs have doubled in five years.",
                "Members asked whether harbour dredging could be shared with the county.",
                FILLER]),
    "ferry": ("courier", "en", "2026-11-22T09:00:00Z", "Winter ferry timetable published",
              ["The ferry operator published its winter timetable, warning that dredging"
               " of the approach channel could delay early crossings in January.", FILLER]),
    "library": ("courier", "en", "2026-11-23T09:00:00Z", "Library extends opening hours",
                ["The central library will stay open until nine on weekdays from December,"
                 " after a survey found most visitors wanted evening hours.", FILLER]),
    "bridges": ("courier", "de", "2026-11-24T09:00:00Z", "Neue Brücken für die Altstadt",
                ["Der Stadtrat hat am Donnerstag beschlossen, zwei alte Brücken über den Fluss"
                 " durch Neubauten zu ersetzen. Die Arbeiten sollen im Frühjahr beginnen und"
                 " etwa zwei Jahre dauern.",
                 "Während der Bauzeit wird eine Fähre eingesetzt, die Fußgänger und Radfahrer"
                 " kostenlos über den Fluss bringt. Der Verkehr wird über die Umgehungsstraße"
                 " geleitet."]),
}


def _page(language: str, published: str, title: str, paragraphs: list[str]) -> str:
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return (f'<html lang="{language}"><head><title>{html.escape(title)}</title>'
            f'<meta property="article:published_time" content="{published}"></head>'
            f"<body><article><h1>{html.escape(title)}</h1>{body}</article></body></html>")


@pytest.fixture(scope="module")
def search_conn(pg_admin_dsn: str, pg_logins: Logins,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    work = tmp_path_factory.mktemp("search")
    for name, (source, language, published, title, paragraphs) in ARTICLES.items():
        folder = work / source
        folder.mkdir(exist_ok=True)
        (folder / f"{name}.html").write_text(_page(language, published, title, paragraphs),
                                             encoding="utf-8")
    sources = work / "sources.yaml"
    sources.write_text("sources:\n" + "".join(
        f"  - {{name: {name}, kind: folder, path: '{work / name}'}}\n"
        for name in ("gazette", "courier")))
    with fresh_database(pg_admin_dsn, "newsflow_search") as dsn:
        conn = storage.connect(migrated_for_writer(dsn, pg_logins))
        run_batch(conn, "b1", sources)
        yield conn
        conn.close()


def _titles(conn: object, query: str, **options: object) -> list[str]:
    return [hit.title for hit in search(conn, query, **options)]


def test_title_matches_rank_first_and_every_word_is_required(search_conn: object) -> None:
    # Both words in the title beat three mentions in the body; "ferry" has no "harbour".
    assert _titles(search_conn, "harbour dredging") == [
        "Harbour dredging contract signed", "Council budget week begins"]


def test_body_repetition_outranks_a_single_mention(search_conn: object) -> None:
    assert _titles(search_conn, "dredging") == [
        "Harbour dredging contract signed", "Council budget week begins",
        "Winter ferry timetable published"]


def test_web_search_syntax_phrases_or_and_not(search_conn: object) -> None:
    assert _titles(search_conn, '"harbour dredging" -contract') == ["Council budget week begins"]
    assert set(_titles(search_conn, "library or timetable")) == {
        "Library extends opening hours", "Winter ferry timetable published"}
    assert _titles(search_conn, "submarine") == []


def test_each_article_is_stemmed_in_its_own_language(search_conn: object) -> None:
    [(language,)] = _rows(search_conn, "SELECT language FROM articles WHERE title LIKE 'Neue%'")
    assert language == "de"
    # German stemming: "Brücke" finds "Brücken"; English stemming: "timetables" finds "timetable".
    assert _titles(search_conn, "Brücke") == ["Neue Brücken für die Altstadt"]
    assert _titles(search_conn, "timetables") == ["Winter ferry timetable published"]


def test_since_source_and_limit_filter_the_hits(search_conn: object) -> None:
    since = datetime(2026, 11, 21, tzinfo=UTC)
    assert _titles(search_conn, "dredging", since=since) == [
        "Council budget week begins", "Winter ferry timetable published"]
    assert _titles(search_conn, "dredging", source="courier") == [
        "Winter ferry timetable published"]
    assert _titles(search_conn, "dredging", limit=1) == ["Harbour dredging contract signed"]


def test_headlines_highlight_the_matched_words(search_conn: object) -> None:
    [hit] = search(search_conn, "dredging", source="courier", marks=("[", "]"))
    assert "warning that [dredging] of the approach channel" in hit.headline
    assert "\n" not in hit.headline
    assert hit.source_name == "courier" and hit.rank > 0


def test_the_search_vector_stays_under_the_tsvector_limit(search_conn: object) -> None:
    # 50,000 distinct 32-character words: far over the 1 MB a tsvector may hold.
    huge = "SELECT string_agg(md5(i::text), ' ') FROM generate_series(1, 50000) AS i"
    with pytest.raises(psycopg2.errors.ProgramLimitExceeded), search_conn.cursor() as cur:
        cur.execute(f"SELECT to_tsvector('simple', ({huge}))")
    search_conn.rollback()
    with search_conn.cursor() as cur:
        cur.execute(f"UPDATE articles SET body = ({huge}) || ' harbour'"
                    " WHERE title LIKE 'Library%' RETURNING pg_column_size(search_vector)")
        [(size,)] = cur.fetchall()
    search_conn.rollback()
    assert 0 < size < 1024 * 1024


def _rows(conn: object, query: str) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(query)
        return cur.fetchall()
