"""Extraction quality against third-party ground truth: what ``make eval`` prints.

Runs newsflow's own extraction (``fields.extract_article``, the pipeline's clean and
extract stages in one call) and, in the same run, trafilatura alone over the corpora of
the shared eval folder, and scores both the same way:

- ``aeb``: the article-extraction-benchmark's body metric (4-token shingles);
- ``fundus``: exact title, author list and publication date, plus the body metric;
- ``trafilatura``: snippets that must or must not appear in the body;
- ``wcxb``: on its articles, the body metric and the benchmark's word F1, title, authors
  and date; on every page, the page type newsflow decided and whether the pipeline would
  load it as an article (the confusion matrix of page types).

The corpora and their ground truth are read by ``eval_corpora``; the measures are in
``eval_metrics``.

    python -m newsflow.evaluation [EVAL_DIR] [--jobs N] [--corpus NAME ...] [--diff FILE]
        [--compare OLD_DIFF] [--previous OLD_JSON] [--ours-only] [--metadata-only]
"""

import argparse
import functools
import gzip
import json
import logging
import multiprocessing
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trafilatura

from newsflow import settings
from newsflow.eval_corpora import CORPORA, PAGE_TYPES, Page, load_pages
from newsflow.eval_metrics import (
    author_tokens,
    body_scores,
    same_authors,
    same_day,
    same_instant,
    same_title,
    snippet_scores,
    title_key,
    word_f1,
)
from newsflow.fields import extract_article, reject_reason
from newsflow.language import detect_language
from newsflow.metadata import extract_metadata
from newsflow.pagetype import page_type
from newsflow.publication_dates import normalise_date

LOGGER = logging.getLogger(__name__)


@dataclass
class Outcome:
    """What newsflow and trafilatura alone made of one page."""

    page: Page
    ours: dict[str, Any] = field(default_factory=dict)
    baseline: dict[str, Any] = field(default_factory=dict)
    ours_seconds: float = 0.0  # CPU seconds, so that other load on the machine does not count
    baseline_seconds: float = 0.0
    error: str | None = None
    rejected: str | None = None  # why the pipeline would not load newsflow's output

    def side(self, name: str) -> dict[str, Any]:
        """The fields of ``ours`` or ``trafilatura``."""
        return self.ours if name == "ours" else self.baseline

    def loaded(self, name: str) -> bool:
        """Whether that side's output would be loaded as an article.

        newsflow: no reject in clean or extract; trafilatura alone has no page types, so
        any body of ``settings.MIN_BODY_CHARS`` or more counts as loaded.
        """
        if name == "ours":
            return self.rejected is None
        return len(self.baseline.get("body") or "") >= settings.MIN_BODY_CHARS


# Running


def run_page(page: Page, baseline: bool = True, metadata_only: bool = False) -> Outcome:
    """Extract one page with newsflow and (unless ``baseline`` is false) trafilatura alone.

    With ``metadata_only``, only newsflow's metadata and page type are decided (no body:
    trafilatura's passes are skipped), and the page counts as loaded when its type is
    article; a quick way to judge metadata and page-type rules.
    """
    outcome = Outcome(page)
    content = page.path.read_bytes()
    if page.path.suffix == ".gz":
        content = gzip.decompress(content)
    if metadata_only:
        return _metadata_outcome(outcome, content)
    start = time.process_time()
    try:
        fields = extract_article(content, input_=str(page.path), url=page.url, fmt="html")
    except Exception as error:  # a failed page scores as empty output, like the upstream tools
        outcome.error = f"{type(error).__name__}: {error}"
        fields = {}
    outcome.ours_seconds = time.process_time() - start
    outcome.ours = {key: fields.get(key) for key in OUTPUT_KEYS}
    if fields.get("standfirst") and fields.get("body"):
        # The corpora's bodies include the standfirst (Fundus: summary + sections); ours
        # keeps it in the subtitle, out of the body: score the article's text, both.
        outcome.ours["body"] = f"{fields['standfirst']}\n{fields['body']}"
    if outcome.error:
        outcome.rejected = outcome.error
    elif len(fields.get("body") or "") < settings.MIN_BODY_CHARS:
        outcome.rejected = "body too short for an article"
    else:
        outcome.rejected = reject_reason(fields)
    if baseline:
        start = time.process_time()
        outcome.baseline = _baseline(content, page)
        outcome.baseline_seconds = time.process_time() - start
    return outcome


