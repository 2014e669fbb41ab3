"""Reports: refresh the reporting views, read a period's figures from them, render HTML.

The report is one self-contained HTML file: styles inline and charts drawn by matplotlib
(Agg, no display) as inline SVG, so it opens anywhere with no network. Every figure comes
from the v_* views of migration 006; a day is an article's publication date (UTC), else
the day it was first loaded.
"""

import html
import io
import logging
import textwrap
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (the backend must be chosen first)

# Labels are names from articles: never read as mathtext or TeX. A "$" in a name would
# otherwise be parsed (and an unbalanced one raises), a "\" would be a command.
matplotlib.rcParams["text.parse_math"] = False
matplotlib.rcParams["text.usetex"] = False

from newsflow import settings  # noqa: E402

LOGGER = logging.getLogger(__name__)

ENTITY_KINDS = ("person", "organisation", "place")
KIND_HEADINGS = {"person": "People", "organisation": "Organisations", "place": "Places"}
# Source colours for the stacked volume chart; failing sources are drawn in FAILING_COLOUR.
PALETTE = ("#3b6ea5", "#e39b2d", "#4f9d69", "#8c6bb1", "#c9b037", "#5fa8c9", "#b5685c",
           "#7a7a7a", "#2f8f83", "#d17fb3")
FAILING_COLOUR = "#c0392b"


@dataclass
class ReportData:
    """Everything one report shows, for the days ``start``..``end`` (inclusive)."""

    start: date
    end: date
    articles: int = 0
    sources: int = 0
    # (day, source_name, articles), days in order
    volume: list[tuple[date, str, int]] = field(default_factory=list)
    # kind -> [(name, articles, previous_articles, mentions)], most articles first
    entities: dict[str, list[tuple[str, int, int, int]]] = field(default_factory=dict)
    # (speaker, quotes, articles, latest quote)
    speakers: list[tuple[str, int, int, str]] = field(default_factory=list)
    # (counted, event, kind, unit, facts, latest as written)
    numbers: list[tuple[str | None, str | None, str, str | None, int, str]] = field(
        default_factory=list)
    # (title, member_count, first_publisher, first_published_at, sources)
    duplicates: list[tuple[str | None, int, str, datetime | None, list[str]]] = field(
        default_factory=list)
    # one dict per source, v_source_health's columns
    health: list[dict[str, Any]] = field(default_factory=list)
    # (day, source_name, problems) for each failing source-day of the period
    failing_days: list[tuple[date, str, list[str]]] = field(default_factory=list)


def refresh_views(conn: Any) -> None:
    """Recompute the materialized reporting views (readers are not blocked); commits."""
    with conn.cursor() as cur:
        cur.execute("SELECT refresh_reporting_views()")
    conn.commit()


def may_refresh(conn: Any) -> bool:
    """Whether this login may refresh the views (the writer may; an analyst's reader may not)."""
    with conn.cursor() as cur:
        cur.execute("SELECT has_function_privilege('refresh_reporting_views()', 'EXECUTE')")
        allowed = bool(cur.fetchone()[0])
    conn.rollback()
    return allowed


def default_period(today: date | None = None) -> tuple[date, date]:
    """The last ``settings.REPORT_DAYS`` days up to and including today (UTC)."""
    end = today or datetime.now(UTC).date()
    return end - timedelta(days=settings.REPORT_DAYS - 1), end


