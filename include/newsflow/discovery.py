"""The discover stage: what each enabled source lists now, placed in the run's window,
capped and staged.

Each input is taken once (``source_state.take_inputs``); what a run leaves out, and why, is
counted per source and logged (``left_out``). docs/sources.md states the rules.
"""

import functools
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from newsflow import archives, settings, source_state, staging
from newsflow.crawl import BatchCrawler, input_key, internal_error
from newsflow.fetching import FetchError, private_hosts
from newsflow.item_stage import StageError, Stats
from newsflow.sources import (
    Source,
    SourceConfigError,
    Window,
    list_folder,
    load_sources,
    read_content_hash,
    with_content_hash,
)

LOGGER = logging.getLogger(__name__)


def discover(
    conn: Any,
    batch_key: str,
    sources_file: Path | None = None,
    interval_start: datetime | None = None,
    interval_end: datetime | None = None,
    mode: str = "interval",
) -> Stats:
    """Find the inputs of every enabled source that belong to the run; stage them.

    Args:
        conn: an open connection.
        batch_key: the batch (one DAG run).
        sources_file: the YAML sources file; defaults to the default named set. Airflow
            runs pass a named set's file (``sourcesets.set_path``).
        interval_start: start of the run's data interval.
        interval_end: its end. Without a real interval (null or zero-length, as a
            manual run may have) nothing is filtered by date: every input the sources
            list now is taken.
        mode: ``"interval"`` (scheduled and backfill runs): the inputs of the interval;
            ``"new"`` (manual runs): every input no other run took, dated from the
            interval's start on (any date without an interval), with no end; a re-run
            of the batch takes the same. WARC sources keep the interval in both modes.

    Returns:
        ``{source_name: {"listed": n, "staged": m, ...}}`` for sources that answered;
        what was left out, and why, is logged (``left_out``).

    Raises:
        StageError: every enabled source failed.
        SourceConfigError: the sources file or the private-host setting cannot be used.
    """
    if mode not in MODES:
        raise SourceConfigError(f"discover mode {mode!r}: not one of {', '.join(MODES)}")
    interval = Window.of(interval_start, interval_end)
    window = Window.new_inputs(batch_key, interval.start) if mode == "new" else interval
    sources = [s for s in load_sources(sources_file) if s.enabled]
    try:
        private_hosts()
    except ValueError as error:
        raise SourceConfigError(str(error)) from None
    # The run's data interval (a manual run's too: what it was triggered for).
    source_state.save_batch_sources(conn, batch_key, sources, interval.start, interval.end)
    conn.commit()
    LOGGER.info("discovering for %s", _describe(window))
    crawler = BatchCrawler(conn, batch_key)
    stats: Stats = {}
    failed = 0
    misconfigured: list[str] = []  # reasons no retry can change (a missing folder, ...)
    for source in sources:
        try:
            if source.kind == "warc":  # files, each read by a mapped task: see archives
                stats[source.name] = archives.stage_files(conn, batch_key, source, interval,
                                                          crawler)
                conn.commit()
                continue
            if source.kind == "folder":
                stats[source.name] = _stage_folder(conn, batch_key, source, window)
            else:
                found, invalid = crawler.discover_source(source, window)
                stats[source.name] = _stage_in_window(conn, batch_key, source.name,
                                                      source.kind, found, invalid, window)
        except Exception as error:  # one source's failure costs that source only
            if not isinstance(error, FetchError):
                LOGGER.exception("discovery of source %s failed unexpectedly", source.name)
            conn.rollback()
            reason = str(error) if isinstance(error, FetchError) else internal_error(error)
            staging.record_reject(conn, batch_key, source.name, source.location, "discover",
                                  reason)
            conn.commit()
            failed += 1
            if isinstance(error.__cause__, SourceConfigError):
                misconfigured.append(reason)
            LOGGER.warning("source %s: not read: %s", source.name, reason)
            continue
        conn.commit()
        LOGGER.info("source %s: %s", source.name,
                    ", ".join(f"{k} {v}" for k, v in stats[source.name].items()))
    if sources and len(misconfigured) == len(sources):
        # Retrying cannot help: fail at once, with the reasons.
        raise SourceConfigError("; ".join(misconfigured))
    if sources and failed == len(sources):
        raise StageError(f"all {failed} enabled sources failed discovery; see rejects")
    for line in left_out(stats):
        LOGGER.warning("left out: %s", line)
    return stats


