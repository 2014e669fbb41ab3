"""Extraction speed, side by side: a measurement, not a test.

Times newsflow's clean + extract stages (``fields.extract_article``) over the pages of one
eval corpus in CPU seconds (process time, one process), for this worktree's code, for an
earlier revision (``--before REF``, unpacked with ``git archive`` into a temporary folder)
and for trafilatura alone (as ``make eval`` runs it). Each round runs every variant in a
fresh process, one after the other, so that load from other work on a shared machine falls
on all of them alike; the best and the median round are printed.

    .venv/bin/python scripts/measure_extraction.py [EVAL_DIR] [--corpus aeb] [--before main]
        [--rounds 3] [--profile OUT.prof]
"""

import argparse
import contextlib
import cProfile
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = ("before", "after", "trafilatura")


def worker(eval_dir: Path, corpus: str, variant: str, profile: Path | None) -> None:
    """Time one variant over the corpus in this process; print the figures as JSON."""
    from newsflow import evaluation  # imported here: PYTHONPATH picks the revision
    from newsflow.fields import extract_article

    pages = evaluation.load_pages(eval_dir, (corpus,))
    contents = []
    for page in pages:
        content = page.path.read_bytes()
        contents.append((page, gzip.decompress(content) if page.path.suffix == ".gz" else content))

    def extract(page: evaluation.Page, content: bytes) -> None:
        if variant == "trafilatura":
            evaluation._baseline(content, page)
            return
        # a failed page costs what it cost, as in make eval
        with contextlib.suppress(Exception):
            extract_article(content, input_=str(page.path), url=page.url, fmt="html")

    warm_up(evaluation)
    profiler = cProfile.Profile() if profile else None
    start = time.process_time()
    if profiler:
        profiler.enable()
    for page, content in contents:
        extract(page, content)
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile)
    seconds = time.process_time() - start
    print(json.dumps({"variant": variant, "pages": len(contents), "seconds": seconds,
                      "module": evaluation.__file__}))


def warm_up(evaluation: object) -> None:
    """What a long-running worker has loaded before its pages, the same for every variant:
    the language model and justext's stoplists (``make eval``'s warm-up), every one of
    dateparser's locales, which htmldate tries in turn on a date it cannot read by its own
    rules, and the lower-cased set of justext's stoplists that its classifier builds (and
    caches) on its first paragraphs (each a tenth of a CPU second or more, paid by whichever page
    comes first)."""
    from htmldate import extractors
    from justext.core import define_stoplist
    from trafilatura import external

    evaluation.warm_up()  # type: ignore[attr-defined]
    extractors.month_words()
    extractors.get_external_parser().get_date_data("1 March 2020")
    extractors.get_external_parser().get_date_data("qzxv 2020")  # read by no locale: all load
    define_stoplist(external.JT_STOPLIST or external.jt_stoplist_init())


def unpack(ref: str, into: Path) -> Path:
    """The ``include`` folder of revision ``ref``, unpacked under ``into``."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "include"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "include"


def main() -> int:
    """Run the rounds and print pages per CPU second for each variant."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("eval_dir", nargs="?", type=Path, default=ROOT.parent / "shared" / "eval")
    parser.add_argument("--corpus", default="aeb")
    parser.add_argument("--before", default="main", help="git revision to compare with")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", type=Path,
                        help="with --worker: write a cProfile of the timed run here")
    parser.add_argument("--worker", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.eval_dir, args.corpus, args.worker, args.profile)
        return 0
    env = dict(os.environ, NEWSFLOW_CLEAN_TIME_LIMIT="0")  # a wall-clock limit, off here
    seconds: dict[str, list[float]] = {variant: [] for variant in VARIANTS}
    pages = 0
    with tempfile.TemporaryDirectory() as tmp:
        sources = {"before": unpack(args.before, Path(tmp)), "after": ROOT / "include",
                   "trafilatura": ROOT / "include"}
        for round_ in range(args.rounds):
            for variant in VARIANTS:
                command = [sys.executable, __file__, str(args.eval_dir), "--corpus", args.corpus,
                           "--worker", variant]
                run_env = dict(env, PYTHONPATH=str(sources[variant]))
                out = subprocess.run(command, env=run_env, check=True, capture_output=True,
                                     text=True).stdout
                figures = json.loads(out.strip().splitlines()[-1])
                if not figures["module"].startswith(str(sources[variant])):
                    raise SystemExit(f"{variant} imported {figures['module']}")
                seconds[variant].append(figures["seconds"])
                pages = figures["pages"]
                print(f"round {round_ + 1} {variant:<12} {pages / figures['seconds']:6.1f} pages/s",
                      file=sys.stderr, flush=True)
    print(f"{args.corpus}: {pages} pages, pages per CPU second (one process), "
          f"{args.rounds} rounds; before = {args.before}")
    print(f"{'variant':<12} {'best':>7} {'median':>7}")
    for variant in VARIANTS:
        best, median = min(seconds[variant]), statistics.median(seconds[variant])
        print(f"{variant:<12} {pages / best:>7.1f} {pages / median:>7.1f}")
    pairs = zip(seconds["before"], seconds["after"], strict=True)
    ratio = statistics.median(before / after for before, after in pairs)
    print(f"after / before speed, median of the rounds' ratios: {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
