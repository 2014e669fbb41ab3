"""The attribute table sets the same POS, TAG and DEP as the model's attribute ruler."""

import spacy
from spacy.pipeline import AttributeRuler

from newsflow import settings
from newsflow.attribute_table import ATTRIBUTE_TABLE, AttributeTable
from newsflow.enrichment import PARAGRAPH_BREAKS, UNUSED_PIPES, load_model
from tests.unit.enrichment_helpers import fixture_body, seed_fields

# Words the ruler's patterns single out ("there is" makes "is" a VERB; spaces; "ai n't").
EDGE_CASES = (
    "There is a man here and there are two. There's more.  It ain't so, y'all gonna see.\n\n"
    "Let's go!   She said: \"Who's there?\"\n \n"
)


def _ruler_pipeline() -> spacy.language.Language:
    nlp = spacy.load(settings.SPACY_MODEL, exclude=list(UNUSED_PIPES))
    nlp.add_pipe(PARAGRAPH_BREAKS, before="parser")
    return nlp


def test_the_table_sets_what_the_ruler_sets_on_every_token() -> None:
    nlp = _ruler_pipeline()
    ruler = nlp.get_pipe("attribute_ruler")
    table = AttributeTable.from_ruler(ruler)
    assert table is not None
    texts = [seed_fields()["body"], fixture_body("wire_original"), fixture_body("other_story"),
             EDGE_CASES]
    compared = 0
    with nlp.select_pipes(disable=["attribute_ruler", "ner"]):
        parsed = list(nlp.pipe(texts))
    for doc in parsed:
        by_ruler, by_table = ruler(doc.copy()), table(doc.copy())
        assert [(t.pos_, t.tag_, t.dep_) for t in by_table] == [
            (t.pos_, t.tag_, t.dep_) for t in by_ruler]
        compared += len(doc)
    assert compared > 1000
    verbs = [t for t in parsed[-1] if t.lower_ == "is"]
    assert table(parsed[-1].copy())[verbs[0].i].pos_ == "VERB"  # the two-token pattern


def test_enrichment_loads_the_table_in_place_of_the_ruler() -> None:
    names = load_model().pipe_names
    assert ATTRIBUTE_TABLE in names and "attribute_ruler" not in names
    assert names.index(ATTRIBUTE_TABLE) > names.index("parser")


def test_a_ruler_with_patterns_the_table_cannot_reproduce_is_kept() -> None:
    nlp = spacy.blank("en")
    ruler: AttributeRuler = nlp.add_pipe("attribute_ruler")
    ruler.add([[{"LOWER": {"REGEX": "^x"}}]], {"POS": "X"})
    assert AttributeTable.from_ruler(ruler) is None
    ruler = nlp.add_pipe("attribute_ruler", name="other")
    ruler.add([[{"ORTH": "x"}]], {"NORM": "y"})
    assert AttributeTable.from_ruler(ruler) is None
