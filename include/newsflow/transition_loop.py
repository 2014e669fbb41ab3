"""spaCy's parser and entity recogniser, decoding while holding the GIL: same output, less CPU.

spaCy's transition-based components (``ner``, ``parser``) decode greedily in a C loop that
first releases the GIL. In the spaCy wheel we use, the checks of which moves are valid
(called for every move at every step, about 74 moves per token for the NER) take the GIL
back and release it again each time (``PyGILState_Ensure`` from ``StateC.B``, as ``perf``
shows), and this round trip cost the NER more CPU than its network. spaCy's own step-by-step
interface, ``transition_states`` with the step model's scores, runs the same validity checks
and moves while the GIL is held, where the round trip is a counter increment.

``HeldLoop`` decodes that way: the same step model (same weights, same feature extraction), the
same moves, argmax over the valid ones, so the same entities and parse; on the aeb bodies
every token's entity tag and type, head, label and tag was identical. The step's scores are
computed from the step model's parts without thinc's per-step wrappers (``_scorer``): with
them, the parser (twice as many steps per token as the NER, over fewer moves) cost more in
Python than it saved in round trips; without them the NER's CPU fell by about 40 % and the
parser's by about a quarter (aeb bodies, batches of 8).
"""

import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import minibatch

LOGGER = logging.getLogger(__name__)

HELD_LOOP = "newsflow_held_loop"
TRANSITION_PIPES = ("parser", "ner")


class HeldLoop:
    """A pipeline component: a greedy transition-based pipe, decoded holding the GIL."""

    def __init__(self, component: object) -> None:
        self.component = component
        self.name = component.name  # spaCy links the tok2vec's listeners by component name
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
        if not any(len(doc) for doc in docs):  # as spaCy: no network over empty docs
            component.set_annotations(docs, batch)
            return
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


@Language.factory(HELD_LOOP, default_config={"wrapped": "ner"})
def make_held_loop(nlp: Language, name: str, wrapped: str) -> HeldLoop:
    """The pipeline's component ``wrapped``, decoded holding the GIL (see ``HeldLoop``)."""
    return HeldLoop(nlp.get_pipe(wrapped))


def hold_gil_in(nlp: Language, names: Iterable[str] = TRANSITION_PIPES) -> list[str]:
    """Put a ``HeldLoop`` of each greedy transition-based pipe in its place, under its name.

    Returns:
        The names of the pipes replaced (a pipe decoded with a beam, or without spaCy's
        step interface, is left as it is).
    """
    replaced = []
    for name in names:
        if name not in nlp.pipe_names or isinstance(nlp.get_pipe(name), HeldLoop):
            continue
        component = nlp.get_pipe(name)
        needed = ("moves", "transition_states", "set_annotations", "_ensure_labels_are_added")
        if getattr(component, "cfg", {}).get("beam_width", 1) != 1 or not all(
            hasattr(component, attribute) for attribute in needed
        ):
            LOGGER.info("keeping spaCy's own decoding loop for %s", name)
            continue
        held = f"{name}_{HELD_LOOP}"
        nlp.add_pipe(HELD_LOOP, name=held, before=name, config={"wrapped": name})
        nlp.remove_pipe(name)
        nlp.rename_pipe(held, name)
        replaced.append(name)
    return replaced
