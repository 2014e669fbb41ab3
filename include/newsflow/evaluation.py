"""Extraction quality against third-party ground truth: what ``make eval`` prints.

Runs newsflow's own extraction (``fields.extract_article``, the pipeline's clean and
extract stages in one call) and, in the same run, trafilatura alone over the corpora of
the shared eval folder, and scores both the same way:

- ``aeb``: the article-extraction-benchmark's body metric (4-token shingles);
- ``fundus``: exact title, author list and publication date, plus the body metric;
- ``trafilatura``: snippets that must or must not appear in the body.

    python -m newsflow.evaluation [EVAL_DIR] [--jobs N] [--corpus NAME ...] [--diff FILE]
"""

import argparse
import ast
import gzip
import json
import logging
import multiprocessing
import re
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import trafilatura

from newsflow.fields import extract_article
from newsflow.language import detect_language

LOGGER = logging.getLogger(__name__)

CORPORA = ("aeb", "fundus", "trafilatura")
SHINGLE_SIZE = 4
TOKEN = re.compile(r"\w+")


@dataclass(frozen=True)
class Page:
    """One evaluation page: where its HTML is and what the annotators expect."""

    corpus: str
    page_id: str
    path: Path
    url: str | None
    expected: dict[str, Any]


@dataclass
class Outcome:
    """What newsflow and trafilatura alone made of one page."""

    page: Page
    ours: dict[str, Any] = field(default_factory=dict)
    baseline: dict[str, Any] = field(default_factory=dict)
    ours_seconds: float = 0.0  # CPU seconds, so that other load on the machine does not count
    baseline_seconds: float = 0.0
    error: str | None = None


# Scoring


def shingles(text: str, size: int = SHINGLE_SIZE) -> Counter[str]:
    """The multiset of ``size``-token shingles of ``\\w+`` tokens (one shingle if shorter)."""
    tokens = TOKEN.findall(text or "")
    if not tokens:
        return Counter()
    return Counter(
        " ".join(tokens[i : i + size]) for i in range(max(1, len(tokens) - size + 1))
    )


def body_scores(pairs: Iterable[tuple[str, str]]) -> dict[str, float]:
    """Precision, recall, F1 and accuracy over (predicted, true) body pairs.

    Args:
        pairs: the predicted and the true text of each page.

    Returns:
        ``precision``, ``recall``, ``f1`` and ``accuracy`` as the article-extraction-benchmark
        defines them (means over pages, F1 of the two means), and ``pages``.
    """
    precisions: list[float] = []
    recalls: list[float] = []
    identical = pages = 0
    for predicted, true in pairs:
        pages += 1
        identical += TOKEN.findall(predicted or "") == TOKEN.findall(true or "")
        ours, theirs = shingles(predicted), shingles(true)
        tp = sum((ours & theirs).values())
        fp = sum(ours.values()) - tp
        fn = sum(theirs.values()) - tp
        if fp == fn == 0:
            precisions.append(1.0)
            recalls.append(1.0)
            continue
        if tp + fp:
            precisions.append(tp / (tp + fp))
        if tp + fn:
            recalls.append(tp / (tp + fn))
    precision = sum(precisions) / len(precisions) if precisions else 0.0
    recall = sum(recalls) / len(recalls) if recalls else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    accuracy = identical / pages if pages else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "accuracy": accuracy,
            "pages": pages}


def snippet_scores(outcomes: Iterable[tuple[str, list[str], list[str]]]) -> dict[str, float]:
    """Micro precision, recall and F1 of must-have and must-not-have snippets.

    Args:
        outcomes: per page, the extracted text and its ``with`` and ``without`` snippets.

    Returns:
        ``precision``, ``recall``, ``f1`` and the ``tp``/``fp``/``fn``/``tn`` counts.
    """
    tp = fp = fn = tn = 0
    for text, wanted, unwanted in outcomes:
        normalised = " ".join((text or "").split())
        for snippet in wanted:
            found = bool(normalised) and " ".join(snippet.split()) in normalised
            tp += found
            fn += not found
        for snippet in unwanted:
            found = bool(normalised) and " ".join(snippet.split()) in normalised
            fp += found
            tn += not found
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "fp": fp,
            "fn": fn, "tn": tn}