# discover's modes: the run's interval (scheduled, backfill) or what is new (manual).
MODES = ("interval", "new")


# Why discover left inputs out, per count it reports: a sentence to follow the number.
LEFT_OUT_REASONS = {
    "dated_before_interval": "dated before this interval — backfill to take them",
    "dated_after_interval": "dated after this interval — a later run takes them",
    "taken_by_other_interval": "already taken by an earlier run (each input is taken"
                               " once; re-running that run takes them again)",
    "over_source_cap": "over the per-run cap NEWSFLOW_MAX_SOURCE_INPUTS — the next run"
                       " takes them",
    "not_examined": "drop-folder entries past NEWSFLOW_MAX_FOLDER_SCAN, not examined —"
                    " the next runs go on from there",
    "repeated": "repeats of another input (same content or canonical URL) — see rejects",
    "rejected": "unusable entries — see rejects",
}


def left_out(stats: Stats) -> list[str]:
    """One line per source and reason for the inputs discovery did not stage, e.g.
    ``demo-sitemap: 12 dated before this interval — backfill to take them``."""
    return [f"{source}: {counts[key]} {reason}"
            for source, counts in stats.items()
            for key, reason in LEFT_OUT_REASONS.items() if counts.get(key)]


def _describe(window: Window) -> str:
    """How the log names what a run takes."""
    if window.run_key:
        since = f" dated from {window.start.isoformat()} on" if window.start else ""
        return f"a manual run: every input{since} that no other run took ({window.key})"
    if window.bounded:
        return f"the interval {window.key}"
    return "no interval: every input the sources list now"


def _stage_folder(conn: Any, batch_key: str, source: Source, window: Window) -> dict[str, int]:
    """Stage a drop folder's files this window takes, reading only those.

    The folder is examined by metadata (``list_folder``, at most
    ``settings.MAX_FOLDER_SCAN`` entries, going on where the last run stopped); a file read
    before and unchanged since keeps the content key it had (``drop_file_keys``); the cap
    applies next, and only the files taken that still need their key are read.
    """
    # The first statement opens the transaction whose start is recorded as each key's
    # read_at: before any file is read (source_state.unchanged_files relies on it).
    start_after = source_state.folder_scan_start(conn, source.name, window.key)
    try:
        listing = list_folder(source, window, start_after, settings.MAX_FOLDER_SCAN)
    except SourceConfigError as error:
        raise FetchError(str(error)) from error
    source_state.record_folder_scan(conn, source.name, window.key, start_after,
                                    listing.next_after)
    known = source_state.unchanged_files(conn, source.name, listing.changed)
    found = [with_content_hash(d, known[d.input].removeprefix("sha256:"))
             if known.get(d.input, "").startswith("sha256:") else d
             for d in listing.discoveries]
    unread = set(listing.changed) - set(known)

    def read_unread(taken: list) -> list:
        read = [read_content_hash(d) if d.input in unread else d for d in taken]
        # A file that could not be read is remembered too (its key is its path): it is
        # read again only once it changes.
        source_state.record_file_keys(conn, source.name, {
            d.input: input_key(d) for d in read if d.input in unread})
        unread.difference_update(d.input for d in taken)
        return read

    counts = _stage_in_window(conn, batch_key, source.name, source.kind, found,
                              listing.invalid, window, read_unread)
    if listing.not_examined:
        counts["not_examined"] = listing.not_examined
    return counts


