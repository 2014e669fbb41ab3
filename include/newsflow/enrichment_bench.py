"""Benchmark of enrichment alone: articles per second and peak memory.

    python -m newsflow.enrichment_bench [--ground-truth FILE] [--seed FILE] [--seed-repeat N]

Reads the article bodies of the article-extraction-benchmark's ground truth (by default
``../shared/eval/aeb/ground-truth.json`` next to the project) and the seed article, runs
``enrichment.enrich_many`` over them in one process, and prints the figures. Not a test:
numbers depend on the machine and on what else runs on it.
"""

import argparse
import json
import resource
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from newsflow import settings
from newsflow.enrichment import enrich_many, load_model
from newsflow.fields import extract_article

DEFAULT_GROUND_TRUTH = (
    settings.PROJECT_ROOT.parent / "shared" / "eval" / "aeb" / "ground-truth.json"
)
DEFAULT_SEED = settings.PROJECT_ROOT / "include" / "demo" / "drop" / "000_6b0885ebeeff3833.txt"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its figures; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m newsflow.enrichment_bench",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--ground-truth", type=Path, default=DEFAULT_GROUND_TRUTH)
    parser.add_argument("--seed", type=Path, default=DEFAULT_SEED)
    parser.add_argument("--seed-repeat", type=int, default=20,
                        help="times the seed is enriched for its figure (default 20)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)

    figures: dict[str, Any] = {"model": settings.SPACY_MODEL,
                               "batch_size": settings.ENRICH_BATCH_SIZE,
                               "rss_before_model_mb": _peak_rss_mb()}
    started = time.perf_counter()
    nlp = load_model()
    figures["model_load_s"] = round(time.perf_counter() - started, 2)
    figures["rss_after_model_mb"] = _peak_rss_mb()

    if args.ground_truth.exists():
        truth = json.loads(args.ground_truth.read_text(encoding="utf-8"))
        bodies = [{"body": item["articleBody"]} for item in truth.values() if item["articleBody"]]
        figures["aeb"] = _run(nlp, bodies, "aeb bodies")
    else:
        print(f"no ground truth at {args.ground_truth}; skipping the aeb bodies", file=sys.stderr)
    seed = extract_article(args.seed.read_bytes(), input_=str(args.seed))
    figures["seed"] = _run(nlp, [seed] * args.seed_repeat, "seed")
    figures["peak_rss_mb"] = _peak_rss_mb()

    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        _print(figures)
    return 0


def _run(nlp: Any, articles: list[dict[str, Any]], label: str) -> dict[str, Any]:
    """Enrich the articles once, timing it; returns the figures."""
    counts = {"entities": 0, "quotes": 0, "numbers": 0, "dates": 0}
    show_progress = sys.stderr.isatty()
    started = time.perf_counter()
    for done, enriched in enumerate(enrich_many(articles, nlp), start=1):
        for key in counts:
            counts[key] += len(enriched[key])
        if show_progress and done % 10 == 0:
            print(f"\r{label}: {done}/{len(articles)}", end="", file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - started
    if show_progress:
        print(file=sys.stderr)
    chars = sum(len(a.get("body") or "") for a in articles)
    return {
        "articles": len(articles),
        "characters": chars,
        "seconds": round(elapsed, 2),
        "articles_per_s": round(len(articles) / elapsed, 2),
        "characters_per_s": round(chars / elapsed),
        "per_article": {key: round(value / len(articles), 1) for key, value in counts.items()},
    }


def _peak_rss_mb() -> float:
    """The process's peak resident memory so far, in MiB (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _print(figures: dict[str, Any]) -> None:
    """The figures as a short report."""
    print(f"model {figures['model']} (batch size {figures['batch_size']}): loaded in "
          f"{figures['model_load_s']} s; peak RSS {figures['rss_before_model_mb']} MiB before, "
          f"{figures['rss_after_model_mb']} MiB after")
    for name in ("aeb", "seed"):
        if name in figures:
            run = figures[name]
            per = ", ".join(f"{v} {k}" for k, v in run["per_article"].items())
            print(f"{name}: {run['articles']} articles, {run['characters']} characters in "
                  f"{run['seconds']} s = {run['articles_per_s']} articles/s, "
                  f"{run['characters_per_s']} characters/s; per article {per}")
    print(f"peak RSS {figures['peak_rss_mb']} MiB")


if __name__ == "__main__":
    sys.exit(main())
