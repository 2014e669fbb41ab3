"""The predict-only LayerNorm and Maxout give thinc's layers' very floats, bit for bit."""

import numpy as np
import pytest
import spacy
from spacy.attrs import DEP, ENT_IOB, ENT_TYPE, HEAD, TAG
from thinc.layers import layernorm, maxout

from newsflow import settings
from newsflow.enrichment import UNUSED_PIPES, load_model, load_pipeline, use_numpy_blas
from newsflow.predict_layers import predict_forward, predict_maxout, use_predict_layers
from newsflow.transition_loop import hold_gil_in
from tests.unit.enrichment_helpers import fixture_body, seed_fields

THINCS = {"layernorm": (layernorm.forward, predict_forward),
          "maxout": (maxout.forward, predict_maxout)}


def _layers(nlp: spacy.language.Language, name: str) -> list:
    return [node for _, pipe in nlp.pipeline if hasattr(getattr(pipe, "model", None), "walk")
            for node in pipe.model.walk() if node.name == name]


def _same_bits(found: np.ndarray, expected: np.ndarray) -> bool:
    return (found.dtype == expected.dtype == np.float32 and found.shape == expected.shape
            and np.array_equal(found.view(np.uint32), expected.view(np.uint32)))


@pytest.mark.parametrize("name", sorted(THINCS))
def test_every_layer_of_the_model_gives_the_same_bits(name: str) -> None:
    thincs, ours = THINCS[name]
    nlp = spacy.load(settings.SPACY_MODEL, exclude=list(UNUSED_PIPES))
    layers = _layers(nlp, name)
    assert len(layers) == 10  # 5 in the shared tok2vec, 5 in the NER's own
    inputs = []
    for layer in layers:
        def record(model, X, is_train, _thincs=thincs):  # noqa: ANN001, ANN202
            inputs.append((model, X.copy()))
            return _thincs(model, X, is_train)
        layer._func = record
    texts = [seed_fields()["body"], fixture_body("wire_original"), "Kerry", "x " * 3]
    list(nlp.pipe(texts, batch_size=2))
    assert len(inputs) == 20
    for model, X in inputs:
        assert _same_bits(ours(model, X, False)[0], thincs(model, X, False)[0])
        assert _same_bits(ours(model, X[:1], False)[0], thincs(model, X[:1], False)[0])
    rows = np.random.default_rng(0).normal(3, 50, (7, inputs[0][1].shape[1]))
    model = inputs[0][0]
    assert _same_bits(ours(model, rows.astype(np.float32), False)[0],
                      thincs(model, rows.astype(np.float32), False)[0])


def test_the_loaded_model_uses_them_and_annotates_as_before() -> None:
    nlp = load_model()
    for name, (_, ours) in THINCS.items():
        assert {layer._func for layer in _layers(nlp, name)} == {ours}
    assert use_predict_layers(nlp.get_pipe("ner").model) == 0  # once only
    plain = load_pipeline(settings.SPACY_MODEL)  # as load_model, but thinc's layers
    use_numpy_blas(plain)
    hold_gil_in(plain)
    attrs = [ENT_IOB, ENT_TYPE, HEAD, DEP, TAG]
    texts = [seed_fields()["body"], fixture_body("other_story")]
    assert [d.to_array(attrs).tolist() for d in nlp.pipe(texts)] == [
        d.to_array(attrs).tolist() for d in plain.pipe(texts)]
    for name, (_, ours) in THINCS.items():
        layer = _layers(nlp, name)[0]
        _, backprop = ours(layer, np.ones((2, layer.get_dim("nI")), dtype=np.float32), False)
        with pytest.raises(NotImplementedError):
            backprop(np.ones((2, layer.get_dim("nO")), dtype=np.float32))
