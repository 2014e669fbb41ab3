"""CPU per article of enrichment: two checkouts of newsflow side by side, in alternating runs.

    python scripts/enrichment_cpu_ab.py BEFORE_ROOT AFTER_ROOT [--rounds 3] [--corpus aeb|wcxb]

Each run is a fresh process of this project's Python with ``ROOT/include`` first on the path:
it loads the model, enriches a few articles to warm up, then enriches the corpus' bodies in
chunks of 50 as the enrich stage does (``enrich_many`` per chunk) and reports its process CPU
time per article and a digest of the results. The two roots run in turn (ABBA...), so both
see the same load on a shared machine; same digests mean the same enrichment. Not a test.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

EVAL = Path(__file__).resolve().parents[1].parent / "shared" / "eval"
CORPORA = {"aeb": EVAL / "aeb" / "ground-truth.json", "wcxb": EVAL / "wcxb" / "ground-truth.json"}

RUN = """
import hashlib, json, sys, time
from newsflow.enrichment import enrich_many, load_model
truth = json.load(open(sys.argv[1], encoding="utf-8"))
articles = [{"body": v["articleBody"], "published_at": v.get("publish_date")}
            for v in truth.values() if v.get("articleBody")][: int(sys.argv[2])]
nlp = load_model()
list(enrich_many(articles[:8], nlp))
started = time.process_time()
found = []
for i in range(0, len(articles), 50):
    found += enrich_many(articles[i : i + 50], nlp)
cpu = time.process_time() - started
digest = hashlib.sha256(json.dumps(found, sort_keys=True).encode()).hexdigest()[:16]
print(json.dumps({"cpu_per_article": cpu / len(articles), "digest": digest}))
"""


def run(root: Path, corpus: Path, limit: int) -> dict:
    """One process enriching the corpus with the newsflow of ``root``."""
    env = {**os.environ, "PYTHONPATH": str(root / "include")}
    out = subprocess.run([sys.executable, "-c", RUN, str(corpus), str(limit)], env=env,
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> int:
    """Run both roots in turn and print CPU s per article (mean, each run) and digests."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--corpus", choices=sorted(CORPORA), default="aeb")
    parser.add_argument("--limit", type=int, default=300, help="articles (default 300)")
    args = parser.parse_args()
    runs: dict[str, list[dict]] = {"before": [], "after": []}
    for round_ in range(args.rounds):
        order = ["before", "after"] if round_ % 2 == 0 else ["after", "before"]
        for name in order:
            runs[name].append(run(getattr(args, name), CORPORA[args.corpus], args.limit))
            print(f"round {round_ + 1} {name}: {runs[name][-1]}", file=sys.stderr)
    means = {name: statistics.mean(r["cpu_per_article"] for r in found)
             for name, found in runs.items()}
    digests = {name: sorted({r["digest"] for r in found}) for name, found in runs.items()}
    print(json.dumps({"corpus": args.corpus, "rounds": args.rounds,
                      "cpu_per_article": {k: round(v, 4) for k, v in means.items()},
                      "runs": {k: [round(r["cpu_per_article"], 4) for r in v]
                               for k, v in runs.items()},
                      "after_over_before": round(means["after"] / means["before"], 3),
                      "same_results": digests["before"] == digests["after"]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
