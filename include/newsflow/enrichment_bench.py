"""Benchmark of enrichment alone: CPU per article by stage, before/after, and peak memory.

    python -m newsflow.enrichment_bench [--ground-truth FILE] [--seed FILE] [--seed-repeat N]
                                        [--rounds N] [--no-compare] [--batch-sizes 8 32]

Reads the article bodies of the article-extraction-benchmark's ground truth (by default
``../shared/eval/aeb/ground-truth.json`` next to the project) and the seed article, runs
``enrichment.enrich_many`` over them in one process, and prints the figures. Then, over the
aeb bodies, the CPU seconds per article of each stage (tokenizer, each spaCy pipe, the
newsflow rules with MinHash) for two configurations taken in turn, ``--rounds`` times each:
``before``, spaCy's pipeline as enrichment ran it until issue 18 (thinc's blis for matrix
products, the attribute ruler), and ``after``, ``enrichment.load_model()``; and whether both
gave the same results. CPU time (this process's), not wall time: it depends far less on what
else runs on the machine, though a busy machine still inflates it. Not a test.
"""

import argparse
import json
import resource
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from spacy.language import Language
from spacy.util import minibatch

from newsflow import settings
from newsflow.enrichment import (
    _enrichment,
    _parser_text,
    enrich_many,
    load_model,
    load_pipeline,
)
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
    parser.add_argument("--rounds", type=int, default=2,
                        help="runs of each configuration over the aeb bodies (default 2)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[settings.ENRICH_BATCH_SIZE],
                        help="nlp.pipe batch sizes of the after configuration (default: the"
                             " setting)")
    parser.add_argument("--no-compare", action="store_true",
                        help="skip the CPU by stage, before and after")
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
        if not args.no_compare:
            figures["cpu_by_stage"] = compare(bodies, args.rounds, args.batch_sizes)
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


def compare(articles: list[dict[str, Any]], rounds: int = 2,
            batch_sizes: Sequence[int] = (settings.ENRICH_BATCH_SIZE,)) -> dict[str, Any]:
    """CPU seconds per article by stage, before and after, taken in turn; same results?

    ``before`` is spaCy's pipeline as enrichment loaded it until issue 18 (no other change:
    the newsflow rules are today's in both); ``after`` is ``load_model()`` at each batch size.
    """
    configurations: dict[str, tuple[Language, int]] = {
        "before": (load_pipeline(settings.SPACY_MODEL), 8)}
    for size in batch_sizes:
        configurations[f"after (batch {size})"] = (load_model(), size)
    totals: dict[str, Counter[str]] = {name: Counter() for name in configurations}
    results: dict[str, list[dict[str, Any]]] = {}
    for round_ in range(rounds):
        names = list(configurations) if round_ % 2 == 0 else list(reversed(configurations))
        for name in names:
            nlp, size = configurations[name]
            results[name], cpu = cpu_by_stage(nlp, articles, size)
            totals[name].update(cpu)
            print(f"round {round_ + 1}/{rounds} {name}: {sum(cpu.values()):.1f} CPU s",
                  file=sys.stderr)
    per_article = {
        name: {stage: round(seconds / rounds / len(articles), 4)
               for stage, seconds in stages.items()}
        for name, stages in totals.items()
    }
    for stages in per_article.values():
        stages["total"] = round(sum(stages.values()), 4)
    first = next(iter(results.values()))
    return {"articles": len(articles), "rounds": rounds, "per_article": per_article,
            "same_results": all(found == first for found in results.values())}


def cpu_by_stage(
    nlp: Language, articles: list[dict[str, Any]], batch_size: int
) -> tuple[list[dict[str, Any]], Counter[str]]:
    """Enrich the articles as ``enrich_many`` does, timing each stage's CPU (process time)."""
    cpu: Counter[str] = Counter()
    results = []
    texts = [_parser_text(fields, nlp.lang) for fields in articles]
    for batch in minibatch(list(zip(articles, texts, strict=True)), batch_size):
        mark = time.process_time()
        docs = [nlp.make_doc(text) for _, text in batch]
        cpu["tokenizer"] += time.process_time() - mark
        for name, pipe in nlp.pipeline:
            mark = time.process_time()
            docs = list(pipe.pipe(docs)) if hasattr(pipe, "pipe") else [pipe(d) for d in docs]
            cpu[name] += time.process_time() - mark
        mark = time.process_time()
        results += [_enrichment(fields, doc, text)
                    for (fields, text), doc in zip(batch, docs, strict=True)]
        cpu["rules and MinHash"] += time.process_time() - mark
    return results, cpu


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
    compared = figures.get("cpu_by_stage")
    if compared:
        runs = compared["per_article"]
        stages = [*dict.fromkeys(stage for run in runs.values() for stage in run
                                 if stage != "total"), "total"]
        print(f"\nCPU s per article by stage, aeb bodies ({compared['articles']} articles,"
              f" mean of {compared['rounds']} rounds; same results in every configuration:"
              f" {'yes' if compared['same_results'] else 'NO'}):")
        print(f"  {'stage':<28}" + "".join(f"{name:>18}" for name in runs))
        for stage in stages:
            print(f"  {stage:<28}" + "".join(
                f"{runs[name].get(stage, '-'):>18}" for name in runs))
        before = runs["before"]["total"]
        for name, run in runs.items():
            if name != "before":
                print(f"  {name}: {run['total'] / before:.0%} of before's CPU per article")


if __name__ == "__main__":
    sys.exit(main())
