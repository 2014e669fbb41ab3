"""Mentioned dates: found in the text, resolved against the publication date when there is one."""

from datetime import date

import pytest

from newsflow.mentioned_dates import find_dates, publication_day
from tests.unit.enrichment_helpers import SEED_PUBLISHED, seed

FRIDAY = date(2013, 9, 13)


def _resolved(text: str, published: date | None = FRIDAY) -> list[tuple[str, str, str | None]]:
    return [
        (d.text, d.granularity, d.date_from.isoformat() if d.date_from else None)
        for d in find_dates(text, published)
    ]


def test_seed_dates_resolved_against_publication() -> None:
    dates = {(d["text"], d["date_from"], d["date_to"]) for d in seed(SEED_PUBLISHED)["dates"]}
    assert {
        ("Friday", "2013-09-13", "2013-09-13"),
        ("Thursday", "2013-09-12", "2013-09-12"),
        ("August 21", "2013-08-21", "2013-08-21"),
        ("September 28", "2013-09-28", "2013-09-28"),
        ("last year", "2012-01-01", "2012-12-31"),
        ("later this month", "2013-09-13", "2013-09-30"),
        ("this week", "2013-09-09", "2013-09-15"),
    } <= dates


def test_seed_dates_without_publication_date_keep_their_text_unresolved() -> None:
    dates = seed()["dates"]
    assert {"Friday", "Thursday", "August 21", "September 28", "last year"} <= {
        d["text"] for d in dates}
    assert all(not d["resolved"] and d["date_from"] is None for d in dates)
    body = seed()["body"]
    assert all(body[d["start"] : d["end"]] == d["text"] for d in dates)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("They met on Friday.", ("Friday", "day", "2013-09-13")),
        ("They met on Tuesday.", ("Tuesday", "day", "2013-09-10")),
        ("They will meet on Tuesday.", ("Tuesday", "day", "2013-09-17")),
        ("They met last Friday.", ("last Friday", "day", "2013-09-06")),
        ("They meet next Monday.", ("next Monday", "day", "2013-09-16")),
        ("It happened yesterday.", ("yesterday", "day", "2013-09-12")),
        ("It happened three days ago.", ("three days ago", "day", "2013-09-10")),
        ("It happened on September 2.", ("September 2", "day", "2013-09-02")),
        ("It happened on 4 July 2011.", ("4 July 2011", "day", "2011-07-04")),
        ("It happened on Aug. 2, 2012.", ("Aug. 2, 2012", "day", "2012-08-02")),
        ("It happened in March 2010.", ("March 2010", "month", "2010-03-01")),
        ("It has grown since 2009.", ("2009", "year", "2009-01-01")),
        ("Prices doubled in the 1990s.", ("the 1990s", "decade", "1990-01-01")),
        ("It happened last month.", ("last month", "month", "2013-08-01")),
        ("It opens in January.", ("January", "month", "2014-01-01")),
    ],
)
def test_expressions_resolve_relative_to_publication(
    text: str, expected: tuple[str, str, str]
) -> None:
    assert _resolved(text) == [expected]


def test_a_month_and_day_take_the_year_nearest_publication() -> None:
    assert _resolved("It happened on December 30.", date(2014, 1, 2)) == [
        ("December 30", "day", "2013-12-30")]
    assert _resolved("It opens on January 3.", date(2013, 12, 20)) == [
        ("January 3", "day", "2014-01-03")]


def test_dates_with_a_year_resolve_without_publication_date() -> None:
    assert _resolved("On 4 July 2011 and on Friday.", None) == [
        ("4 July 2011", "day", "2011-07-04"), ("Friday", "day", None)]


def test_words_that_only_look_like_dates_are_not_dates() -> None:
    assert _resolved("He may resign. She will march on. It cost 2013 dollars.") == []
    assert _resolved("It happened on February 30.") == []
    assert _resolved("Black Friday deals and Cyber Monday sales.") == []


def test_last_year_is_a_range() -> None:
    [last_year] = find_dates("It rose last year.", FRIDAY)
    assert (last_year.date_from, last_year.date_to) == (date(2012, 1, 1), date(2012, 12, 31))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2013-09-13T23:30:00-04:00", date(2013, 9, 13)),
        ("2013-09-13", date(2013, 9, 13)),
        (None, None),
        ("not a date", None),
    ],
)
def test_publication_day_is_the_local_calendar_day(
    value: str | None, expected: date | None
) -> None:
    assert publication_day(value) == expected


def test_relative_dates_off_the_calendar_stay_unresolved() -> None:
    # Seen in a wcxb body: "2,500 years ago" raised (year -477), failing the article.
    text = "Built 2500 years ago, repaired 9999999999 days ago, " + "7" * 5000 + " weeks ago."
    assert [(kind, resolved) for _, kind, resolved in _resolved(text)] == [
        ("year", None), ("day", None), ("week", None)]
    assert _resolved("It fell 3 years ago.") == [("3 years ago", "year", "2010-01-01")]