def _metadata_outcome(outcome: Outcome, content: bytes) -> Outcome:
    """``run_page`` without the body: metadata and page type of the parsed page."""
    page = outcome.page
    start = time.process_time()
    try:
        tree = trafilatura.load_html(content)
        if tree is None:
            raise ValueError("unparseable HTML")
        meta = extract_metadata(tree, page.url)
        fields = {"title": meta.title, "authors": meta.authors,
                  "author_kinds": meta.author_kinds,
                  "published_at": normalise_date(meta.published),
                  "page_type": page_type(tree, meta, page.url)}
    except Exception as error:  # a failed page scores as empty output
        outcome.error = f"{type(error).__name__}: {error}"
        fields = {}
    outcome.ours_seconds = time.process_time() - start
    outcome.ours = {key: fields.get(key) for key in OUTPUT_KEYS}
    outcome.rejected = outcome.error or reject_reason(fields)
    return outcome


OUTPUT_KEYS = ("title", "authors", "author_kinds", "published_at", "page_type", "body")


def _baseline(content: bytes, page: Page) -> dict[str, Any]:
    """trafilatura 2.x alone, as the eval README's reference figures were measured."""
    try:
        if page.corpus not in ("fundus", "wcxb"):
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


def run_pages(pages: Sequence[Page], jobs: int = 1, baseline: bool = True,
              metadata_only: bool = False) -> list[Outcome]:
    """All pages through ``run_page``, in ``jobs`` processes, with progress on a terminal."""
    show = sys.stderr.isatty()
    outcomes: list[Outcome] = []
    warm_up()
    with multiprocessing.Pool(jobs, initializer=warm_up) if jobs > 1 else _NoPool() as pool:
        work = functools.partial(run_page, baseline=baseline, metadata_only=metadata_only)
        for done, outcome in enumerate(pool.imap_unordered(work, pages, chunksize=4), 1):
            outcomes.append(outcome)
            if show or done % 100 == 0:
                print(f"\r{done}/{len(pages)} pages", end="" if show else "\n",
                      file=sys.stderr, flush=True)
    if show:
        print(file=sys.stderr)
    order = {id(page): idx for idx, page in enumerate(pages)}
    return sorted(outcomes, key=lambda o: order.get(id(o.page), 0))


def warm_up() -> None:
    """Load what pages need once, outside the timed extraction: the language model,
    justext's stoplists (built on trafilatura's first fallback) and dateparser's locales
    (loaded by htmldate on the first date its own rules cannot read); seconds of CPU each,
    which a long-running worker pays once and the first page of a timed run would carry.
    dateparser loads a locale's data the first time it tries it, and it tries them in turn
    until one reads the date: a string none of them reads loads all of them (about a
    second of CPU, which the aeb set, scored first, carried when one date was read here)."""
    detect_language("This sentence only loads the language model before the timed pages.")
    from htmldate import extractors
    from justext.core import define_stoplist
    from trafilatura import external

    if external.JT_STOPLIST is None:
        external.jt_stoplist_init()
    extractors.month_words()
    extractors.get_external_parser().get_date_data("1 March 2020")
    extractors.get_external_parser().get_date_data("qzxv 2020")  # read by no locale
    define_stoplist(external.JT_STOPLIST)  # the lower-cased set justext's classifier caches


class _NoPool:
    """The slice of ``multiprocessing.Pool`` that ``run_pages`` uses, in this process."""

    def __enter__(self) -> "_NoPool":
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def imap_unordered(self, func: Any, items: Iterable[Any], chunksize: int = 1) -> Iterator[Any]:
        """Map lazily, in order."""
        return map(func, items)


Results = dict[str, dict[str, dict[str, Any]]]


def score(outcomes: Sequence[Outcome]) -> Results:
    """Per corpus, the scores of ``ours`` and ``trafilatura``.

    Args:
        outcomes: the run's outcomes.

    Returns:
        ``{corpus: {"ours": {...}, "trafilatura": {...}}}``.
    """
    results: Results = {}
    for corpus in CORPORA:
        items = [o for o in outcomes if o.page.corpus == corpus]
        if not items:
            continue
        results[corpus] = {}
        for side in ("ours", "trafilatura"):
            if corpus == "wcxb":
                figures = _wcxb_scores(items, side)
            elif corpus == "trafilatura":
                figures = snippet_scores(
                    (o.side(side).get("body") or "", o.page.expected["with"],
                     o.page.expected["without"])
                    for o in items
                )
            else:
                figures = body_scores((o.side(side).get("body") or "", o.page.expected["body"])
                                      for o in items)
            if corpus == "fundus":
                for key in ("title", "authors", "date", "date_time"):
                    figures[key] = _share(page_scores(o, side)[key] for o in items)
            seconds = sum(o.ours_seconds if side == "ours" else o.baseline_seconds
                          for o in items)
            figures["pages_per_second"] = len(items) / seconds if seconds else 0.0
            figures["rejected"] = sum(not o.loaded(side) for o in items)
            if side == "ours":
                figures["errors"] = sum(o.error is not None for o in items)
            results[corpus][side] = figures
    return results