def same_title(predicted: str | None, true: str | None) -> bool:
    """Titles match exactly, up to runs of whitespace."""
    return " ".join((predicted or "").split()) == " ".join((true or "").split())


def same_authors(predicted: Sequence[str] | None, true: Sequence[str] | None) -> bool:
    """Author lists match exactly (order included), up to runs of whitespace."""
    def norm(names: Sequence[str] | None) -> list[str]:
        return [" ".join(name.split()) for name in names or []]

    return norm(predicted) == norm(true)


def same_day(predicted: str | None, true: str | None) -> bool:
    """The publication day matches, read in the time zone each date was given in."""
    if not predicted or not true:
        return not predicted and not true
    return predicted.strip()[:10] == true.strip()[:10]


def same_instant(predicted: str | None, true: str | None) -> bool:
    """Date and time of day match (a date without time never does)."""
    if not predicted or not true or len(predicted.strip()) <= 10:
        return False
    try:
        ours = datetime.fromisoformat(predicted.strip())
        theirs = datetime.fromisoformat(true.strip())
    except ValueError:
        return False
    if (ours.tzinfo is None) != (theirs.tzinfo is None):
        ours, theirs = ours.replace(tzinfo=None), theirs.replace(tzinfo=None)
    return ours.replace(microsecond=0) == theirs.replace(microsecond=0)


# Corpora


def load_pages(eval_dir: Path, corpora: Sequence[str] = CORPORA) -> list[Page]:
    """The pages of the chosen corpora with their ground truth.

    Args:
        eval_dir: the shared eval folder (see its README).
        corpora: which of ``aeb``, ``fundus``, ``trafilatura`` to load.

    Returns:
        The pages, corpus by corpus.
    """
    pages: list[Page] = []
    if "aeb" in corpora:
        truth = json.loads((eval_dir / "aeb" / "ground-truth.json").read_text(encoding="utf-8"))
        for page_id, item in sorted(truth.items()):
            pages.append(Page("aeb", page_id, eval_dir / "aeb" / "html" / f"{page_id}.html.gz",
                              item.get("url"), {"body": item["articleBody"]}))
    if "fundus" in corpora:
        data = json.loads((eval_dir / "fundus" / "expected.json").read_text(encoding="utf-8"))
        for item in data["items"]:
            expected = item["expected"]
            pages.append(Page("fundus", item["html"], eval_dir / "fundus" / item["html"],
                              item.get("url"), {
                                  "title": expected.get("title"),
                                  "authors": _literal(expected.get("authors"), []),
                                  "published": expected.get("publishing_date"),
                                  "body": _fundus_body(_literal(expected.get("body"), {})),
                              }))
    if "trafilatura" in corpora:
        data = json.loads(
            (eval_dir / "trafilatura" / "evaldata.json").read_text(encoding="utf-8")
        )
        for url, item in data.items():
            pages.append(Page("trafilatura", url,
                              eval_dir / "trafilatura" / "html" / f"{item['file']}.gz", url,
                              {"with": item.get("with", []), "without": item.get("without", [])}))
    return pages


def _literal(value: Any, default: Any) -> Any:
    """Fundus stores lists and dicts as their Python repr; read them back."""
    if isinstance(value, str):
        try:
            return ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return value
    return default if value is None else value


def _fundus_body(body: dict[str, Any]) -> str:
    """Summary, section headlines and paragraphs joined with newlines."""
    parts: list[str] = list(body.get("summary") or [])
    for section in body.get("sections") or []:
        parts.extend(section.get("headline") or [])
        parts.extend(section.get("paragraphs") or [])
    return "\n".join(parts)


