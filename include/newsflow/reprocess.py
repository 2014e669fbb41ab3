"""Re-extraction: stage raw pages already stored into a new batch, for chosen stages to redo.

Nothing is fetched. A request names a range of fetch dates, sources and stages; each
selected page is staged in the new batch at the point where the earliest chosen stage
picks it up (the raw page for ``clean``, the last stored cleaned document for
``fields``, the last stored fields for ``enrichment``). The pipeline's own stages and
load then run on that batch, so a re-extraction writes through the same upsert, keeps
replaced fields as versions and stamps its extractor version and run on what it changes.
"""

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

LOGGER = logging.getLogger(__name__)

# The stages a re-extraction can redo, in pipeline order.
STAGES = ("clean", "fields", "enrichment")
# Per first stage redone: the batch stage items are staged at (the one before it), and the
# stored result they need from an earlier batch (None: the raw page).
STAGED_AT = {"clean": "fetched", "fields": "cleaned", "enrichment": "extracted"}
NEEDS = {"clean": None, "fields": "cleaned", "enrichment": "fields"}


class ReprocessError(ValueError):
    """A re-extraction request that cannot be run as asked."""


@dataclass(frozen=True)
class Request:
    """What to re-extract: pages fetched from ``start`` to ``end`` (UTC days, inclusive)."""

    start: date | None
    end: date | None
    sources: tuple[str, ...]
    stages: tuple[str, ...]
    dry_run: bool

    @property
    def first_stage(self) -> str:
        """The earliest stage chosen: it and every stage after it run."""
        return self.stages[0]

    @property
    def stages_run(self) -> tuple[str, ...]:
        """The stages that run: a later stage reads the earlier one's output."""
        return STAGES[STAGES.index(self.first_stage):]


def _split(text: str | None) -> list[str]:
    """Comma-separated names (as a templated list renders), blanks dropped."""
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def _day(text: str | None, name: str) -> date | None:
    """An ISO date (YYYY-MM-DD), or None when empty."""
    if not text or text.strip() in ("", "None"):
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ReprocessError(f"{name} {text!r} is not a date (YYYY-MM-DD)") from None


def parse_request(
    start_date: str | None,
    end_date: str | None,
    sources: str | None,
    stages: str | None,
    dry_run: str | bool,
) -> Request:
    """A request from the DAG's params as rendered strings.

    Args:
        start_date: first fetch day (UTC), ``YYYY-MM-DD``; empty for no lower bound.
        end_date: last fetch day (UTC, inclusive); empty for no upper bound.
        sources: comma-separated source names as analysts see them (``v_articles``); empty
            for all.
        stages: comma-separated stages among ``STAGES``; at least one.
        dry_run: true (bool or "true"/"True") to report without changing anything.

    Returns:
        The checked request.

    Raises:
        ReprocessError: a date is malformed, the start is after the end, or a stage is
            unknown or none is given.
    """
    start, end = _day(start_date, "start_date"), _day(end_date, "end_date")
    if start and end and start > end:
        raise ReprocessError(f"start_date {start} is after end_date {end}: nothing to reprocess")
    chosen = _split(stages)
    unknown = sorted(set(chosen) - set(STAGES))
    if unknown:
        raise ReprocessError(f"unknown stages {unknown}; choose among {list(STAGES)}")
    if not chosen:
        raise ReprocessError(f"no stage chosen; choose among {list(STAGES)}")
    flag = dry_run if isinstance(dry_run, bool) else str(dry_run).strip().lower() == "true"
    return Request(start, end, tuple(sorted(set(_split(sources)))),
                   tuple(s for s in STAGES if s in chosen), flag)


def _bounds(request: Request) -> tuple[datetime | None, datetime | None]:
    """The request's days as a half-open UTC range of fetch times."""
    start = datetime.combine(request.start, time(), UTC) if request.start else None
    end = datetime.combine(request.end + timedelta(days=1), time(), UTC) if request.end else None
    return start, end


