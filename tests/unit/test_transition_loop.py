"""The parser and NER decoded holding the GIL give the very parse and entities of spaCy's loop."""

import spacy
from spacy.attrs import DEP, ENT_IOB, ENT_TYPE, HEAD, SENT_START, TAG

from newsflow import settings
from newsflow.enrichment import UNUSED_PIPES, load_model
from newsflow.transition_loop import HeldLoop, hold_gil_in
from tests.unit.enrichment_helpers import fixture_body, seed_fields

# Entities at a text's very start and end, across lines, and a one-token doc.
EDGES = ("Kerry", "John Kerry met Sergei Lavrov in Geneva\non Friday.\n\nThe U.N. said 1,429 people"
         " died, $3bn was spent and Black Friday came to Walmart in New York City")


ATTRS = [ENT_IOB, ENT_TYPE, HEAD, DEP, TAG, SENT_START]


def test_the_held_loops_annotate_every_token_as_spacys_loops_do() -> None:
    nlp = spacy.load(settings.SPACY_MODEL, exclude=list(UNUSED_PIPES))
    texts = [seed_fields()["body"], fixture_body("wire_original"), fixture_body("other_story"),
             *EDGES]
    expected = [doc.to_array(ATTRS).tolist() for doc in nlp.pipe(texts)]
    assert hold_gil_in(nlp) == ["parser", "ner"]
    assert all(isinstance(nlp.get_pipe(name), HeldLoop) for name in ("parser", "ner"))
    assert hold_gil_in(nlp) == []  # once only
    for batch_size in (1, 3, 64):
        found = [doc.to_array(ATTRS).tolist() for doc in nlp.pipe(texts, batch_size=batch_size)]
        assert found == expected
    assert sum(len(doc.ents) for doc in nlp.pipe(texts)) > 50
    assert [len(doc) for doc in nlp.pipe(["", "", "Kerry"], batch_size=2)] == [0, 0, 1]
    assert [(e.text, e.label_) for e in nlp(EDGES[1]).ents][:2] == [
        ("John Kerry", "PERSON"), ("Sergei Lavrov", "PERSON")]


def test_enrichment_loads_the_held_loops_under_the_pipes_names_and_places() -> None:
    nlp = load_model()
    original = spacy.load(settings.SPACY_MODEL, exclude=list(UNUSED_PIPES)).pipe_names
    assert all(isinstance(nlp.get_pipe(name), HeldLoop) for name in ("parser", "ner"))
    assert nlp.pipe_names.index("parser") < nlp.pipe_names.index("ner")
    assert [name for name in nlp.pipe_names if name in original] == [
        name for name in original if name != "attribute_ruler"]