# Running


def run_page(page: Page) -> Outcome:
    """Extract one page with newsflow and with trafilatura alone."""
    outcome = Outcome(page)
    content = page.path.read_bytes()
    if page.path.suffix == ".gz":
        content = gzip.decompress(content)
    start = time.process_time()
    try:
        fields = extract_article(content, input_=str(page.path), url=page.url, fmt="html")
    except Exception as error:  # a failed page scores as empty output, like the upstream tools
        outcome.error = f"{type(error).__name__}: {error}"
        fields = {}
    outcome.ours_seconds = time.process_time() - start
    outcome.ours = {key: fields.get(key) for key in ("title", "authors", "published_at", "body")}
    start = time.process_time()
    outcome.baseline = _baseline(content, page)
    outcome.baseline_seconds = time.process_time() - start
    return outcome


def _baseline(content: bytes, page: Page) -> dict[str, Any]:
    """trafilatura 2.x alone, as the eval README's reference figures were measured."""
    try:
        if page.corpus != "fundus":
            return {"body": trafilatura.extract(content, url=page.url, include_comments=False)}
        document = trafilatura.bare_extraction(
            content, url=page.url, include_comments=False, with_metadata=True
        )
    except Exception as error:  # noqa: BLE001 - the baseline's crashes score as empty output
        LOGGER.debug("trafilatura failed on %s: %s", page.page_id, error)
        return {}
    if document is None:
        return {}
    authors = [name.strip() for name in (document.author or "").split(";") if name.strip()]
    return {"title": document.title, "authors": authors, "published_at": document.date,
            "body": document.text}


def run_pages(pages: Sequence[Page], jobs: int = 1) -> list[Outcome]:
    """All pages through ``run_page``, in ``jobs`` processes, with progress on a terminal."""
    show = sys.stderr.isatty()
    outcomes: list[Outcome] = []
    warm_up()
    with multiprocessing.Pool(jobs, initializer=warm_up) if jobs > 1 else _NoPool() as pool:
        for done, outcome in enumerate(pool.imap_unordered(run_page, pages, chunksize=4), 1):
            outcomes.append(outcome)
            if show:
                print(f"\r{done}/{len(pages)} pages", end="", file=sys.stderr, flush=True)
    if show:
        print(file=sys.stderr)
    order = {id(page): idx for idx, page in enumerate(pages)}
    return sorted(outcomes, key=lambda o: order.get(id(o.page), 0))


def warm_up() -> None:
    """Load what every page needs once (the language model), outside the timed extraction."""
    detect_language("This sentence only loads the language model before the timed pages.")


class _NoPool:
    """The slice of ``multiprocessing.Pool`` that ``run_pages`` uses, in this process."""

    def __enter__(self) -> "_NoPool":
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def imap_unordered(self, func: Any, items: Iterable[Any], chunksize: int = 1) -> Iterator[Any]:
        """Map lazily, in order."""
        return map(func, items)


def score(outcomes: Sequence[Outcome]) -> dict[str, dict[str, dict[str, float]]]:
    """Per corpus, the scores of ``ours`` and ``trafilatura``.

    Args:
        outcomes: the run's outcomes.

    Returns:
        ``{corpus: {"ours": {...}, "trafilatura": {...}}}``.
    """
    results: dict[str, dict[str, dict[str, float]]] = {}
    for corpus in CORPORA:
        items = [o for o in outcomes if o.page.corpus == corpus]
        if not items:
            continue
        results[corpus] = {}
        for side in ("ours", "trafilatura"):
            def get(o: Outcome, key: str, side: str = side) -> Any:
                return (o.ours if side == "ours" else o.baseline).get(key)

            if corpus == "trafilatura":
                figures = snippet_scores(
                    (get(o, "body") or "", o.page.expected["with"], o.page.expected["without"])
                    for o in items
                )
            else:
                figures = body_scores((get(o, "body") or "", o.page.expected["body"])
                                      for o in items)
            if corpus == "fundus":
                figures["title"] = _share(same_title(get(o, "title"), o.page.expected["title"])
                                          for o in items)
                figures["authors"] = _share(
                    same_authors(get(o, "authors"), o.page.expected["authors"]) for o in items
                )
                figures["date"] = _share(
                    same_day(get(o, "published_at"), o.page.expected["published"])
                    for o in items
                )
                figures["date_time"] = _share(
                    same_instant(get(o, "published_at"), o.page.expected["published"])
                    for o in items
                )
            seconds = sum(o.ours_seconds if side == "ours" else o.baseline_seconds
                          for o in items)
            figures["pages_per_second"] = len(items) / seconds if seconds else 0.0
            if side == "ours":
                figures["errors"] = sum(o.error is not None for o in items)
            results[corpus][side] = figures
    return results


