"""The predict-only LayerNorm gives thinc's LayerNorm's very floats, bit for bit."""

import numpy as np
import pytest
import spacy
from spacy.attrs import ENT_IOB, ENT_TYPE
from thinc.layers import layernorm

from newsflow import settings
from newsflow.enrichment import UNUSED_PIPES, load_model
from newsflow.layer_norm import predict_forward, use_predict_layer_norm
from tests.unit.enrichment_helpers import fixture_body, seed_fields


def _layer_norms(nlp: spacy.language.Language) -> list:
    return [node for _, pipe in nlp.pipeline if hasattr(getattr(pipe, "model", None), "walk")
            for node in pipe.model.walk() if node.name == "layernorm"]


def test_every_layer_norm_of_the_model_gives_the_same_bits() -> None:
    nlp = spacy.load(settings.SPACY_MODEL, exclude=list(UNUSED_PIPES))
    norms = _layer_norms(nlp)
    assert len(norms) == 10  # 5 in the shared tok2vec, 5 in the NER's own
    inputs = []
    for norm in norms:
        def record(model, X, is_train, _original=layernorm.forward):  # noqa: ANN001, ANN202
            inputs.append((model, X.copy()))
            return _original(model, X, is_train)
        norm._func = record
    texts = [seed_fields()["body"], fixture_body("wire_original"), "Kerry", "x " * 3]
    list(nlp.pipe(texts, batch_size=2))
    assert len(inputs) == 20
    for model, X in inputs:
        expected = layernorm.forward(model, X, False)[0]
        found = predict_forward(model, X, False)[0]
        assert found.dtype == expected.dtype == np.float32
        assert np.array_equal(found.view(np.uint32), expected.view(np.uint32))
    rows = np.random.default_rng(0).normal(3, 50, (7, 96)).astype(np.float32)
    expected = layernorm.forward(inputs[0][0], rows, False)[0]
    assert np.array_equal(predict_forward(inputs[0][0], rows, False)[0].view(np.uint32),
                          expected.view(np.uint32))


def test_the_loaded_model_uses_it_and_annotates_as_before() -> None:
    nlp = load_model()
    assert {norm._func for norm in _layer_norms(nlp)} == {predict_forward}
    assert use_predict_layer_norm(nlp.get_pipe("ner").model) == 0  # once only
    plain = spacy.load(settings.SPACY_MODEL, exclude=list(UNUSED_PIPES))
    text = seed_fields()["body"]
    assert nlp(text).to_array([ENT_IOB, ENT_TYPE]).tolist() == plain(text).to_array(
        [ENT_IOB, ENT_TYPE]).tolist()
    model = _layer_norms(nlp)[0]
    _, backprop = predict_forward(model, np.ones((2, 96), dtype=np.float32), False)
    with pytest.raises(NotImplementedError):
        backprop(np.ones((2, 96), dtype=np.float32))
