"""The enrichment regression sample: the aeb bodies and the seed, and what enrichment found in them.

The bodies are read at test time from ``../shared/eval/aeb/ground-truth.json`` (next to the
project, never copied into it); the expected output committed in
``tests/fixtures/enrichment/regression_expected.json`` holds only what enrichment produced:
entity names, types and spans, quote speakers, verbs and offsets (the quoted text as a short
hash), numbers and dates as staged, and a hash of the MinHash signature.

Freeze the current output again (only when a change of results is intended and reviewed):

    .venv/bin/python -m tests.unit.enrichment_regression --write
"""

import argparse
import hashlib
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from newsflow.fields import extract_article
from tests.conftest import FIXTURES, ROOT, SEED

GROUND_TRUTH = ROOT.parent / "shared" / "eval" / "aeb" / "ground-truth.json"
EXPECTED = FIXTURES / "enrichment" / "regression_expected.json"
# A fixed publication day, so that relative dates ("last Friday") resolve in the sample.
SAMPLE_PUBLISHED = "2020-06-15T12:00:00+00:00"
SEED_PUBLISHED = "2013-09-13T12:00:00+00:00"


def sample_articles(ground_truth: Path = GROUND_TRUTH) -> dict[str, dict[str, Any]]:
    """The sample's fields by key: the seed as extracted, then every non-empty aeb body."""
    seed = dict(extract_article(SEED.read_bytes(), input_=str(SEED)))
    seed["published_at"] = SEED_PUBLISHED
    articles = {"seed": seed}
    truth = json.loads(ground_truth.read_text(encoding="utf-8"))
    for key in sorted(truth):
        body = truth[key].get("articleBody") or ""
        if body.strip():
            articles[f"aeb/{key[:16]}"] = {"body": body, "published_at": SAMPLE_PUBLISHED}
    return articles


def summary(enriched: dict[str, Any]) -> dict[str, Any]:
    """What the regression compares of one article's enrichment (no page text beyond names)."""
    return {
        "entities": [[e["name"], e["type"], e["spans"]] for e in enriched["entities"]],
        "quotes": [
            [q["speaker"], q["speaker_type"], q["speaker_text"], q["verb"], q["start"], q["end"],
             _short_hash(q["text"])]
            for q in enriched["quotes"]
        ],
        "numbers": [
            [n["text"], n["value"], n["kind"], n["unit"], n["approximate"], n["object"],
             n["event"], n["start"], n["end"]]
            for n in enriched["numbers"]
        ],
        "dates": [
            [d["text"], d["granularity"], d["date_from"], d["date_to"], d["start"], d["end"]]
            for d in enriched["dates"]
        ],
        "minhash": _short_hash(json.dumps(enriched["minhash"], sort_keys=True)),
    }


def summaries(keys: Iterable[str], enriched: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The summary of each article by its key."""
    return {key: summary(result) for key, result in zip(keys, enriched, strict=True)}


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def main(argv: list[str] | None = None) -> int:
    """Write the expected output from the current code (``--write``)."""
    from newsflow.enrichment import enrich_many

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help="write the expected output file")
    args = parser.parse_args(argv)
    articles = sample_articles()
    found = summaries(articles, enrich_many(list(articles.values())))
    if args.write:
        with EXPECTED.open("w", encoding="utf-8") as out:
            out.write("{\n")
            for index, (key, value) in enumerate(found.items()):
                comma = "," if index < len(found) - 1 else ""
                out.write(f"{json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}{comma}\n")
            out.write("}\n")
        print(f"wrote {EXPECTED} ({len(found)} articles)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
