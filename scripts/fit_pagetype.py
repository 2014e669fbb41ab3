"""Fit the page-type model (include/newsflow/pagetype_model.json) on the shared eval corpora.

    .venv/bin/python scripts/fit_pagetype.py [EVAL_DIR] [--folds 10] [--cache DIR] [--write]

Reads the pages of ../shared/eval at fit time (never copies them): every wcxb page with its
annotated type, and the articles of aeb and fundus as more articles from other sites. The
trafilatura set (no page types; some of its pages are shops and forums) is only scored.
Per page, the features of ``newsflow.pagefeatures`` (the same code the pipeline runs).

Two models:
- ``article``: gradient-boosted shallow trees (scikit-learn's
  HistGradientBoostingClassifier, fit time only), article vs not; the page is rejected
  when its probability of being an article is below the threshold. The threshold is
  chosen in cross-validation: the highest whose held-out articles-rejected share stays
  within ``--max-rejected`` on wcxb. The trees are exported as plain nodes that
  ``newsflow.pagetype.TreeEnsemble`` evaluates without scikit-learn; the export is checked
  against scikit-learn's own probabilities on every page before it is written.
- ``kind``: one logistic regression per non-article type (numpy, Newton's method; one vs
  the rest, on the non-articles); a rejected page gets the type with the highest score.

The one command that regenerates the model (after a change to a feature or to the
metadata's date and author sources):

    .venv/bin/python scripts/fit_pagetype.py ../shared/eval --cache /tmp/pagetype --write

(``--cache`` keeps the pages' metadata between runs; delete it after a metadata change.)

Figures printed: k-fold cross-validated (fit on k-1 folds, score the held-out fold; each
wcxb page is its own domain, so a fold holds out whole sites) next to in-sample, per corpus,
and the wcxb confusion matrix. ``--write`` writes the model fitted on all pages.
"""

import argparse
import json
import pickle
import re
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import trafilatura
from sklearn.ensemble import HistGradientBoostingClassifier

from newsflow.eval_corpora import load_pages
from newsflow.metadata import extract_metadata
from newsflow.pagefeatures import page_features
from newsflow.pagetype import MODEL_PATH, OTHER_TYPES, TreeEnsemble, override_type

L2 = 3.0  # ridge penalty of the type models' standardised weights (not on the intercept)
SEED = 17
# The article trees: 200 rounds of depth-3 trees (at most 8 leaves each), learning rate
# 0.05, at least 5 pages a leaf. Tried in 5 x 10-fold cross-validation: depth 2 with 400
# rounds, depth 4, 400 rounds at 0.03, a third of the features per split, and sklearn's
# GradientBoostingClassifier with subsampling: within a point of this or below it.
TREES = {"max_iter": 200, "max_depth": 3, "learning_rate": 0.05, "min_samples_leaf": 5,
         "l2_regularization": 1.0, "early_stopping": False, "random_state": 0}