def _wcxb_scores(items: Sequence[Outcome], side: str) -> dict[str, Any]:
    """Body, word F1, title, author and date on the articles; loads per page type."""
    articles = [o for o in items if o.page.expected["page_type"] == "article"]
    figures: dict[str, Any] = body_scores(
        (o.side(side).get("body") or "", o.page.expected["body"]) for o in articles
    )
    per_page = [page_scores(o, side) for o in articles]
    figures["word_f1"] = _mean(p["word_f1"] for p in per_page)
    for key in ("title", "authors", "date"):
        figures[key] = _share(p[key] for p in per_page if p[key] is not None)
    others = [o for o in items if o.page.expected["page_type"] != "article"]
    figures["articles_rejected"] = _share(not o.loaded(side) for o in articles)
    figures["others_rejected"] = _share(not o.loaded(side) for o in others)
    confusion: dict[str, Counter[str]] = {}
    for o in items:
        predicted = o.side(side).get("page_type") or "-"
        if not o.loaded(side) and predicted == "article":
            predicted = "short"  # an article by type whose body was too short to load
        confusion.setdefault(o.page.expected["page_type"], Counter())[predicted] += 1
    figures["confusion"] = {truth: dict(row) for truth, row in sorted(confusion.items())}
    return figures


def page_scores(outcome: Outcome, side: str) -> dict[str, Any]:
    """One page's scores (None where the ground truth has nothing to compare with).

    These are what ``--diff`` records and ``--compare`` counts, page by page.
    """
    page, got = outcome.page, outcome.side(side)
    expected = page.expected
    corpus = page.corpus
    if corpus == "trafilatura":
        text = " ".join((got.get("body") or "").split())
        found = sum(bool(text) and " ".join(s.split()) in text for s in expected["with"])
        leaked = sum(bool(text) and " ".join(s.split()) in text for s in expected["without"])
        return {"found": found, "leaked": -leaked}
    scores: dict[str, Any] = {}
    if corpus == "wcxb":
        scores["loaded"] = outcome.loaded(side) == (expected["page_type"] == "article")
        if expected["page_type"] != "article":
            return scores
        scores["word_f1"] = round(word_f1(got.get("body"), expected["body"]), 4)
        scores["title"] = title_key(got.get("title")) == title_key(expected["title"])
        scores["authors"] = (author_tokens(got.get("authors")) == author_tokens(expected["author"])
                             if expected["author"] else None)
        scores["date"] = (same_day(got.get("published_at"), expected["published"])
                          if expected["published"] else None)
    if corpus == "fundus":
        scores["title"] = same_title(got.get("title"), expected["title"])
        scores["authors"] = same_authors(got.get("authors"), expected["authors"])
        scores["date"] = same_day(got.get("published_at"), expected["published"])
        scores["date_time"] = same_instant(got.get("published_at"), expected["published"])
    body = body_scores([(got.get("body") or "", expected["body"])])
    scores["body_f1"] = round(body["f1"], 4)
    return scores


def _share(matches: Iterable[bool]) -> float:
    """The share of true values."""
    values = list(matches)
    return sum(values) / len(values) if values else 0.0


def _mean(values: Iterable[float]) -> float:
    """The mean, 0 for no values."""
    items = list(values)
    return sum(items) / len(items) if items else 0.0


REPORT_KEYS = {
    "aeb": (("body precision", "precision"), ("body recall", "recall"), ("body f1", "f1"),
            ("body accuracy", "accuracy")),
    "fundus": (("title exact", "title"), ("authors exact", "authors"), ("date exact", "date"),
               ("date_time exact", "date_time"), ("body precision", "precision"),
               ("body recall", "recall"), ("body f1", "f1"), ("body accuracy", "accuracy")),
    "trafilatura": (("snippet precision", "precision"), ("snippet recall", "recall"),
                    ("snippet f1", "f1")),
    "wcxb": (("body f1 (shingles)", "f1"), ("body word f1", "word_f1"), ("title", "title"),
             ("authors", "authors"), ("date", "date"),
             ("articles rejected", "articles_rejected"),
             ("others rejected", "others_rejected")),
}