# The pages a request covers, each with what happens to it (``outcome``: staged, pruned,
# no_stored_cleaned, no_stored_fields) and the last stored result it needs. Parameters:
# batch, needs (None, 'cleaned' or 'fields'), start, end, sources.
#
# A page's ``source_name`` is the one analysts see for it: that of its article
# (``v_articles.source_name``, the source that loaded the article first), found through the
# article's page or else through the article key the page's last extraction gave; only a
# page that never became an article keeps the source that fetched it last
# (``pages.source_name``, which another source fetching the same URL overwrites).
_SELECTED = """
WITH selected AS (
    SELECT p.page_id, coalesce(own.source_name, keyed.source_name, p.source_name) AS source_name,
           p.input, p.content IS NULL AS pruned, last.hints, last.cleaned, last.fields
    FROM pages p LEFT JOIN LATERAL (
        SELECT b.hints, b.cleaned, b.fields FROM batch_items b
        WHERE b.page_id = p.page_id AND b.batch_key <> %(batch)s
          AND (%(needs)s::text IS NULL OR (%(needs)s = 'cleaned' AND b.cleaned IS NOT NULL)
               OR (%(needs)s = 'fields' AND b.fields IS NOT NULL))
        ORDER BY b.updated_at DESC LIMIT 1) last ON true
    LEFT JOIN LATERAL (
        SELECT a.source_name FROM articles a WHERE a.page_id = p.page_id
        ORDER BY a.first_loaded_at, a.article_id LIMIT 1) own ON true
    LEFT JOIN LATERAL (
        SELECT a.source_name FROM batch_items b
        JOIN articles a ON a.article_key = b.fields->>'article_key'
        WHERE own.source_name IS NULL AND b.page_id = p.page_id AND b.fields IS NOT NULL
        ORDER BY b.updated_at DESC LIMIT 1) keyed ON true
    WHERE (%(start)s::timestamptz IS NULL OR p.fetched_at >= %(start)s)
      AND (%(end)s::timestamptz IS NULL OR p.fetched_at < %(end)s)
)
SELECT *, CASE
    WHEN %(needs)s::text IS NULL THEN CASE WHEN pruned THEN 'pruned' ELSE 'staged' END
    WHEN %(needs)s = 'cleaned' AND cleaned IS NULL THEN 'no_stored_cleaned'
    WHEN %(needs)s = 'fields' AND fields IS NULL THEN 'no_stored_fields'
    ELSE 'staged' END AS outcome
FROM selected
WHERE cardinality(%(sources)s::text[]) = 0 OR source_name = ANY(%(sources)s::text[])
"""


def _parameters(batch_key: str, request: Request) -> dict[str, Any]:
    start, end = _bounds(request)
    return {"batch": batch_key, "needs": NEEDS[request.first_stage], "start": start,
            "end": end, "sources": list(request.sources)}


def outcome_counts(conn: Any, batch_key: str, request: Request) -> dict[str, Counter[str]]:
    """Per source, how many selected pages have each outcome (counted in PostgreSQL)."""
    with conn.cursor() as cur:
        cur.execute(
            f"SELECT source_name, outcome, count(*) FROM ({_SELECTED}) s"
            " GROUP BY source_name, outcome ORDER BY source_name, outcome",
            _parameters(batch_key, request),
        )
        counts: dict[str, Counter[str]] = {}
        for source_name, outcome, count in cur.fetchall():
            counts.setdefault(source_name, Counter())[outcome] = count
        return counts


def _days(request: Request) -> str:
    """The request's fetch days, for the log."""
    if request.start and request.end:
        return f"from {request.start} to {request.end}"
    if request.start or request.end:
        return f"from {request.start}" if request.start else f"up to {request.end}"
    return "on any day"


def _outcome(page: dict[str, Any], request: Request) -> str:
    """What happens to a selected page: staged, or why it is skipped."""
    needs = NEEDS[request.first_stage]
    if needs is None:
        return "pruned" if page["pruned"] else "staged"
    return "staged" if page[needs] is not None else f"no_stored_{needs}"


