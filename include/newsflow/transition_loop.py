"""spaCy's entity recogniser, its decoding loop run holding the GIL: same output, less CPU.

spaCy's transition-based components (``ner``, ``parser``) decode greedily in a C loop that
first releases the GIL. In the spaCy wheel we use, the checks of which moves are valid
(called for every move at every step, about 74 moves per token for the NER) take the GIL
back and release it again each time (``PyGILState_Ensure`` from ``StateC.B``, as ``perf``
shows), and this round trip cost the NER more CPU than its network. spaCy's own step-by-step
interface, ``transition_states`` with the step model's scores, runs the same validity checks
and moves while the GIL is held, where the round trip is a counter increment.

``HeldLoop`` decodes that way: the same step model (same weights, same feature extraction), the
same moves, argmax over the valid ones, so the entities are the same; on the aeb bodies every
token's entity tag and type was identical, and the CPU of the NER fell by about a third. The
parser is left as it is: it takes about twice as many steps per token over fewer moves, so the
Python-level step costs it more than the round trips it saves.
"""

import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import minibatch

LOGGER = logging.getLogger(__name__)

HELD_LOOP_NER = "newsflow_ner_held_loop"


class HeldLoop:
    """A pipeline component: a greedy transition-based pipe, decoded holding the GIL."""

    def __init__(self, component: object) -> None:
        self.component = component
        self.model = component.model  # for use_numpy_blas and for inspection

    def __call__(self, doc: Doc) -> Doc:
        self._annotate([doc])
        return doc

    def pipe(self, docs: Iterable[Doc], batch_size: int = 128) -> Iterator[Doc]:
        """Annotate docs in batches of ``batch_size``, in order."""
        for batch in minibatch(docs, batch_size):
            self._annotate(batch)
            yield from batch

    def _annotate(self, docs: list[Doc]) -> None:
        """Decode a batch greedily, step by step, and set the annotations on the docs."""
        component = self.component
        component._ensure_labels_are_added(docs)
        batch = component.moves.init_batch(docs)
        step_model = component.model.predict(docs)
        scores = _scorer(step_model)
        states = [state for state in batch if not state.is_final()]
        while states:
            states = component.transition_states(states, scores(states))
        step_model.clear_memory()
        component.set_annotations(docs, batch)


def _scorer(step_model: Any) -> Callable[[list[Any]], np.ndarray]:
    """The scores of the moves for states: ``step_model.predict``, without thinc's wrappers.

    The same operations in the same order as spaCy's ``step_forward`` (token ids, the
    precomputed hidden layer, the output layer's ``gemm`` plus bias), so the same numbers;
    classes never seen in training get the lowest score as there, when there are any.
    """
    output = step_model.vec2scores
    if not step_model.attrs.get("has_upper") or output is None or output.name != "linear":
        return step_model.predict
    weights, bias = output.get_param("W"), output.get_param("b")
    gemm = output.ops.gemm
    unseen = step_model._class_mask == 0
    hidden = step_model.state2vec.predict
    token_ids = step_model.get_token_ids

    def scores(states: list[Any]) -> np.ndarray:
        found = gemm(hidden(token_ids(states)), weights, trans2=True)
        found += bias
        if unseen.any():
            found[:, unseen] = np.nanmin(found)
        return found

    return scores


@Language.factory(HELD_LOOP_NER)
def make_held_loop_ner(nlp: Language, name: str) -> HeldLoop:
    """The pipeline's ``ner``, decoded holding the GIL (see ``HeldLoop``)."""
    return HeldLoop(nlp.get_pipe("ner"))


def hold_gil_in_ner(nlp: Language) -> bool:
    """Put a ``HeldLoop`` of the pipeline's greedy ``ner`` in its place, under its name."""
    if "ner" not in nlp.pipe_names:
        return False
    ner = nlp.get_pipe("ner")
    needed = ("moves", "transition_states", "set_annotations", "_ensure_labels_are_added")
    if getattr(ner, "cfg", {}).get("beam_width", 1) != 1 or not all(
        hasattr(ner, attribute) for attribute in needed
    ):
        LOGGER.info("keeping spaCy's own decoding loop for the ner")
        return False
    nlp.add_pipe(HELD_LOOP_NER, before="ner")
    nlp.remove_pipe("ner")
    nlp.rename_pipe(HELD_LOOP_NER, "ner")
    return True
