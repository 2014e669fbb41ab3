"""Page type: is this page an article, or a listing, product, forum, documentation or service page?

A news sitemap or a feed also hands the pipeline section fronts, tag pages, galleries and
shop pages. The type is decided from the page itself:

1. strong structured data first (``override_type``): a page declaring a forum or product
   type (or an ``og:type`` product) and no Article-family type is that type;
2. else an ensemble of shallow decision trees (gradient boosting) weighs about 70 generic
   features of the page (``pagefeatures``: the schema.org families it declares, where its
   date and byline come from, whether it prints a date and a byline under its headline,
   its share of prose, its headings, buttons, prices, images and code blocks, its URL's and
   title's shape). No single one of these tells a docs or service page from an article
   (both carry dates, ``og:type`` article and author meta); together, and in combination
   (a tree asks "no declared date, and no date under the headline, and ..."), they do.
   The page is an article when the ensemble's probability reaches the threshold; else it
   takes the non-article type whose one-vs-rest linear model scores highest.

The trees, the threshold and the type models live in ``pagetype_model.json``, fitted by
``scripts/fit_pagetype.py`` on the shared eval corpora (its cross-validated figures are in
docs/extraction.md); this module only reads and evaluates them (no fitting library at run
time). Pure functions; no per-site rules.
"""

import functools
import json
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lxml import html as lxml_html

from newsflow.pagefeatures import ARTICLE_SCHEMA, PRODUCT_OG, TYPE_SCHEMA, page_features

if TYPE_CHECKING:
    from newsflow.metadata import Metadata

LOGGER = logging.getLogger(__name__)

PAGE_TYPES = ("article", "listing", "collection", "product", "forum", "documentation",
              "service", "other")
OTHER_TYPES = PAGE_TYPES[1:-1]  # the types the model tells apart ("other": no model)
MODEL_PATH = Path(__file__).with_name("pagetype_model.json")
# Structured-data types that decide the page's type on their own (when no Article-family
# type is declared next to them), strongest first.
OVERRIDE_ORDER = ("forum", "product")


@dataclass(frozen=True)
class LinearModel:
    """One logistic model: ``z = intercept + sum(w * (x - mean) / scale)``."""

    intercept: float
    features: tuple[tuple[str, float, float, float], ...]  # (name, weight, mean, scale)

    def probability(self, values: dict[str, float]) -> float:
        """The model's probability for a page's feature values."""
        z = self.intercept + sum(weight * (values.get(name, 0.0) - mean) / scale
                                 for name, weight, mean, scale in self.features)
        return 1 / (1 + math.exp(-max(-50.0, min(50.0, z))))


# One tree as flat nodes: a split ``(feature, threshold, left, right)`` sends a page whose
# value is <= threshold to node ``left``, else to ``right``; a leaf is ``(-1, value)``.
TreeNode = tuple[int, float, int, int] | tuple[int, float]


@dataclass(frozen=True)
class TreeEnsemble:
    """Boosted trees: ``z = baseline + sum(leaf value of each tree)``, ``p = sigmoid(z)``."""

    features: tuple[str, ...]
    baseline: float
    trees: tuple[tuple[TreeNode, ...], ...]

    def probability(self, values: dict[str, float]) -> float:
        """The ensemble's probability for a page's feature values."""
        row = [values.get(name, 0.0) for name in self.features]
        z = self.baseline
        for nodes in self.trees:
            node = nodes[0]
            while node[0] >= 0:
                node = nodes[node[2] if row[node[0]] <= node[1] else node[3]]  # type: ignore[misc]
            z += node[1]
        return 1 / (1 + math.exp(-max(-50.0, min(50.0, z))))


@dataclass(frozen=True)
class PageTypeModel:
    """The article model with its threshold and one model per non-article type."""

    article: LinearModel | TreeEnsemble
    threshold: float
    kinds: dict[str, LinearModel]


def collect_types(nodes: Iterable[dict[str, Any]], tree: lxml_html.HtmlElement) -> set[str]:
    """Lower-case schema.org types of the JSON-LD nodes and the microdata items."""
    types: set[str] = set()
    for node in nodes:
        value = node.get("@type")
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str):
                types.add(item.rsplit("/", 1)[-1].lower())
    for itemtype in tree.xpath("//@itemtype"):
        for item in str(itemtype).split():
            types.add(item.rstrip("/").rsplit("/", 1)[-1].lower())
    return types


def page_type(tree: lxml_html.HtmlElement, meta: "Metadata", url: str | None) -> str:
    """Decide the type of an HTML page.

    Args:
        tree: the parsed page (not modified).
        meta: its metadata (structured types, og:type, date and author evidence).
        url: the page's URL when known.

    Returns:
        One of ``PAGE_TYPES``.
    """
    override = override_type(meta)
    if override:
        return override
    return classify(page_features(tree, meta, url))


def override_type(meta: "Metadata") -> str | None:
    """The type strong structured data decides on its own, else None.

    A forum or product type (``DiscussionForumPosting``, ``QAPage``, ``Product``, an
    ``og:type`` product) with no Article-family type next to it: reviews and news about
    a product declare both and stay for the model to weigh.
    """
    types = meta.schema_types
    if types & ARTICLE_SCHEMA:
        return None
    for kind in OVERRIDE_ORDER:
        if types & TYPE_SCHEMA[kind]:
            return kind
    if meta.og_type.strip().lower().startswith(PRODUCT_OG):
        return "product"
    return None


def classify(features: dict[str, float], model: PageTypeModel | None = None) -> str:
    """The page type the model gives a feature vector (see the module docstring)."""
    model = model or load_model()
    if model.article.probability(features) >= model.threshold:
        return "article"
    if not model.kinds:
        return "other"
    return max(model.kinds, key=lambda kind: model.kinds[kind].probability(features))


def article_probability(features: dict[str, float], model: PageTypeModel | None = None) -> float:
    """The model's probability that a page with these features is an article."""
    return (model or load_model()).article.probability(features)


@functools.cache
def load_model(path: Path = MODEL_PATH) -> PageTypeModel:
    """The fitted model from its JSON file (read once per process)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    article = data["article"]
    return PageTypeModel(
        article=TreeEnsemble(
            features=tuple(article["features"]),
            baseline=float(article["baseline"]),
            trees=tuple(tuple(tuple(node) for node in tree) for tree in article["trees"]),
        ),
        threshold=float(article["threshold"]),
        kinds={kind: _linear(section) for kind, section in data.get("kind", {}).items()},
    )


def _linear(section: dict[str, Any]) -> LinearModel:
    """One type's linear model from the JSON file."""
    return LinearModel(
        intercept=float(section["intercept"]),
        features=tuple((name, float(w), float(mean), float(scale))
                       for name, (w, mean, scale) in section["features"].items()),
    )