def collect(conn: Any, start: date, end: date, *, top: int = 10) -> ReportData:
    """Read a period's figures from the reporting views.

    Args:
        conn: an open connection (refresh the views first for current figures).
        start: first day of the period.
        end: last day (inclusive).
        top: entries per top list.

    Returns:
        The report's data.
    """
    data = ReportData(start, end)
    previous_start = start - (end - start) - timedelta(days=1)
    with conn.cursor() as cur:
        cur.execute(
            "SELECT day, source_name, articles FROM v_articles_per_source_day"
            " WHERE day BETWEEN %s AND %s ORDER BY day, source_name", (start, end))
        data.volume = [(d, s, int(n)) for d, s, n in cur.fetchall()]
        data.articles = sum(n for _, _, n in data.volume)
        data.sources = len({s for _, s, _ in data.volume})
        for kind in ENTITY_KINDS:
            cur.execute(
                "SELECT name, sum(articles) FILTER (WHERE day >= %(start)s) AS now,"
                "  coalesce(sum(articles) FILTER (WHERE day < %(start)s), 0) AS before,"
                "  coalesce(sum(mentions) FILTER (WHERE day >= %(start)s), 0) AS mentions"
                " FROM v_entity_days WHERE kind = %(kind)s AND day BETWEEN %(prev)s AND %(end)s"
                " GROUP BY entity_id, name HAVING sum(articles) FILTER (WHERE day >= %(start)s) > 0"
                " ORDER BY now DESC, mentions DESC, name LIMIT %(top)s",
                {"start": start, "end": end, "prev": previous_start, "kind": kind, "top": top})
            data.entities[kind] = [(n, int(a), int(b), int(m)) for n, a, b, m in cur.fetchall()]
        cur.execute(
            "SELECT q.speaker, count(*), count(DISTINCT q.article_id),"
            "  (array_agg(q.quote_text ORDER BY a.published_at DESC NULLS LAST,"
            "   q.article_id DESC, q.position))[1]"
            " FROM v_quotes q JOIN v_articles a USING (article_id)"
            " WHERE q.speaker IS NOT NULL AND (coalesce(a.published_at, a.first_loaded_at)"
            "  AT TIME ZONE 'UTC')::date BETWEEN %s AND %s"
            " GROUP BY q.speaker_entity_id, q.speaker ORDER BY 2 DESC, 3 DESC, 1 LIMIT %s",
            (start, end, top))
        data.speakers = [(s, int(q), int(a), t) for s, q, a, t in cur.fetchall()]
        cur.execute(
            "SELECT n.counted, n.event, n.kind, n.unit, count(*),"
            "  (array_agg(n.number_text ORDER BY a.published_at DESC NULLS LAST,"
            "   n.number_id DESC))[1]"
            " FROM v_numbers n JOIN v_articles a USING (article_id)"
            " WHERE (n.counted IS NOT NULL OR n.event IS NOT NULL)"
            "  AND (coalesce(a.published_at, a.first_loaded_at) AT TIME ZONE 'UTC')::date"
            "  BETWEEN %s AND %s"
            " GROUP BY 1, 2, 3, 4 ORDER BY 5 DESC, 1, 2 LIMIT %s", (start, end, top))
        data.numbers = [tuple(row) for row in cur.fetchall()]
        cur.execute(
            "SELECT title, member_count, first_publisher, first_published_at, sources"
            " FROM v_duplicate_stories"
            " WHERE (last_published_at AT TIME ZONE 'UTC')::date BETWEEN %s AND %s"
            " ORDER BY member_count DESC, first_published_at LIMIT %s", (start, end, top))
        data.duplicates = [tuple(row) for row in cur.fetchall()]
        cur.execute("SELECT * FROM v_source_health ORDER BY failing DESC, source_name")
        names = [column[0] for column in cur.description]
        data.health = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
        cur.execute(
            "SELECT day, source_name, problems FROM v_source_health_daily"
            " WHERE failing AND day BETWEEN %s AND %s ORDER BY day DESC, source_name",
            (start, end))
        data.failing_days = [tuple(row) for row in cur.fetchall()]
    return data


def write_report(conn: Any, path: Path, start: date, end: date, *, refresh: bool = True) -> Path:
    """Refresh the views (unless told not to), collect a period and write its HTML report.

    Args:
        conn: an open connection.
        path: the HTML file to write (its folder is created).
        start: first day of the period.
        end: last day (inclusive).
        refresh: recompute the materialized views first.

    Returns:
        The path written.
    """
    if refresh:
        refresh_views(conn)
    data = collect(conn, start, end)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(data), encoding="utf-8")
    LOGGER.info("report %s..%s: %d articles from %d sources, %d failing source-days -> %s",
                start, end, data.articles, data.sources, len(data.failing_days), path)
    return path


