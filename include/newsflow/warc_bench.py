"""WARC throughput: ``make bench``'s WARC run, newsflow against news-please on one file.

    python -m newsflow.warc_bench [--records 2000] [--pipeline-records N] [--enrich-records N]
                                  [--no-peer]

Writes one WARC file (gzipped per record, as CC-NEWS) of N response records, copies of the
shared eval corpora's English pages (aeb, fundus) under distinct URLs on 40 hosts, their
canonical links removed so that each record is an article of its own; then measures, on a
fresh embedded PostgreSQL, with every stage in this one process (``NEWSFLOW_CPU_PROCESSES``
= 1, so the figures are per core):

- reading alone: records/s and MB/s of ``warc.read_warc`` over the file;
- newsflow end to end without enrichment: discover, read_warc, clean, extract, load (the
  library stages the DAG's tasks call, on a real PostgreSQL; no Airflow scheduling), over
  a WARC of the first ``--pipeline-records`` records (default: all N);
- the same with enrichment (spaCy), over the first ``--enrich-records`` records;
- news-please's own CC-NEWS extractor (``newsplease.crawler.commoncrawl_extractor``) on
  the same file as newsflow's run without enrichment, in its own virtual environment
  (``.bench/newsplease-venv``).

On a busy machine, ``--pipeline-records`` and ``--enrich-records`` shorten the end-to-end
runs; the comparison with news-please stays on one file.

Articles/s count articles with a body; CPU seconds include PostgreSQL's. Not a test: the
figures depend on the machine and on what else runs on it.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from newsflow import dbserver, settings, warc
from newsflow.bench_peer import NEWSPLEASE_VERSION, newsplease_python
from newsflow.bench_site import corpus_pages
from newsflow.bench_workspace import DEFAULT_EVAL_DIR, WORK, log

ROOT = settings.PROJECT_ROOT
HOSTS = 40
WINDOW = (datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 3, 2, tzinfo=UTC))


def write_bench_warc(path: Path, pages: list[tuple[str, bytes]], count: int) -> int:
    """``count`` response records, copies of ``pages``, dated inside ``WINDOW``; returns bytes."""
    step = (WINDOW[1] - WINDOW[0]) / (count + 1)
    records = (
        warc.RecordSpec(f"https://news{i % HOSTS}.example/{name}/{i}", WINDOW[0] + step * (i + 1),
                        pages[i % len(pages)][1])
        for i, name in ((i, pages[i % len(pages)][0]) for i in range(count))
    )
    warc.write_warc(path, records)
    return path.stat().st_size


def read_speed(path: Path) -> dict[str, Any]:
    """Records/s and MB/s of reading the file (pages decoded, nothing stored)."""
    cpu, wall = time.process_time(), time.perf_counter()
    stats = warc.ReadStats()
    size = sum(len(o.content) for o in warc.read_warc(
        path, max_bytes=settings.MAX_BODY_BYTES, stats=stats) if isinstance(o, warc.WarcPage))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"records": stats.records, "seconds": round(wall, 2), "cpu_seconds": round(cpu, 2),
            "records_per_s": round(stats.records / wall),
            "records_per_cpu_s": round(stats.records / max(cpu, 1e-9)),
            "payload_mb_per_s": round(size / wall / 1e6, 1)}


def newsflow_run(dsn: str, folder: Path, postgres_pid: int, *, enrich: bool) -> dict[str, Any]:
    """discover → read_warc → clean → extract (→ enrich) → load over ``folder``; timings."""
    from newsflow import archives, discovery, load_stage, pipeline, storage

    conn = storage.connect(dsn)
    storage.apply_migrations(conn)
    sources = folder.parent / f"sources-{folder.name}.yaml"
    sources.write_text(f"sources:\n  - {{name: bench, kind: warc, path: '{folder.name}'}}\n")
    batch = f"bench-{'enriched' if enrich else 'plain'}"
    timings: dict[str, float] = {}
    cpu_before = time.process_time() + _cpu_of(postgres_pid)
    started = time.perf_counter()

    def timed(name: str, work: Any) -> None:
        mark = time.perf_counter()
        work()
        timings[name] = round(time.perf_counter() - mark, 2)

    timed("discover", lambda: discovery.discover(conn, batch, sources, *WINDOW))
    timed("read_warc", lambda: [archives.read_file(conn, batch, file_id)
                                for file_id in archives.batch_files(conn, batch)])
    timed("clean", lambda: pipeline.clean(conn, batch))
    timed("extract", lambda: pipeline.extract(conn, batch))
    if enrich:
        timed("enrich", lambda: pipeline.enrich(conn, batch))
    else:
        timed("enrich (skipped)", lambda: _pass_through(conn, batch))
    timed("load", lambda: load_stage.load(conn, batch))
    wall = time.perf_counter() - started
    cpu = time.process_time() + _cpu_of(postgres_pid) - cpu_before
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM articles WHERE body <> ''")
        (articles,) = cur.fetchone()
        cur.execute("SELECT inputs, articles, rejects, lost, duplicates FROM"
                    " v_batch_ledger_summary WHERE batch_key = %s", (batch,))
        ledger = cur.fetchone()
    conn.close()
    return {"articles": articles, "seconds": round(wall, 1), "cpu_seconds": round(cpu, 1),
            "articles_per_s": round(articles / wall, 2),
            "articles_per_cpu_s": round(articles / cpu, 2), "stages": timings,
            "ledger": dict(zip(("inputs", "articles", "rejects", "lost", "duplicates"), ledger,
                               strict=True))}


def _pass_through(conn: Any, batch: str) -> None:
    """Move extracted items on to load unchanged: the run without enrichment."""
    from newsflow import staging

    items = staging.items_at_stage(conn, batch, "extracted")
    staging.save_stage_results(conn, batch, "enriched", "fields",
                               {item.input: item.fields or {} for item in items})
    conn.commit()


def _cpu_of(pid: int) -> float:
    """CPU seconds used so far by a process and its children (PostgreSQL's server)."""
    total = 0.0
    try:
        root = psutil.Process(pid)
        for proc in (root, *root.children(recursive=True)):
            try:
                times = proc.cpu_times()
                total += times.user + times.system
            except psutil.Error:
                continue
    except psutil.Error:
        pass
    return total


def newsplease_warc(path: Path) -> dict[str, Any]:
    """news-please's CommonCrawlExtractor over the local file, in news-please's venv."""
    python = newsplease_python()
    log(f"news-please {NEWSPLEASE_VERSION}: commoncrawl_extractor over {path.name}")
    result = subprocess.run(
        [str(python), str(ROOT / "scripts" / "newsplease_warc_peer.py"), str(path)],
        capture_output=True, text=True, check=False)
    if result.returncode:
        raise SystemExit(f"news-please failed:\n{result.stderr[-3000:]}")
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    figures["articles_per_s"] = round(figures["articles"] / figures["seconds"], 2)
    figures["articles_per_cpu_s"] = round(figures["articles"] / figures["cpu_seconds"], 2)
    return figures


def main(argv: list[str] | None = None) -> int:
    """Run the WARC benchmark; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m newsflow.warc_bench",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=2000, help="records in the WARC")
    parser.add_argument("--pipeline-records", type=int, default=None,
                        help="records of newsflow's run and news-please's (default: all)")
    parser.add_argument("--enrich-records", type=int, default=None,
                        help="records of the run with enrichment (default: as the run"
                             " without; 0: skip)")
    parser.add_argument("--eval-dir", type=Path, default=DEFAULT_EVAL_DIR)
    parser.add_argument("--no-peer", action="store_true", help="skip news-please")
    parser.add_argument("--json", type=Path, default=WORK / "warc-results.json")
    args = parser.parse_args(argv)
    os.environ["NEWSFLOW_CPU_PROCESSES"] = "1"
    settings.CPU_PROCESSES = 1

    work = WORK / "warc"
    # The bench's WARC folders are its drop root: a source set may only name folders there.
    os.environ["NEWSFLOW_DROP_ROOT"] = str(work)
    shutil.rmtree(work, ignore_errors=True)
    (work / "all").mkdir(parents=True)
    pages = corpus_pages(args.eval_dir)
    whole = work / "all" / "CC-NEWS-20250301000000-00001.warc.gz"
    size = write_bench_warc(whole, pages, args.records)
    log(f"wrote {args.records} records ({size / 1e6:.0f} MB, {len(pages)} corpus pages)")
    figures: dict[str, Any] = {"records": args.records, "warc_mb": round(size / 1e6, 1),
                               "corpus_pages": len(pages)}
    figures["read"] = read_speed(whole)
    log(f"read: {figures['read']}")
    pipeline_records = args.pipeline_records or args.records
    enrich_records = pipeline_records if args.enrich_records is None else args.enrich_records
    compared = whole
    if pipeline_records != args.records:
        compared = work / "compared" / whole.name
        compared.parent.mkdir()
        write_bench_warc(compared, pages, pipeline_records)
    figures["pipeline_records"] = pipeline_records
    figures["enrich_records"] = enrich_records
    pgdata = work / "pg"
    socket_dir = dbserver.start(pgdata, databases=("plain", "enriched"))
    pid = int((pgdata / "postmaster.pid").read_text().split()[0])
    try:
        figures["newsflow"] = newsflow_run(dbserver.dsn(socket_dir, "plain"), compared.parent,
                                           pid, enrich=False)
        log(f"newsflow, enrichment off: {figures['newsflow']}")
        if enrich_records:
            part = work / "enriched"
            part.mkdir()
            write_bench_warc(part / whole.name, pages, enrich_records)
            figures["newsflow_enriched"] = newsflow_run(
                dbserver.dsn(socket_dir, "enriched"), part, pid, enrich=True)
            log(f"newsflow, enrichment on: {figures['newsflow_enriched']}")
    finally:
        dbserver.stop(pgdata)
    if not args.no_peer:
        figures["newsplease"] = newsplease_warc(compared)
        log(f"news-please: {figures['newsplease']}")
    args.json.write_text(json.dumps(figures, indent=2))
    print_report(figures)
    return 0


def print_report(figures: dict[str, Any]) -> None:
    """The figures as a few lines of text."""
    read, ours = figures["read"], figures["newsflow"]
    print(f"\nWARC benchmark: {figures['records']} records, {figures['warc_mb']} MB gzipped per"
          f" record ({figures['corpus_pages']} corpus pages), one process; end to end over"
          f" {figures['pipeline_records']} records ({figures['enrich_records']} enriched)\n"
          f"  read: {read['records_per_s']} records/s ({read['records_per_cpu_s']} per CPU"
          f" second), {read['payload_mb_per_s']} MB/s payload\n"
          f"  newsflow, enrichment off: {ours['articles']} articles in {ours['seconds']} s ="
          f" {ours['articles_per_s']} articles/s ({ours['articles_per_cpu_s']} per CPU second,"
          f" PostgreSQL included); stages {ours['stages']}; ledger {ours['ledger']}")
    if "newsflow_enriched" in figures:
        rich = figures["newsflow_enriched"]
        print(f"  newsflow, enrichment on: {rich['articles']} articles in {rich['seconds']} s ="
              f" {rich['articles_per_s']} articles/s ({rich['articles_per_cpu_s']} per CPU"
              f" second); stages {rich['stages']}")
    if "newsplease" in figures:
        theirs = figures["newsplease"]
        ratio = ours["articles_per_cpu_s"] / theirs["articles_per_cpu_s"]
        print(f"  news-please {NEWSPLEASE_VERSION} commoncrawl_extractor: {theirs['articles']}"
              f" articles in {theirs['seconds']} s = {theirs['articles_per_s']} articles/s"
              f" ({theirs['articles_per_cpu_s']} per CPU second)\n"
              f"  newsflow / news-please per CPU second, enrichment off = {ratio:.1f}x"
              f" (target >= 3x): {'met' if ratio >= 3 else 'NOT met'}")


if __name__ == "__main__":
    sys.exit(main())

