"""Enrichment finds the same entities, quotes, numbers, dates and MinHash on the frozen sample.

The sample is the seed and the aeb bodies of ``../shared/eval`` (see enrichment_regression).
A speed-up must leave every result unchanged; a change of results must be intended, reviewed
and frozen again with ``python -m tests.unit.enrichment_regression --write``.
"""

import json

import pytest

from newsflow.enrichment import enrich_many
from tests.unit.enrichment_regression import EXPECTED, GROUND_TRUTH, sample_articles, summaries

pytestmark = pytest.mark.skipif(
    not GROUND_TRUTH.exists(),
    reason=f"the aeb ground truth is not at {GROUND_TRUTH} (../shared/eval next to the project)",
)


def test_enrichment_of_the_regression_sample_is_unchanged() -> None:
    expected = json.loads(EXPECTED.read_text(encoding="utf-8"))
    articles = sample_articles()
    assert list(articles) == list(expected), "the sample's articles changed"
    found = summaries(articles, enrich_many(list(articles.values())))
    changed = [key for key in expected if found[key] != expected[key]]
    for key in changed[:3]:
        for part in expected[key]:
            assert found[key][part] == expected[key][part], f"{key}: {part} changed"
    assert not changed