# Charts ---------------------------------------------------------------------------------


def _svg(fig: Any) -> str:
    """A figure as inline SVG (text drawn as paths, so no font is needed to view it)."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def _failing_sources(data: ReportData) -> set[str]:
    return {row["source_name"] for row in data.health if row["failing"]}


def volume_chart(data: ReportData) -> str:
    """Articles per day, stacked by source."""
    days = [data.start + timedelta(days=n) for n in range((data.end - data.start).days + 1)]
    sources = sorted({s for _, s, _ in data.volume})
    counts = {(d, s): n for d, s, n in data.volume}
    failing = _failing_sources(data)
    fig, ax = plt.subplots(figsize=(12, 3.4))
    bottom = [0] * len(days)
    for number, source in enumerate(sources):
        heights = [counts.get((d, source), 0) for d in days]
        colour = FAILING_COLOUR if source in failing else PALETTE[number % len(PALETTE)]
        ax.bar(days, heights, bottom=bottom, label=source, color=colour, width=0.8)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    ax.set_ylabel("articles")
    ax.spines[["top", "right"]].set_visible(False)
    ax.yaxis.get_major_locator().set_params(integer=True)
    if sources:
        ax.legend(loc="upper left", fontsize=8, frameon=False, ncol=min(4, len(sources)))
    fig.autofmt_xdate()
    return _svg(fig)


# The entity charts share a third of the page (about 350 px): drawn no wider, labels
# included, the browser shows them at their own size, so their 10 pt labels read like the
# page's 13 px table text instead of being scaled down to a few pixels. Long names wrap
# onto a second line (and are shortened past two); the tables below give them in full.
BAR_CHART_WIDTH_INCHES = 2.7
BAR_LABEL_POINTS = 10
BAR_LABEL_CHARACTERS = 18


def bar_chart(labels: list[str], values: list[int], xlabel: str, colour: str = PALETTE[0]) -> str:
    """Horizontal bars, largest on top, with labels as legible as the page's text."""
    wrapped = [textwrap.shorten(label, 2 * BAR_LABEL_CHARACTERS, placeholder="…")
               for label in labels]
    wrapped = [textwrap.fill(label, BAR_LABEL_CHARACTERS) for label in wrapped]
    lines = sum(label.count("\n") + 1 for label in wrapped)
    fig, ax = plt.subplots(
        figsize=(BAR_CHART_WIDTH_INCHES, 0.2 * max(lines, 3) + 0.25 * max(len(labels), 3) + 0.7))
    positions = range(len(labels))
    ax.barh(positions, values[::-1], color=colour)
    ax.set_yticks(positions, wrapped[::-1])
    ax.set_xlabel(xlabel, fontsize=BAR_LABEL_POINTS)
    ax.tick_params(axis="both", labelsize=BAR_LABEL_POINTS)
    ax.spines[["top", "right"]].set_visible(False)
    ax.xaxis.get_major_locator().set_params(integer=True)
    return _svg(fig)


def health_chart(data: ReportData) -> str:
    """Per source: fetch success rate and the shares missing a date, author or body."""
    rows = data.health
    fig, ax = plt.subplots(figsize=(12, 0.45 * max(len(rows), 2) + 1.0))
    measures = (("fetch_success_rate", "fetch success", "#4f9d69"),
                ("share_missing_date", "missing date", "#e39b2d"),
                ("share_missing_author", "missing author", "#8c6bb1"),
                ("share_missing_body", "missing body", "#b5685c"))
    height = 0.8 / len(measures)
    for number, (column, label, colour) in enumerate(measures):
        positions = [i + number * height for i in range(len(rows))]
        values = [float(row[column] or 0) for row in rows]
        ax.barh(positions, values, height=height, label=label, color=colour)
    ax.set_yticks([i + 0.4 - height / 2 for i in range(len(rows))])
    ax.set_yticklabels([row["source_name"] for row in rows], fontsize=BAR_LABEL_POINTS)
    for tick, row in zip(ax.get_yticklabels(), rows, strict=True):
        if row["failing"]:
            tick.set_color(FAILING_COLOUR)
            tick.set_fontweight("bold")
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("share (latest active day of each source)")
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(loc="lower right", fontsize=BAR_LABEL_POINTS, frameon=False, ncol=4,
              bbox_to_anchor=(1, 1.0))
    return _svg(fig)