def _share(matches: Iterable[bool]) -> float:
    """The share of true values."""
    values = list(matches)
    return sum(values) / len(values) if values else 0.0


def report(results: dict[str, dict[str, dict[str, float]]]) -> str:
    """The scores as a plain-text table, ours next to trafilatura alone."""
    lines = [f"{'corpus':<12} {'metric':<18} {'newsflow':>9} {'trafilatura':>12}"]
    keys = {
        "aeb": ("precision", "recall", "f1", "accuracy"),
        "fundus": ("title", "authors", "date", "date_time", "precision", "recall", "f1",
                   "accuracy"),
        "trafilatura": ("precision", "recall", "f1"),
    }
    for corpus, sides in results.items():
        label = {"aeb": "body", "fundus": "", "trafilatura": "snippet"}[corpus]
        for key in keys[corpus]:
            name = f"{label} {key}".strip() if key in ("precision", "recall", "f1", "accuracy") \
                else f"{key} exact"
            if corpus == "fundus" and key in ("precision", "recall", "f1", "accuracy"):
                name = f"body {key}"
            lines.append(f"{corpus:<12} {name:<18} {sides['ours'][key]:>9.3f}"
                         f" {sides['trafilatura'][key]:>12.3f}")
        ours, theirs = sides["ours"], sides["trafilatura"]
        lines.append(f"{corpus:<12} {'pages/s (1 core)':<18} {ours['pages_per_second']:>9.1f}"
                     f" {theirs['pages_per_second']:>12.1f}  ({ours['errors']:.0f} pages failed)")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the evaluation from the command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="newsflow eval", description=__doc__.split("\n")[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The evaluation's command-line arguments (shared with ``newsflow eval``)."""
    parser.add_argument("eval_dir", nargs="?", type=Path, default=Path("../shared/eval"),
                        help="the shared eval folder (default: ../shared/eval)")
    parser.add_argument("--corpus", action="append", choices=CORPORA, dest="corpora",
                        help="score only this corpus (repeatable; default: all)")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (default: 1)")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument("--diff", type=Path,
                        help="write per-page outputs as JSON lines here, to compare runs")


def run(args: argparse.Namespace) -> int:
    """Load, extract, score and print; returns the exit status."""
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    if not args.eval_dir.is_dir():
        print(f"newsflow eval: no eval folder at {args.eval_dir}", file=sys.stderr)
        return 2
    pages = load_pages(args.eval_dir, tuple(args.corpora or CORPORA))
    started = time.perf_counter()
    outcomes = run_pages(pages, max(1, args.jobs))
    results = score(outcomes)
    print(report(results))
    print(f"{len(pages)} pages in {time.perf_counter() - started:.0f} s "
          f"(newsflow and trafilatura alone, {max(1, args.jobs)} process(es))")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    if args.diff:
        with args.diff.open("w", encoding="utf-8") as out:
            for o in outcomes:
                out.write(json.dumps({"corpus": o.page.corpus, "id": o.page.page_id,
                                      "ours": o.ours, "error": o.error}, ensure_ascii=False)
                          + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