def report(results: Results, previous: Results | None = None) -> str:
    """The scores as a plain-text table, ours next to trafilatura alone (and an earlier run)."""
    header = f"{'corpus':<12} {'metric':<20} {'newsflow':>9} {'trafilatura':>12}"
    lines = [header + (f" {'previous':>9}" if previous else "")]
    for corpus, sides in results.items():
        before = (previous or {}).get(corpus, {}).get("ours", {})
        for name, key in REPORT_KEYS[corpus]:
            line = (f"{corpus:<12} {name:<20} {sides['ours'][key]:>9.3f}"
                    f" {sides['trafilatura'][key]:>12.3f}")
            if previous:
                line += f" {before[key]:>9.3f}" if key in before else f" {'-':>9}"
            lines.append(line)
        ours, theirs = sides["ours"], sides["trafilatura"]
        lines.append(f"{corpus:<12} {'pages/s (1 core)':<20} {ours['pages_per_second']:>9.1f}"
                     f" {theirs['pages_per_second']:>12.1f}  ({ours['errors']:.0f} pages failed,"
                     f" {ours['rejected']:.0f} not loaded)")
    if "wcxb" in results:
        lines.append("")
        lines.append(confusion_table(results["wcxb"]["ours"]["confusion"]))
    return "\n".join(lines)


def confusion_table(confusion: dict[str, dict[str, int]]) -> str:
    """wcxb page types (rows, the ground truth) against newsflow's (columns)."""
    columns = [t for t in (*PAGE_TYPES, "short", "-")
               if any(t in row for row in confusion.values())]
    lines = ["wcxb page types: truth (rows) x newsflow (columns); short = article-typed"
             " page with a body too short to load, - = failed",
             f"{'':<14}" + "".join(f"{c[:10]:>11}" for c in columns) + f"{'loaded':>9}"]
    for truth, row in confusion.items():
        total = sum(row.values())
        loaded = row.get("article", 0)
        lines.append(f"{truth:<14}" + "".join(f"{row.get(c, 0):>11}" for c in columns)
                     + f"{loaded / total:>9.1%}")
    return "\n".join(lines)


def compare(old_diff: Path, outcomes: Sequence[Outcome]) -> str:
    """Pages better and worse than in an earlier ``--diff`` file, per corpus and score.

    A rule is a hypothesis: this is how its effect is counted on every corpus at once.
    """
    before: dict[tuple[str, str], dict[str, Any]] = {}
    for line in old_diff.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        before[record["corpus"], record["id"]] = record.get("scores") or {}
    counts: dict[tuple[str, str], list[int]] = {}
    examples: dict[tuple[str, str], list[str]] = {}
    for o in outcomes:
        old = before.get((o.page.corpus, o.page.page_id))
        if old is None:
            continue
        for key, value in page_scores(o, "ours").items():
            if value is None or old.get(key) is None or value == old[key]:
                continue
            cell = counts.setdefault((o.page.corpus, key), [0, 0])
            better = value > old[key]
            cell[0 if better else 1] += 1
            examples.setdefault((o.page.corpus, key), []).append(
                ("+" if better else "-") + o.page.page_id)
    lines = [f"{'corpus':<12} {'score':<10} {'better':>7} {'worse':>7}  pages"]
    for (corpus, key), (better, worse) in sorted(counts.items()):
        shown = " ".join(examples[corpus, key][:12])
        lines.append(f"{corpus:<12} {key:<10} {better:>7} {worse:>7}  {shown}")
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
                        help="write per-page outputs and scores as JSON lines here")
    parser.add_argument("--compare", type=Path, metavar="OLD_DIFF",
                        help="count pages better and worse than in an earlier --diff file")
    parser.add_argument("--ours-only", action="store_true",
                        help="skip trafilatura alone (faster; its column reads 0)")
    parser.add_argument("--metadata-only", action="store_true",
                        help="newsflow's metadata and page type only, no body (implies"
                             " --ours-only; body scores read 0)")
    parser.add_argument("--previous", type=Path, metavar="OLD_JSON",
                        help="add a column with an earlier run's --json figures")


def run(args: argparse.Namespace) -> int:
    """Load, extract, score and print; returns the exit status."""
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    if not args.eval_dir.is_dir():
        print(f"newsflow eval: no eval folder at {args.eval_dir}", file=sys.stderr)
        return 2
    pages = load_pages(args.eval_dir, tuple(args.corpora or CORPORA))
    started = time.perf_counter()
    outcomes = run_pages(pages, max(1, args.jobs),
                         baseline=not (args.ours_only or args.metadata_only),
                         metadata_only=args.metadata_only)
    results = score(outcomes)
    previous = json.loads(args.previous.read_text(encoding="utf-8")) if args.previous else None
    print(report(results, previous))
    print(f"{len(pages)} pages in {time.perf_counter() - started:.0f} s "
          f"(newsflow and trafilatura alone, {max(1, args.jobs)} process(es))")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    if args.diff:
        with args.diff.open("w", encoding="utf-8") as out:
            for o in outcomes:
                out.write(json.dumps({"corpus": o.page.corpus, "id": o.page.page_id,
                                      "ours": o.ours, "error": o.error,
                                      "rejected": o.rejected,
                                      "scores": page_scores(o, "ours")}, ensure_ascii=False)
                          + "\n")
    if args.compare:
        print()
        print(compare(args.compare, outcomes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
