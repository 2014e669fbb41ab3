"""The report's HTML from known figures: escaping, changes, failing sources, empty periods."""

import re
from datetime import date

from newsflow.reporting import ReportData, bar_chart, default_period, render_html


def _health(name: str, problems: list[str]) -> dict:
    return {"source_name": name, "articles": 3, "rejects": 1, "fetch_success_rate": 0.5,
            "health_day": date(2026, 11, 6), "runs": 2, "median_latency_ms": 120.4,
            "articles_per_run": 1.5, "share_missing_date": 0,
            "share_missing_author": 1, "share_missing_body": 0.25, "body_length_drift": -0.9,
            "problems": problems, "failing": bool(problems)}


def test_the_page_escapes_names_and_marks_changes_and_failing_sources() -> None:
    data = ReportData(
        date(2026, 11, 1), date(2026, 11, 7), articles=5, sources=2,
        volume=[(date(2026, 11, 2), "wire", 3), (date(2026, 11, 3), "<b>site</b>", 2)],
        entities={"person": [("Ada <Lovelace>", 3, 1, 4), ("Bo", 1, 2, 1)],
                  "organisation": [], "place": []},
        speakers=[("Ada <Lovelace>", 2, 1, 'Say "hi" & go')],
        health=[_health("broken", ["fetch failures", "authors"]), _health("fine", [])],
        failing_days=[(date(2026, 11, 6), "broken", ["fetch failures"])],
    )
    page = render_html(data)
    assert "Ada &lt;Lovelace&gt;" in page and "<Lovelace>" not in page
    assert "&lt;b&gt;site&lt;/b&gt;" in page
    assert '<span class="up">+2</span>' in page and '<span class="down">-1</span>' in page
    assert '<tr class="failing"><td>broken</td>' in page and '<tr class=""><td>fine</td>' in page
    assert "fetch failures, authors" in page and "-90%" in page and "50%" in page
    # All-time articles and rejects, then the latest day, its runs and articles per run.
    assert ("<td>broken</td><td class=num>3</td><td class=num>1</td>"
            "<td class=nowrap>2026-11-06</td><td class=num>2</td><td class=num>1.5</td>") in page
    assert '<div class="card bad"><b>1</b>failing sources</div>' in page
    # Volume, one entity kind with entries, speakers, health: four charts; empty kinds say so.
    assert page.count("<svg") == 4 and page.count("<p>none</p>") == 2


def test_an_empty_period_still_renders() -> None:
    page = render_html(ReportData(date(2026, 11, 1), date(2026, 11, 1)))
    assert "News report, 2026-11-01 to 2026-11-01" in page
    assert page.count("none in this period") == 8  # every table
    assert page.count("<svg") == 1  # the (empty) volume chart


def test_the_default_period_ends_today() -> None:
    assert default_period(date(2026, 11, 30)) == (date(2026, 11, 1), date(2026, 11, 30))


def test_entity_charts_are_drawn_at_the_size_they_are_shown() -> None:
    # A third of the report's width is about 350 px: a chart drawn wider is scaled down in
    # the browser, and its labels with it (to some 5 px before this rule).
    labels = ["Riverside Harbour Association", "Mill Street Bridge",
              "A very long organisation name of the kind that overflows any column", "Bo"]
    svg = bar_chart(labels, [4, 3, 2, 1], "articles")
    width_pt = float(re.search(r'<svg[^>]* width="([0-9.]+)pt"', svg).group(1))
    assert 200 < width_pt * 96 / 72 <= 360
