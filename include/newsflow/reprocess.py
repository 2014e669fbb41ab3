"""Re-extraction: stage raw pages already stored into a new batch, for chosen stages to redo.

Nothing is fetched. A request names a range of fetch dates, sources and stages; each
selected page is staged in the new batch at the point where the earliest chosen stage
picks it up (the raw page for ``clean``, the last stored cleaned document for
``fields``, the last stored fields for ``enrichment``). The pipeline's own stages and
load then run on that batch, so a re-extraction writes through the same upsert, keeps
replaced fields as versions and stamps its extractor version and run on what it changes.
"""

import json
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
        sources: comma-separated source names; empty for all.
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


def selected_pages(conn: Any, batch_key: str, request: Request) -> list[dict[str, Any]]:
    """The stored pages the request covers, each with the last stored result it needs."""
    needs = NEEDS[request.first_stage]
    start, end = _bounds(request)
    with conn.cursor() as cur:
        cur.execute(
            "SELECT p.page_id, p.source_name, p.input, p.content IS NULL, last.hints,"
            "  last.cleaned, last.fields"
            " FROM pages p LEFT JOIN LATERAL ("
            "  SELECT b.hints, b.cleaned, b.fields FROM batch_items b"
            "  WHERE b.page_id = p.page_id AND b.batch_key <> %s"
            "   AND (%s::text IS NULL OR (%s = 'cleaned' AND b.cleaned IS NOT NULL)"
            "        OR (%s = 'fields' AND b.fields IS NOT NULL))"
            "  ORDER BY b.updated_at DESC LIMIT 1) last ON true"
            " WHERE (%s::timestamptz IS NULL OR p.fetched_at >= %s)"
            "  AND (%s::timestamptz IS NULL OR p.fetched_at < %s)"
            "  AND (cardinality(%s::text[]) = 0 OR p.source_name = ANY(%s::text[]))"
            " ORDER BY p.source_name, p.input",
            (batch_key, needs, needs, needs, start, start, end, end,
             list(request.sources), list(request.sources)),
        )
        columns = ("page_id", "source_name", "input", "pruned", "hints", "cleaned", "fields")
        return [dict(zip(columns, row, strict=True)) for row in cur.fetchall()]


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
    pages = selected_pages(conn, batch_key, request)
    outcomes = [(page, _outcome(page, request)) for page in pages]
    per_source: dict[str, Counter[str]] = {}
    for page, outcome in outcomes:
        per_source.setdefault(page["source_name"], Counter())["pages"] += 1
        if outcome == "staged" and request.dry_run:
            outcome = "would_stage"
        per_source[page["source_name"]][outcome] += 1
    staged = [page for page, outcome in outcomes if outcome == "staged"]
    if not request.dry_run:
        _stage(conn, batch_key, STAGED_AT[request.first_stage], staged)
    conn.commit()
    summary = {
        "dry_run": request.dry_run,
        "stages": list(request.stages_run),
        "pages": len(pages),
        "staged": 0 if request.dry_run else len(staged),
        "would_stage": len(staged),
        "skipped": dict(sorted(Counter(o for _, o in outcomes if o != "staged").items())),
        "sources": {name: dict(sorted(c.items())) for name, c in sorted(per_source.items())},
    }
    LOGGER.info(
        "%s: %d stored pages fetched %s from %s; stages %s; %d %s, skipped %s",
        "dry run" if request.dry_run else "reprocess", len(pages), _days(request),
        ", ".join(request.sources) or "every source", ", ".join(request.stages_run),
        len(staged), "would be staged" if request.dry_run else "staged",
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


def _stage(conn: Any, batch_key: str, stage: str, pages: list[dict[str, Any]]) -> None:
    """Insert the pages as items of the batch at ``stage``, with their stored results."""
    records = json.dumps([
        {"input": p["input"], "source_name": p["source_name"], "page_id": p["page_id"],
         "hints": p["hints"] or {}, "cleaned": p["cleaned"] if stage != "fetched" else None,
         "fields": p["fields"] if stage == "extracted" else None}
        for p in pages
    ])
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO batch_items (batch_key, input, source_name, hints, page_id, cleaned,"
            " fields, stage)"
            " SELECT %s, r.input, r.source_name, r.hints, r.page_id, r.cleaned, r.fields, %s"
            " FROM jsonb_to_recordset(%s::jsonb) AS r(input text, source_name text, hints jsonb,"
            "  page_id bigint, cleaned jsonb, fields jsonb)"
            " ON CONFLICT (batch_key, input) DO NOTHING",
            (batch_key, stage, records),
        )
