"""Throughput benchmark: ``news_ingest`` on Airflow end to end, against its own parts and a peer.

    python -m newsflow.benchmark [--pages 2000] [--scale 500 1000] [--hosts 40] [--no-peer]

What ``make bench`` runs. It serves N real pages of the shared eval corpora (read from
``../shared/eval``, replicated under distinct URLs, their canonical links removed so each
copy is an article of its own) on loopback hosts 127.0.0.1 to 127.0.0.H, listed in an RSS
feed and a sitemap; starts a fresh embedded PostgreSQL and a real Airflow deployment
(API server, scheduler with the LocalExecutor, DAG processor); triggers ``news_ingest`` once
per N into a fresh news database, at the default per-host politeness interval; and prints:

- end-to-end articles/s, each stage's (from the task instances' durations), the share of
  the wall time that was politeness waiting (fetch time with no request in flight);
- the component floor: the same stages' functions in this one process over one copy of
  each corpus page, no Airflow, no staging; the ratio end-to-end / floor, and the CPU the
  deployment (Airflow, task processes, PostgreSQL) used beyond the components' own;
- load speed alone (articles/s with every child row), peak memory per task process, the
  slowest page;
- news-please (installed in its own virtual environment, ``.bench/newsplease-venv``, not a
  project dependency) on a sample of the same URLs, against newsflow with enrichment off;
- articles/s at each N, to see whether cost grows linearly.

Not a test: the figures depend on the machine and on what else runs on it.

The parts live beside this entry point: ``bench_site`` (the pages and their hosts),
``bench_deployment`` (Airflow, the runs, process sampling), ``bench_components`` (the
floor and load alone), ``bench_peer`` (news-please) and ``bench_report``.
"""

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from newsflow import settings
from newsflow.bench_components import component_floor, extract_without_enrichment, load_alone
from newsflow.bench_deployment import (
    FIXED_SETTINGS,
    RECOMMENDED_ENV,
    Deployment,
    ProcessSampler,
    run_pipeline,
)
from newsflow.bench_peer import newsplease_peer
from newsflow.bench_report import machine, print_report
from newsflow.bench_site import BenchSite, corpus_pages, publish_run
from newsflow.bench_workspace import DEFAULT_EVAL_DIR, WORK, log


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m newsflow.benchmark",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=2000, help="N of the main run")
    parser.add_argument("--scale", type=int, nargs="*", default=[500, 1000],
                        help="smaller N also run, for scaling (default 500 1000; none: --scale)")
    parser.add_argument("--hosts", type=int, default=40, help="loopback hosts (max 254)")
    parser.add_argument("--eval-dir", type=Path, default=DEFAULT_EVAL_DIR)
    parser.add_argument("--floor-pages", type=int, default=0,
                        help="pages of the floor (default: one copy of each corpus page)")
    parser.add_argument("--peer-pages", type=int, default=40,
                        help="URLs given to news-please and to newsflow (default 40)")
    parser.add_argument("--no-peer", action="store_true", help="skip news-please")
    parser.add_argument("--no-floor", action="store_true", help="skip the component floor")
    parser.add_argument("--keep-database", action="store_true",
                        help="leave the embedded PostgreSQL running, with the main run's data")
    parser.add_argument("--json", type=Path, default=WORK / "results.json",
                        help="also write the figures here")
    args = parser.parse_args(argv)
    # The bench site's loopback hosts, for the in-process comparisons too.
    os.environ["NEWSFLOW_PRIVATE_HOSTS"] = "127.0.0.0/8"

    WORK.mkdir(exist_ok=True)
    pages = corpus_pages(args.eval_dir)
    counts = sorted({*args.scale, args.pages})
    log(f"{len(pages)} corpus pages from {args.eval_dir}; runs at N = {counts}")
    site = BenchSite(args.hosts)
    site.start()
    empty = WORK / "sources-none.yaml"
    empty.write_text("sources: []\n")
    published = {count: publish_run(site, pages, count, f"n{count}", WORK) for count in counts}
    sampler = ProcessSampler()
    deployment = Deployment(WORK, sampler)
    figures: dict[str, Any] = {
        "pages": args.pages, "corpus_pages": len(pages), "hosts": args.hosts,
        "settings": ", ".join(f"{k}={v}" for k, v in sorted(
            {**RECOMMENDED_ENV, **{k: v for k, v in os.environ.items() if k.startswith(
                "NEWSFLOW_") and k not in FIXED_SETTINGS}}.items())), "runs": {},
    }
    try:
        deployment.start_database()
        sampler.start()
        deployment.start_airflow(empty)
        deployment.unpause_and_settle()
        for count in counts:
            sources, _ = published[count]
            run = run_pipeline(deployment, site, sampler, sources, count)
            figures["runs"][str(count)] = run
            log(f"N={count}: {run['articles']} articles in {run['wall_seconds']} s ="
                f" {run['articles_per_s']} articles/s")
        main_urls = published[args.pages][1]
        news = figures["runs"][str(args.pages)].pop("news_dsn")
        log("load alone: re-loading the main run's enriched batch")
        figures["load_alone"] = load_alone(news)
        if args.keep_database:
            log(f"the main run's news database stays up: {news}")
            deployment.socket_dir = None
        deployment.stop()
        sampler.stop()
        if not args.no_floor:
            from newsflow import enrichment_bench
            from newsflow.enrichment import load_model

            floor_urls = main_urls[: args.floor_pages or len(pages)]
            log(f"component floor over {len(floor_urls)} pages in this process")
            figures["floor"], floor_fields = component_floor(floor_urls, load_model())
            log("enrichment CPU by stage, spaCy's pipeline before issue 18 and now")
            figures["enrichment_cpu_by_stage"] = enrichment_bench.compare(floor_fields)
        if not args.no_peer:
            peer_urls = main_urls[: args.peer_pages]
            figures["peer"] = {
                "newsplease": newsplease_peer(peer_urls),
                "newsflow_one_process": extract_without_enrichment(peer_urls),
                "newsflow": extract_without_enrichment(peer_urls, settings.CPU_PROCESSES),
            }
    finally:
        deployment.stop()
        site.stop()
    for run in figures["runs"].values():
        run.pop("news_dsn", None)
    figures["machine"] = machine()
    args.json.write_text(json.dumps(figures, indent=2))
    print_report(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