def main() -> int:
    """Fit, cross-validate, report, and (with ``--write``) save the model."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("eval_dir", nargs="?", type=Path, default=Path("../shared/eval"))
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=10, help="cross-validation repeats")
    parser.add_argument("--cache", type=Path,
                        help="keep the parsed metadata here (outside the repo)")
    parser.add_argument("--max-rejected", type=float, default=0.0175,
                        help="articles-rejected share allowed in cross-validation")
    parser.add_argument("--write", action="store_true", help="write pagetype_model.json")
    parser.add_argument("--decisions", type=Path,
                        help="write each page's held-out decisions here (JSON), to count "
                             "pages better and worse against another fit's")
    args = parser.parse_args()
    rows = load_rows(args.eval_dir, args.cache)
    names = sorted(rows[0]["features"])
    x = np.array([[row["features"][name] for name in names] for row in rows])
    truth = np.array([row["truth"] for row in rows])
    corpus = np.array([row["corpus"] for row in rows])
    article = (truth == "article").astype(float)
    overrides = np.array([row["override"] or "" for row in rows])
    # The trafilatura set has no page types (some of its pages are shops and forums):
    # it never enters a fit and is scored as held out by the model of all other pages.
    fitted = corpus != "trafilatura"
    full = fit_trees(x[fitted], article[fitted])
    in_sample = full.predict_proba(x)[:, 1]
    kinds = fit_kinds(x[fitted], truth[fitted])
    # Cross-validation, repeated with other fold draws: every page's held-out score once
    # per repeat, pooled (the figures are the mean over the repeats).
    held_out, kinds_cv = [], []
    for repeat in range(args.repeats):
        folds = np.random.default_rng(SEED + repeat).permutation(len(rows)) % args.folds
        folds[~fitted] = -1
        scores, names_cv = in_sample.copy(), predict_kinds(kinds, x)
        for fold in range(args.folds):
            train, test = fitted & (folds != fold), folds == fold
            scores[test] = fit_trees(x[train], article[train]).predict_proba(x[test])[:, 1]
            names_cv[test] = predict_kinds(fit_kinds(x[train], truth[train]), x[test])
        held_out.append(scores)
        kinds_cv.append(names_cv)
    pooled = np.concatenate(held_out)
    wcxb = np.tile(corpus == "wcxb", args.repeats)
    threshold = choose_threshold(pooled[wcxb], np.tile(article, args.repeats)[wcxb],
                                 np.tile(overrides != "", args.repeats)[wcxb], args.max_rejected)
    print(f"{len(rows)} pages ({int(fitted.sum())} fitted), {len(names)} features, "
          f"{args.repeats} x {args.folds}-fold, threshold {threshold:.4f}")
    tiled = [np.tile(a, args.repeats) for a in (overrides, truth, corpus)]
    decided = decide(pooled, threshold, tiled[0], np.concatenate(kinds_cv))
    report(f"cross-validated ({args.repeats} x {args.folds}-fold, pooled)", decided,
           tiled[1], tiled[2], rows * args.repeats, args.repeats)
    decided = decide(in_sample, threshold, overrides, predict_kinds(kinds, x))
    report("in-sample", decided, truth, corpus, rows)
    per_repeat = [rejected_shares(scores, threshold, overrides, truth, corpus)
                  for scores in held_out]
    spread = np.array(per_repeat)
    print(f"\nper repeat (wcxb, held out): articles rejected {spread[:, 0].mean():.2%} "
          f"(sd {spread[:, 0].std():.2%}), non-articles rejected {spread[:, 1].mean():.2%} "
          f"(sd {spread[:, 1].std():.2%}, {spread[:, 1].min():.2%}-{spread[:, 1].max():.2%})")
    if args.decisions:
        args.decisions.write_text(json.dumps({
            f"{row['corpus']}/{row['id']}": {
                "truth": row["truth"],
                "held_out_rejected": float(np.mean([overrides[i] != "" or scores[i] < threshold
                                                    for scores in held_out])),
            } for i, row in enumerate(rows)}, indent=0), encoding="utf-8")
    if args.write:
        write_model(MODEL_PATH, names, full, kinds, threshold, int(fitted.sum()),
                    f"{args.repeats} x {args.folds}-fold", args.max_rejected, x, in_sample)
        print(f"wrote {MODEL_PATH}")
    return 0


def load_rows(eval_dir: Path, cache: Path | None) -> list[dict]:
    """Per page: corpus, id, truth (article or the wcxb type), features, override type."""
    pages = load_pages(eval_dir, ("aeb", "fundus", "trafilatura", "wcxb"))
    metas: dict[str, object] = {}
    cache_file = cache / "pagetype-meta.pkl" if cache else None
    if cache_file and cache_file.exists():
        metas = pickle.loads(cache_file.read_bytes())
    rows = []
    start = time.process_time()
    for number, page in enumerate(pages):
        key = f"{page.corpus}/{page.page_id}"
        if page.corpus == "trafilatura" and not page.expected.get("with"):
            continue  # no text to find: not counted as an article by that corpus
        tree = trafilatura.load_html(page.path.read_bytes())
        if tree is None:
            continue
        if key not in metas:
            metas[key] = extract_metadata(tree, page.url)
        meta = metas[key]
        rows.append({
            "corpus": page.corpus, "id": page.page_id,
            "truth": page.expected.get("page_type") or "article",
            "features": page_features(tree, meta, page.url),
            "override": override_type(meta),
        })
        if number % 200 == 0:
            print(f"{number}/{len(pages)} pages", file=sys.stderr)
    print(f"features: {time.process_time() - start:.1f} CPU s", file=sys.stderr)
    if cache_file:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        cache_file.write_bytes(pickle.dumps(metas))
    return rows


def fit_trees(x: np.ndarray, y: np.ndarray) -> HistGradientBoostingClassifier:
    """The article model: gradient-boosted shallow trees."""
    return HistGradientBoostingClassifier(**TREES).fit(x, y)


def rejected_shares(scores: np.ndarray, threshold: float, overrides: np.ndarray,
                    truth: np.ndarray, corpus: np.ndarray) -> tuple[float, float]:
    """The wcxb articles' and non-articles' shares rejected (model and overrides)."""
    rejected = (overrides != "") | (scores < threshold)
    wcxb = corpus == "wcxb"
    return (float(rejected[wcxb & (truth == "article")].mean()),
            float(rejected[wcxb & (truth != "article")].mean()))


def fit_logistic(x: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None) -> dict:
    """L2-regularised logistic regression on standardised features (Newton's method)."""
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    z = np.hstack([np.ones((len(x), 1)), (x - mean) / scale])
    w = np.zeros(z.shape[1])
    penalty = np.full(z.shape[1], L2)
    penalty[0] = 0.0
    sample = np.ones(len(x)) if weight is None else weight
    for _ in range(50):
        p = 1 / (1 + np.exp(-z @ w))
        gradient = z.T @ (sample * (p - y)) + penalty * w
        hessian = (z * (sample * p * (1 - p))[:, None]).T @ z + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return {"mean": mean, "scale": scale, "intercept": w[0], "weights": w[1:]}


def predict(model: dict, x: np.ndarray) -> np.ndarray:
    """The probability of the positive class."""
    z = model["intercept"] + ((x - model["mean"]) / model["scale"]) @ model["weights"]
    return 1 / (1 + np.exp(-z))


def fit_kinds(x: np.ndarray, truth: np.ndarray) -> dict[str, dict]:
    """One model per non-article type, fitted on the non-articles."""
    others = truth != "article"
    return {kind: fit_logistic(x[others], (truth[others] == kind).astype(float))
            for kind in OTHER_TYPES if (truth[others] == kind).any()}


def predict_kinds(models: dict[str, dict], x: np.ndarray) -> np.ndarray:
    """The non-article type with the highest score, per page."""
    order = list(models)
    scores = np.column_stack([predict(models[kind], x) for kind in order])
    return np.array([order[i] for i in scores.argmax(axis=1)])


def choose_threshold(scores: np.ndarray, article: np.ndarray, overridden: np.ndarray,
                     max_rejected: float) -> float:
    """The highest threshold whose articles-rejected share (the model's and the
    structured-data overrides' together) stays within ``max_rejected``."""
    best = 0.005
    articles = article == 1
    for threshold in np.arange(0.005, 0.95, 0.0025):
        rejected = overridden[articles] | (scores[articles] < threshold)
        if rejected.mean() <= max_rejected:
            best = float(threshold)
    return round(best, 4)


def decide(scores: np.ndarray, threshold: float, overrides: np.ndarray,
           kinds: np.ndarray) -> np.ndarray:
    """The page type: a structured-data override, else article above the threshold,
    else the most likely non-article type."""
    return np.array([override or ("article" if score >= threshold else kind)
                     for score, override, kind in zip(scores, overrides, kinds, strict=True)])


def report(label: str, decided: np.ndarray, truth: np.ndarray, corpus: np.ndarray,
           rows: list[dict], repeats: int = 1) -> None:
    """Articles and non-articles rejected per corpus, and the wcxb confusion matrix (counts
    are means over the repeats)."""
    print(f"\n== {label}")
    for name in ("aeb", "fundus", "trafilatura", "wcxb"):
        mine = corpus == name
        articles = mine & (truth == "article")
        others = mine & (truth != "article")
        lost = (decided[articles] != "article")
        line = (f"{name:12} articles rejected {lost.sum() / repeats:6.1f}/"
                f"{articles.sum() / repeats:4.0f} = {lost.mean():6.1%}")
        if others.any():
            kept_out = decided[others] != "article"
            line += (f"   non-articles rejected {kept_out.sum() / repeats:6.1f}/"
                     f"{others.sum() / repeats:4.0f} = {kept_out.mean():6.1%}")
        print(line)
    wcxb = corpus == "wcxb"
    print("wcxb confusion (rows: truth, columns: decided)")
    columns = ["article", *OTHER_TYPES]
    print(" " * 14 + "".join(f"{c[:7]:>8}" for c in columns))
    for kind in columns:
        got = Counter(decided[wcxb & (truth == kind)])
        if sum(got.values()):
            print(f"{kind:14}" + "".join(f"{got.get(c, 0) / repeats:8.1f}" for c in columns))
    lost_pages = {rows[i]["corpus"] + "/" + rows[i]["id"] for i in np.flatnonzero(
        (truth == "article") & (decided != "article"))}
    print("articles rejected:", " ".join(sorted(lost_pages)[:80]))


def write_model(path: Path, names: list[str], article: HistGradientBoostingClassifier,
                kinds: dict[str, dict], threshold: float, pages: int, folds: str,
                max_rejected: float, x: np.ndarray, expected: np.ndarray) -> None:
    """The fitted models as JSON, after checking the exported trees score every page as
    scikit-learn does."""
    ensemble = export_trees(article, names)
    mine = np.array([ensemble.probability(dict(zip(names, row, strict=True))) for row in x])
    if np.abs(mine - expected).max() > 1e-9:
        raise SystemExit("the exported trees do not reproduce scikit-learn's probabilities")
    data = {
        "about": [
            "Page-type model: written by scripts/fit_pagetype.py --write; do not edit by hand.",
            f"Fitted on {pages} pages of the shared eval corpora (wcxb: every page with its",
            "annotated type; aeb and fundus: their articles). Features: newsflow/pagefeatures.py.",
            "article: boosted trees, z = baseline + sum(leaf values), p = 1 / (1 + exp(-z));",
            "a node [feature, threshold, left, right] goes left when value <= threshold, a",
            "leaf is [-1, value]. A page is an article when p >= threshold, chosen in",
            f"{folds} cross-validation: the highest whose held-out wcxb articles rejected",
            f"stay within {max_rejected:.2%}. kind: linear one-vs-rest models,",
            "z = intercept + sum(weight * (value - mean) / scale), for a rejected page's type.",
        ],
        "article": {"threshold": threshold, "features": list(ensemble.features),
                    "baseline": ensemble.baseline,
                    "trees": [[list(node) for node in tree] for tree in ensemble.trees]},
        "kind": {kind: _linear_json(names, model) for kind, model in kinds.items()},
    }
    # One tree and one feature's weights a line: a refit's diff stays readable.
    text = FLAT_LIST.sub(_one_line, json.dumps(data, indent=1))
    path.write_text(LIST_OF_FLAT_LISTS.sub(_one_line, text) + "\n", encoding="utf-8")


# A JSON list holding no list or object, and a list of such lists (a tree), as indented.
FLAT_LIST = re.compile(r"\[\s+([^\[\]{}]*?)\s+\]")
LIST_OF_FLAT_LISTS = re.compile(r"\[\s+((?:\[[^\[\]]*\],?\s*)+?)\s+\]")


def _one_line(match: re.Match[str]) -> str:
    """A matched JSON list on one line."""
    return "[" + ",".join(item.strip() for item in match[1].split(",\n")) + "]"


def export_trees(model: HistGradientBoostingClassifier, names: list[str]) -> TreeEnsemble:
    """scikit-learn's fitted trees as ``TreeEnsemble`` nodes (features renumbered to the
    ones the trees use)."""
    used = sorted({int(node["feature_idx"]) for predictors in model._predictors
                   for node in predictors[0].nodes if not node["is_leaf"]})
    index = {feature: position for position, feature in enumerate(used)}
    trees = []
    for predictors in model._predictors:
        nodes = []
        for node in predictors[0].nodes:
            if node["is_leaf"]:
                nodes.append((-1, float(node["value"])))
            else:
                nodes.append((index[int(node["feature_idx"])], float(node["num_threshold"]),
                              int(node["left"]), int(node["right"])))
        trees.append(tuple(nodes))
    return TreeEnsemble(features=tuple(names[i] for i in used),
                        baseline=float(np.ravel(model._baseline_prediction)[0]),
                        trees=tuple(trees))


def _linear_json(names: list[str], model: dict) -> dict:
    """One type model: intercept and ``{feature: [weight, mean, scale]}``, strongest first."""
    order = np.argsort(-np.abs(model["weights"]))
    return {"intercept": round(float(model["intercept"]), 6),
            "features": {names[i]: [round(float(model["weights"][i]), 6),
                                    round(float(model["mean"][i]), 6),
                                    round(float(model["scale"][i]), 6)] for i in order}}


if __name__ == "__main__":
    sys.exit(main())
