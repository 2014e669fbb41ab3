"""The NER decoded holding the GIL finds the very entities spaCy's own loop finds."""

import spacy
from spacy.attrs import ENT_IOB, ENT_TYPE

from newsflow import settings
from newsflow.enrichment import UNUSED_PIPES, load_model
from newsflow.transition_loop import HeldLoop, hold_gil_in_ner
from tests.unit.enrichment_helpers import fixture_body, seed_fields

# Entities at a text's very start and end, across lines, and a one-token doc.
EDGES = ("Kerry", "John Kerry met Sergei Lavrov in Geneva\non Friday.\n\nThe U.N. said 1,429 people"
         " died, $3bn was spent and Black Friday came to Walmart in New York City")


def test_the_held_loop_tags_every_token_as_spacys_loop_does() -> None:
    nlp = spacy.load(settings.SPACY_MODEL, exclude=list(UNUSED_PIPES))
    texts = [seed_fields()["body"], fixture_body("wire_original"), fixture_body("other_story"),
             *EDGES]
    expected = [doc.to_array([ENT_IOB, ENT_TYPE]).tolist() for doc in nlp.pipe(texts)]
    assert hold_gil_in_ner(nlp)
    assert isinstance(nlp.get_pipe("ner"), HeldLoop)
    for batch_size in (1, 3, 64):
        found = [doc.to_array([ENT_IOB, ENT_TYPE]).tolist()
                 for doc in nlp.pipe(texts, batch_size=batch_size)]
        assert found == expected
    assert sum(len(doc.ents) for doc in nlp.pipe(texts)) > 50
    assert [(e.text, e.label_) for e in nlp(EDGES[1]).ents][:2] == [
        ("John Kerry", "PERSON"), ("Sergei Lavrov", "PERSON")]


def test_enrichment_loads_the_held_loop_under_the_ner_s_name_and_place() -> None:
    nlp = load_model()
    assert isinstance(nlp.get_pipe("ner"), HeldLoop)
    assert nlp.pipe_names[-1] == "ner"
