"""Near-duplicates: MinHash signatures and clusters on real-looking wire-story variants."""

from datetime import UTC, datetime

import pytest

from newsflow.duplicates import (
    BANDS,
    NUM_PERM,
    Member,
    assign_clusters,
    shingles,
    signature,
    similarity,
)
from tests.unit.enrichment_helpers import fixture_body

# The wire story as first published, republished by another site (boilerplate added),
# trimmed by a third, and a different story from the same port and agency.
STORIES = {
    "original": ("wire_original", datetime(2026, 11, 20, 9, 0, tzinfo=UTC)),
    "republished": ("wire_republished", datetime(2026, 11, 20, 15, 0, tzinfo=UTC)),
    "trimmed": ("wire_trimmed", datetime(2026, 11, 21, 7, 30, tzinfo=UTC)),
    "other": ("other_story", datetime(2026, 11, 21, 8, 0, tzinfo=UTC)),
}
IDS = {"original": 1, "republished": 2, "trimmed": 3, "other": 4}


def _member(name: str, cluster_id: int | None = None) -> Member:
    fixture, published = STORIES[name]
    sig = signature(fixture_body(fixture))
    assert sig is not None
    return Member(IDS[name], published, sig.hashvalues, sig.bands, cluster_id)


def _jaccard(a: str, b: str) -> float:
    left, right = shingles(fixture_body(a)), shingles(fixture_body(b))
    return len(left & right) / len(left | right)


def test_signatures_are_deterministic_and_sized() -> None:
    first = signature(fixture_body("wire_original"))
    again = signature(fixture_body("wire_original"))
    assert first == again
    assert first is not None
    assert len(first.hashvalues) == NUM_PERM and len(first.bands) == BANDS
    assert all(-(2**63) <= key < 2**63 for key in first.bands)


def test_signature_similarity_estimates_shingle_jaccard() -> None:
    for a, b in [("wire_original", "wire_republished"), ("wire_original", "wire_trimmed")]:
        estimate = similarity(
            signature(fixture_body(a)).hashvalues, signature(fixture_body(b)).hashvalues
        )
        assert abs(estimate - _jaccard(a, b)) < 0.1, (a, b)


def test_shingles_are_case_and_punctuation_blind() -> None:
    assert shingles("The port, CLOSED on Friday!") == shingles("the port closed on friday")
    assert shingles("Two words") == {b"two words"}
    assert signature("  ...  ") is None


def test_variants_of_one_story_form_one_cluster_and_another_story_does_not() -> None:
    members = [_member(name) for name in STORIES]
    assignments = assign_clusters(members, [], threshold=0.5)
    assert {name: assignments[IDS[name]].cluster_id for name in STORIES} == {
        "original": 1, "republished": 1, "trimmed": 1, "other": 4}
    assert assignments[1].matched_article_id is None
    assert assignments[2].matched_article_id == 1 and assignments[2].similarity >= 0.8


def test_a_later_run_joins_the_cluster_stored_by_an_earlier_run() -> None:
    stored = [_member("republished", cluster_id=2), _member("other", cluster_id=4)]
    assignments = assign_clusters([_member("trimmed")], stored, threshold=0.5)
    assert assignments[3].cluster_id == 2


def test_the_earliest_published_copy_founds_the_cluster_whatever_the_input_order() -> None:
    members = [_member("trimmed"), _member("republished"), _member("original")]
    assignments = assign_clusters(members, [], threshold=0.5)
    assert {a.cluster_id for a in assignments.values()} == {1}


@pytest.mark.parametrize(("threshold", "trimmed_joins"), [(0.5, True), (0.95, False)])
def test_the_threshold_decides(threshold: float, trimmed_joins: bool) -> None:
    assignments = assign_clusters([_member("original"), _member("trimmed")], [], threshold)
    assert (assignments[3].cluster_id == 1) is trimmed_joins
