"""thinc's LayerNorm and Maxout for prediction, in fewer passes, with bit-identical results.

LayerNorm: spaCy's tok2vec networks (the shared one and the NER's own) normalise every
layer's output (five times per network). thinc's forward computes the row means twice
(``X.mean`` and again inside ``X.var``), subtracts them twice and allocates five arrays as
large as the input; together about 6 % of enrichment's CPU on the aeb bodies.
``predict_forward`` makes the same numpy calls in the same order on the same values (the
mean, the deviations, their squares summed and divided by the width, plus 1e-8, then the
scale and shift), once each and in place, so every float is the same
(``tests/unit/test_predict_layers.py`` checks it bit for bit).

Maxout: thinc multiplies by the weights (nO, nP, nI) flattened, so that an output's ``nP``
pieces are adjacent, then picks the largest piece of each output in C while also recording
which (for training). ``predict_maxout`` multiplies by the same weight rows reordered piece by
piece (each output element is the same dot product of the same rows, so the same float,
which the tests check bit for bit), then takes the largest with ``np.maximum`` over whole
blocks, first piece first as thinc does; about a sixth less CPU per layer, ten layers per
batch.

Training (``is_train``) keeps thinc's own forwards, which also return the backward pass.
"""

from collections.abc import Callable
from typing import Any

import numpy as np
from thinc.api import Model
from thinc.layers import layernorm, maxout

LAYER_NORM = "layernorm"
MAXOUT = "maxout"


def predict_forward(model: Model, X: np.ndarray, is_train: bool) -> tuple[np.ndarray, Callable]:
    """thinc's ``layernorm.forward``: when predicting, the same values in fewer passes."""
    if is_train or not isinstance(X, np.ndarray) or X.ndim != 2 or X.dtype != np.float32:
        return layernorm.forward(model, X, is_train)
    width = X.shape[1]
    mean = X.mean(axis=1, keepdims=True)
    # X.var(axis=1, keepdims=True): the same mean, then the squared deviations summed and
    # divided by the row count (an intp, as numpy's _var divides by).
    deviations = X - mean
    variance = np.add.reduce(np.square(deviations), axis=1, keepdims=True)
    np.true_divide(variance, np.intp(width), out=variance, casting="unsafe")
    variance += 1e-08
    deviations *= variance ** (-1.0 / 2.0)
    deviations *= model.get_param("G")
    deviations += model.get_param("b")
    return deviations, _no_backprop


def _no_backprop(dY: Any) -> Any:
    """Prediction has no backward pass."""
    raise NotImplementedError("newsflow's predict-only LayerNorm cannot backpropagate")


def predict_maxout(model: Model, X: np.ndarray, is_train: bool) -> tuple[np.ndarray, Callable]:
    """thinc's ``maxout.forward``: when predicting, the same values with less work."""
    if is_train or not isinstance(X, np.ndarray) or X.dtype != np.float32:
        return maxout.forward(model, X, is_train)
    weights, bias = model.get_param("W"), model.get_param("b")
    n_out, pieces, _ = weights.shape
    by_piece = _by_piece(model, weights, bias)
    Y = model.ops.gemm(X, by_piece[0], trans2=True)
    Y += by_piece[1]
    best = np.maximum(Y[:, :n_out], Y[:, n_out : 2 * n_out])
    for piece in range(2, pieces):
        np.maximum(best, Y[:, piece * n_out : (piece + 1) * n_out], out=best)
    return best, _no_backprop


def _by_piece(model: Model, weights: np.ndarray, bias: np.ndarray) -> tuple[np.ndarray, ...]:
    """The weights (nP * nO, nI) and bias (nP * nO) of a Maxout, piece by piece; cached
    by the model's id as long as its parameters are the same arrays (not in ``model.attrs``,
    which thinc serialises)."""
    cached = _BY_PIECE.get(model.id)
    if cached is None or cached[0] is not weights or cached[1] is not bias:
        n_out, pieces, n_in = weights.shape
        cached = (weights, bias,
                  np.ascontiguousarray(weights.transpose(1, 0, 2)).reshape(pieces * n_out, n_in),
                  np.ascontiguousarray(bias.T).reshape(pieces * n_out))
        _BY_PIECE[model.id] = cached
    return cached[2:]


_BY_PIECE: dict[int, tuple[np.ndarray, ...]] = {}
_FORWARDS = {LAYER_NORM: (layernorm.forward, predict_forward),
             MAXOUT: (maxout.forward, predict_maxout)}


def use_predict_layers(model: Model) -> int:
    """Make every LayerNorm and Maxout in ``model`` use the forwards above; returns how many."""
    replaced = 0
    for node in model.walk():
        thincs, ours = _FORWARDS.get(node.name, (None, None))
        if thincs is not None and node._func is thincs:
            node._func = ours
            replaced += 1
    return replaced