def _stage_in_window(
    conn: Any,
    batch_key: str,
    source_name: str,
    kind: str,
    found: list,
    invalid: list[tuple[str, str]],
    window: Window,
    read_keys: Callable[[list], list] | None = None,
) -> dict[str, int]:
    """Stage the inputs this window takes, reject the unusable ones; returns the counts.

    Sitemaps are archives: their entries dated before the interval belong to earlier
    intervals. Feeds, URL lists and folders are taken late (a feed item dated before
    the interval, a file copied with an old mtime), once: ``source_state.take_inputs``.
    ``read_keys`` completes the keys of candidates (a drop folder's files, read only
    when the cap takes them: ``_within_cap``).
    """
    placed = [(d, window.place(d.dated, late_ok=kind != "sitemap")) for d in found]
    candidates = [d for d, place in placed if place == "take"]
    candidates, over_cap = _within_cap(conn, source_name, candidates, window,
                                       read_keys or (lambda taken: taken))
    keys = {d.input: input_key(d) for d in candidates}
    taken = source_state.take_inputs(conn, batch_key, source_name,
                                     {key: input_ for input_, key in keys.items()}, window.key)
    staged, repeats = _first_per_key(
        sorted((d for d in candidates if keys[d.input] in taken), key=lambda d: d.input), keys
    )
    staging.stage_discoveries(conn, batch_key, staged)
    staging.record_rejects(conn, batch_key, "discover",
                           [(source_name, line, reason) for line, reason in [*invalid, *repeats]])
    counts = {
        "listed": len(found) + len(invalid),
        "staged": len({d.input for d in staged}),
        "outside_interval": sum(1 for _, place in placed if place != "take"),
        "dated_before_interval": sum(1 for _, place in placed if place == "earlier"),
        "dated_after_interval": sum(1 for _, place in placed if place == "later"),
        "over_source_cap": over_cap,
        "taken_by_other_interval": sum(1 for d in candidates if keys[d.input] not in taken),
        "rejected": len(invalid),
        "repeated": len(repeats),
    }
    return {k: v for k, v in counts.items() if v or k in ("listed", "staged")}


def _within_cap(
    conn: Any, source_name: str, candidates: list, window: Window,
    read_keys: Callable[[list], list],
) -> tuple[list, int]:
    """The candidates a run may take: at most ``settings.MAX_SOURCE_INPUTS`` new ones.

    Those other windows keep are left in (they cost nothing: ``take_inputs`` leaves them
    out); of the rest the newest are taken. The others are not recorded as taken, so a
    later run finds them still available. A candidate whose key is known only once read
    (``read_keys``) is read when the cap reaches it; if its content turns out to be kept
    by another window it does not count, and the next newest is read in its place.
    Returns the candidates (keys complete) and how many were left.
    """
    cap = settings.MAX_SOURCE_INPUTS
    if len(candidates) <= cap:
        return read_keys(candidates), 0
    fresh_of = functools.partial(_fresh, conn, source_name, window)
    fresh = fresh_of(candidates)
    if len(fresh) <= cap:
        return read_keys(candidates), 0
    fresh.sort(key=lambda d: (d.dated is not None, d.dated or 0), reverse=True)
    chosen = {d.input for d in fresh}
    # Kept elsewhere: read only if never read (or changed since), as a file once refused.
    rest = read_keys([d for d in candidates if d.input not in chosen])
    taken: list = []
    position = 0
    while len(fresh_of(taken)) < cap and position < len(fresh):
        batch = read_keys(fresh[position:position + cap - len(fresh_of(taken))])
        position += len(batch)
        taken += batch
    left = len(fresh) - position
    if left:
        LOGGER.warning("source %s lists more new inputs than a run takes (%d): %d left for"
                       " later", source_name, cap, left)
    return rest + taken, left


def _fresh(conn: Any, source_name: str, window: Window, discoveries: list) -> list:
    """The discoveries whose key no other window keeps."""
    keys = {d.input: input_key(d) for d in discoveries}
    elsewhere = source_state.kept_by_other_windows(conn, source_name,
                                                   sorted(set(keys.values())), window.key)
    return [d for d in discoveries if keys[d.input] not in elsewhere]


def _first_per_key(
    discoveries: list, keys: dict[str, str]
) -> tuple[list, list[tuple[str, str]]]:
    """The first input of each key, and (input, reason) for the others.

    Two files with the same content, or two links to the same canonical URL, are one
    input: the later ones are rejected with the one they repeat, so the ledger holds.
    """
    first: dict[str, str] = {}
    kept, repeats = [], []
    for discovery in discoveries:
        key = keys[discovery.input]
        if first.get(key) == discovery.input:
            continue  # listed twice: one input
        if key in first:
            what = "content" if key.startswith("sha256:") else "canonical URL"
            repeats.append((discovery.input, f"same {what} as {first[key]}"))
        else:
            first[key] = discovery.input
            kept.append(discovery)
    return kept, repeats