def reprocess(conn: Any, batch_key: str, request: Request) -> dict[str, Any]:
    """Stage the request's pages into ``batch_key`` (unless a dry run) and say what was done.

    Pages whose raw content was pruned (retention) cannot be cleaned again; they, and
    pages without a stored result for a later first stage, are counted and skipped,
    not rejected: their articles stay as they are. Commits.

    Args:
        conn: an open connection.
        batch_key: the re-extraction batch (the run id).
        request: what to re-extract.

    Returns:
        ``{"dry_run", "stages", "pages", "staged", "would_stage", "skipped",
        "sources": {name: counts}}``, plus ``"sources_without_pages"`` when some of the
        requested sources have no stored page in the range.
    """
    per_source = outcome_counts(conn, batch_key, request)
    totals: Counter[str] = Counter()
    for counts in per_source.values():
        totals.update(counts)
        counts["pages"] = sum(counts.values())
        if request.dry_run and counts["staged"]:
            counts["would_stage"] = counts.pop("staged")
    staged = totals["staged"]
    if not request.dry_run and staged:
        _stage(conn, batch_key, request)
    conn.commit()
    summary = {
        "dry_run": request.dry_run,
        "stages": list(request.stages_run),
        "pages": sum(totals.values()),
        "staged": 0 if request.dry_run else staged,
        "would_stage": staged,
        "skipped": dict(sorted((o, n) for o, n in totals.items() if o != "staged")),
        "sources": {name: dict(sorted(c.items())) for name, c in sorted(per_source.items())},
    }
    LOGGER.info(
        "%s: %d stored pages fetched %s from %s; stages %s; %d %s, skipped %s",
        "dry run" if request.dry_run else "reprocess", summary["pages"], _days(request),
        ", ".join(request.sources) or "every source", ", ".join(request.stages_run),
        staged, "would be staged" if request.dry_run else "staged",
        summary["skipped"] or "none",
    )
    for name, counts in summary["sources"].items():
        LOGGER.info("source %s: %s", name, ", ".join(f"{k} {v}" for k, v in counts.items()))
    unmatched = sorted(set(request.sources) - set(per_source))
    if unmatched:
        # A misspelt name in the trigger form would otherwise just select nothing.
        LOGGER.warning("no stored pages in the date range for sources %s", unmatched)
        summary["sources_without_pages"] = unmatched
    return summary


def plan_text(summary: dict[str, Any]) -> str:
    """A dry run's plan as the lines a user reads in the task log."""
    lines = [
        f"DRY RUN, nothing changed: would re-run {', '.join(summary['stages'])} on"
        f" {summary['would_stage']} of {summary['pages']} stored pages"
    ]
    lines += [f"  {name}: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in counts.items())
              for name, counts in summary["sources"].items()]
    if summary["skipped"]:
        lines.append("  skipped: " + ", ".join(f"{k.replace('_', ' ')} {v}"
                                               for k, v in summary["skipped"].items()))
    if summary.get("sources_without_pages"):
        lines.append("  no stored pages for: " + ", ".join(summary["sources_without_pages"]))
    lines.append("Trigger again with dry_run off to do it.")
    return "\n".join(lines)


def _stage(conn: Any, batch_key: str, request: Request) -> None:
    """Insert the request's staged pages as items of the batch, in one server-side statement.

    Nothing passes through Python: a re-extraction of any size stages as one
    ``INSERT ... SELECT`` (no JSON array of every page, which PostgreSQL caps at 256 MB).
    """
    stage = STAGED_AT[request.first_stage]
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO batch_items (batch_key, input, source_name, hints, page_id, cleaned,"
            " fields, stage)"
            " SELECT %(batch)s, s.input, s.source_name, coalesce(s.hints, '{}'), s.page_id,"
            "  CASE WHEN %(stage)s <> 'fetched' THEN s.cleaned END,"
            "  CASE WHEN %(stage)s = 'extracted' THEN s.fields END, %(stage)s"
            f" FROM ({_SELECTED}) s WHERE s.outcome = 'staged'"
            " ORDER BY s.source_name, s.input"
            " ON CONFLICT (batch_key, input) DO NOTHING",
            {**_parameters(batch_key, request), "stage": stage},
        )