# HTML -----------------------------------------------------------------------------------

STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222;
       margin: 24px auto; max-width: 1100px; padding: 0 16px; }
h1 { font-size: 24px; margin-bottom: 0; } h2 { font-size: 18px; margin-top: 32px;
     border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.sub { color: #666; margin-top: 4px; }
.cards { display: flex; gap: 12px; margin: 16px 0; }
.card { background: #f4f6f9; border-radius: 6px; padding: 10px 16px; min-width: 120px; }
.card b { display: block; font-size: 22px; }
.card.bad { background: #fbe9e7; color: #8e2a1e; }
.grid { display: grid; grid-template-columns: repeat(3, 1fr); gap: 12px; }
.chart svg { max-width: 100%; height: auto; }
.wide svg { width: 100%; }
table { border-collapse: collapse; width: 100%; font-size: 13px; margin-top: 8px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eee; vertical-align: top; }
th { background: #fafafa; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.nowrap { white-space: nowrap; }
tr.failing td { background: #fbe9e7; } tr.failing td:first-child { font-weight: bold;
     color: #8e2a1e; }
.up { color: #2e7d32; } .down { color: #c0392b; } .quote { color: #444; font-style: italic; }
"""


def _e(value: Any) -> str:
    """Escaped text of a value; a dash for null."""
    return "–" if value is None else html.escape(str(value))


def _change(now: int, before: int) -> str:
    if now == before:
        return '<span>±0</span>'
    css = "up" if now > before else "down"
    return f'<span class="{css}">{now - before:+d}</span>'


def _table(headers: list[str], rows: list[str]) -> str:
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join(rows) or f'<tr><td colspan="{len(headers)}">none in this period</td></tr>'
    return f"<table><tr>{head}</tr>{body}</table>"


def _milliseconds(value: Any) -> str:
    return "–" if value is None else f"{float(value):.0f}"


def _percent(value: Any) -> str:
    return "–" if value is None else f"{float(value):.0%}"


def render_html(data: ReportData) -> str:
    """The report as one self-contained HTML document."""
    failing = [row for row in data.health if row["failing"]]
    cards = (
        f'<div class="card"><b>{data.articles}</b>articles</div>'
        f'<div class="card"><b>{data.sources}</b>sources publishing</div>'
        f'<div class="card"><b>{len(data.duplicates)}</b>stories published more than once</div>'
        f'<div class="card{" bad" if failing else ""}"><b>{len(failing)}</b>failing sources</div>'
    )
    entity_charts = "".join(
        f'<div class="chart"><h3>{KIND_HEADINGS[kind]}</h3>'
        + (bar_chart([n for n, *_ in rows], [a for _, a, *_ in rows], "articles")
           if (rows := data.entities.get(kind)) else "<p>none</p>")
        + _table(["", "articles", "vs. previous"],
                 [f"<tr><td>{_e(n)}</td><td class=num>{a}</td><td class=num>{_change(a, b)}</td>"
                  "</tr>" for n, a, b, _ in rows or []])
        + "</div>"
        for kind in ENTITY_KINDS
    )
    speakers = data.speakers
    speaker_chart = (bar_chart([s for s, *_ in speakers], [q for _, q, *_ in speakers], "quotes",
                               PALETTE[1]) if speakers else "")
    speaker_rows = [f"<tr><td>{_e(s)}</td><td class=num>{q}</td><td class=num>{a}</td>"
                    f'<td class="quote">“{_e(t)}”</td></tr>' for s, q, a, t in speakers]
    health_rows = [
        f'<tr class="{"failing" if r["failing"] else ""}"><td>{_e(r["source_name"])}</td>'
        f'<td class=num>{r["articles"]}</td><td class=num>{r["rejects"]}</td>'
        f'<td class=nowrap>{_e(r["health_day"] or "–")}</td><td class=num>{_e(r["runs"] or 0)}</td>'
        f'<td class=num>{_e(r["articles_per_run"] if r["articles_per_run"] is not None else "–")}'
        "</td>"
        f'<td class=num>{_percent(r["fetch_success_rate"])}</td>'
        f'<td class=num>{_milliseconds(r["median_latency_ms"])}</td>'
        f'<td class=num>{_percent(r["share_missing_date"])}</td>'
        f'<td class=num>{_percent(r["share_missing_author"])}</td>'
        f'<td class=num>{_percent(r["share_missing_body"])}</td>'
        f'<td class=num>{_percent(r["body_length_drift"])}</td>'
        f'<td>{_e(", ".join(r["problems"]) or "ok")}</td></tr>'
        for r in data.health
    ]
    failing_rows = [f"<tr><td>{d}</td><td>{_e(s)}</td><td>{_e(', '.join(p))}</td></tr>"
                    for d, s, p in data.failing_days]
    number_rows = [f"<tr><td>{_e(c)}</td><td>{_e(ev)}</td><td>{_e(k)}{' ' + _e(u) if u else ''}"
                   f"</td><td class=num>{n}</td><td>{_e(t)}</td></tr>"
                   for c, ev, k, u, n, t in data.numbers]
    duplicate_rows = [f"<tr><td>{_e(t)}</td><td class=num>{m}</td><td>{_e(f)}</td>"
                      f"<td>{_e(p.astimezone(UTC).strftime('%Y-%m-%d %H:%M') if p else None)}</td>"
                      f"<td>{_e(', '.join(s))}</td></tr>" for t, m, f, p, s in data.duplicates]
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>newsflow report {data.start} to {data.end}</title><style>{STYLE}</style></head>
<body>
<h1>News report, {data.start} to {data.end}</h1>
<p class="sub">Generated {generated} by newsflow. Days are publication dates (UTC);
changes compare with the {(data.end - data.start).days + 1} days before.</p>
<div class="cards">{cards}</div>
<h2>Volume by source</h2>
<div class="chart wide" id="volume-chart">{volume_chart(data)}</div>
<h2>Top entities</h2>
<div class="grid" id="entity-charts">{entity_charts}</div>
<h2>Top speakers</h2>
<div class="chart" id="speaker-chart">{speaker_chart}</div>
{_table(["speaker", "quotes", "articles", "latest quote"], speaker_rows)}
<h2>Source health</h2>
<p class="sub">Articles and rejects: all time, each article under the source that loaded it
first (as in <code>v_articles</code>). The other columns: each source's latest active day,
its runs that day and the articles it first loaded per run (a page loaded into another
source's article is no article of this one). Failing sources are in red.</p>
<div class="chart wide" id="health-chart">{health_chart(data) if data.health else ""}</div>
{_table(["source", "articles", "rejects", "latest day", "runs", "articles/run",
         "fetch success", "median ms",
         "no date", "no author", "no body", "body length vs 30 days", "problems"], health_rows)}
<h3>Failing days in this period</h3>
{_table(["day", "source", "problems"], failing_rows)}
<h2>Numbers in the news</h2>
{_table(["what is counted", "event", "kind", "facts", "latest"], number_rows)}
<h2>Stories published more than once</h2>
{_table(["title", "copies", "first publisher", "first published (UTC)", "sources"],
         duplicate_rows)}
</body></html>
"""
