"""Enrichment: who an article mentions, who said what, which numbers and dates, its MinHash.

The entry point of the enrich stage and of ``newsflow extract``: give it the extracted fields
of articles, get back their ``entities``, ``quotes``, ``numbers``, ``dates`` and ``minhash``.
Only the body and the media captions are analysed: the cleaning stage already cut menus and
related-story lists, so nothing in them becomes an entity. Offsets are character offsets
into ``analysed_text`` (the body, then the captions). The spaCy model is loaded once per
process.
"""

import functools
import logging
import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import spacy
from spacy.attrs import IS_SPACE
from spacy.language import Language
from spacy.tokens import Doc
from thinc.api import NumpyOps

from newsflow import settings
from newsflow.attribute_table import replace_attribute_ruler
from newsflow.duplicates import signature
from newsflow.entities import find_entities
from newsflow.mentioned_dates import find_dates, publication_day
from newsflow.numbers import find_numbers
from newsflow.predict_layers import use_predict_layers
from newsflow.quotes import find_quotes
from newsflow.transition_loop import hold_gil_in

LOGGER = logging.getLogger(__name__)

ENRICHMENT_KEYS = ("entities", "quotes", "numbers", "dates", "minhash")
# Pipes the rules do not use; excluding them saves load time and memory.
UNUSED_PIPES = ("lemmatizer", "textcat", "textcat_multilabel", "entity_linker")
PARAGRAPH_BREAKS = "newsflow_paragraph_breaks"


@Language.component(PARAGRAPH_BREAKS)
def paragraph_breaks(doc: Doc) -> Doc:
    """Start a sentence at every paragraph, so no sentence spans two (the parser keeps them)."""
    if len(doc) < 2:
        return doc
    for i in np.flatnonzero(doc.to_array(IS_SPACE)[:-1]).tolist():  # only spaces made Tokens
        if "\n" in doc[i].text:
            doc[i + 1].is_sent_start = True
    return doc


def load_model(name: str | None = None) -> Language:
    """The spaCy pipeline ``name`` (default ``settings.SPACY_MODEL``), loaded once per process.

    Raises:
        OSError: the model package is not installed.
    """
    return _load(name or settings.SPACY_MODEL)


@functools.cache
def _load(name: str) -> Language:
    """Load a pipeline without the pipes enrichment does not use, made cheaper to run.

    Its networks multiply matrices with numpy's BLAS, one thread (about twice as fast as
    thinc's default, blis, on these shapes; the forked workers are the parallelism) and
    run their LayerNorm and Maxout layers in fewer passes (see predict_layers.py), its
    attribute ruler becomes a lookup table (see attribute_table.py), and its parser and NER
    decode holding the GIL (see transition_loop.py).
    """
    import datasketch  # noqa: F401 (seconds of CPU to import: once here, not in each worker)

    nlp = load_pipeline(name)
    use_numpy_blas(nlp)
    for _, pipe in nlp.pipeline:
        if hasattr(getattr(pipe, "model", None), "walk"):
            use_predict_layers(pipe.model)
    replace_attribute_ruler(nlp)
    hold_gil_in(nlp)
    return nlp


def load_pipeline(name: str) -> Language:
    """spaCy's pipeline ``name`` as is, without the unused pipes, with paragraph breaks."""
    LOGGER.info("loading spaCy model %s", name)
    nlp = spacy.load(name, exclude=list(UNUSED_PIPES))
    if "parser" in nlp.pipe_names:
        nlp.add_pipe(PARAGRAPH_BREAKS, before="parser")
    else:
        nlp.add_pipe(PARAGRAPH_BREAKS, first=True)
    nlp.max_length = max(nlp.max_length, settings.ENRICH_MAX_CHARS + 1)
    return nlp


def use_numpy_blas(nlp: Language) -> None:
    """Make the pipeline's networks multiply matrices with numpy's BLAS, limited to one thread."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")
    ops = NumpyOps(use_blis=False)
    for _, pipe in nlp.pipeline:
        model = getattr(pipe, "model", None)
        if model is not None and hasattr(model, "walk"):
            for node in model.walk():
                node.ops = ops


def enrich_many(
    articles: list[dict[str, Any]], nlp: Language | None = None
) -> Iterator[dict[str, Any]]:
    """The enrichment of each article's fields, in order, parsing the bodies in batches.

    Args:
        articles: extracted fields (``body``, ``published_at``, ``language`` are read).
        nlp: a loaded pipeline; defaults to ``load_model()``.

    Yields:
        Per article, the ``ENRICHMENT_KEYS`` values (JSON-ready).
    """
    nlp = nlp or load_model()
    for start in range(0, len(articles), SORTED_WINDOW):
        window = articles[start : start + SORTED_WINDOW]
        texts = [_parser_text(fields, nlp.lang) for fields in window]
        for fields, text, doc in zip(window, texts, _parsed_by_length(nlp, texts), strict=True):
            yield _enrichment(fields, doc, text)


# Articles parsed together, shortest first, so that the docs of a batch have similar lengths.
SORTED_WINDOW = 64


def _parsed_by_length(nlp: Language, texts: list[str]) -> list[Doc]:
    """The docs of the texts, in their order, parsed in batches of texts of similar length.

    The parser and NER take one Python step per move for the whole batch until its longest
    doc is done; with similar lengths there are fewer steps for the same moves (a third
    fewer on the aeb bodies). The docs do not depend on their batch.
    """
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    docs: list[Doc] = [None] * len(texts)  # type: ignore[list-item]
    parsed = nlp.pipe([texts[i] for i in order], batch_size=settings.ENRICH_BATCH_SIZE)
    for i, doc in zip(order, parsed, strict=True):
        docs[i] = doc
    return docs


def enrich_fields(fields: dict[str, Any], nlp: Language | None = None) -> dict[str, Any]:
    """The enrichment of one article's fields (see ``enrich_many``)."""
    return next(enrich_many([fields], nlp))


def analysed_text(fields: dict[str, Any]) -> str:
    """What enrichment reads: the body, then any photo or video captions, blank-line separated.

    Offsets of entities, quotes, numbers and dates index into this text: below
    ``len(body)`` they are in the body, past it in the captions.
    """
    text = "\n\n".join([fields.get("body") or "", *(fields.get("captions") or [])])
    if len(text) > settings.ENRICH_MAX_CHARS:
        LOGGER.warning("enriching only the first %d characters of %s",
                       settings.ENRICH_MAX_CHARS, fields.get("input"))
        text = text[: settings.ENRICH_MAX_CHARS]
    return text


def _parser_text(fields: dict[str, Any], language: str) -> str:
    """The text given to spaCy: ``analysed_text``, or nothing when in another language.

    Curly apostrophes become straight ones (same length, so offsets hold): the small
    English model misses names before "’s". Runs without a space longer than any word are
    cut by a space every ``_RUN_PIECE`` characters (same length again): spaCy's tokenizer
    is quadratic in a token's length when it is punctuation (4,000 “ took 13 s, a page
    of them hours).
    """
    article_language = (fields.get("language") or "").lower()
    if article_language and not article_language.startswith(language):
        return ""
    text = analysed_text(fields).replace("’", "'").replace("‘", "'")
    return _LONG_RUN.sub(_cut_run, text)


# A run without a space this long is no word: cut into pieces of _RUN_PIECE characters.
# Mostly-punctuation runs are cut from 65 characters (spaCy's tokenizer strips them a
# character at a time); runs of letters and digits (URLs, hashes) tokenise in linear time,
# but slowly with slashes and hyphens (0.5 s for 2,000 characters): they are cut past 256
# characters, longer than ordinary URLs, which parse as they always did.
_LONG_RUN = re.compile(r"\S{65,}")
_RUN_PIECE = 64
_LONGEST_WORDLIKE_RUN = 256


def _cut_run(match: re.Match[str]) -> str:
    """A long run, same length: mostly punctuation, it keeps its start and becomes blank
    (the parser is slow on thousands of punctuation tokens too); else, when absurdly long,
    cut by spaces."""
    run = match.group()
    if sum(c.isalnum() for c in run) * 2 < len(run):
        return run[:_RUN_PIECE] + " " * (len(run) - _RUN_PIECE)
    if len(run) <= _LONGEST_WORDLIKE_RUN:
        return run
    return "".join(" " if n % _RUN_PIECE == _RUN_PIECE - 1 else c for n, c in enumerate(run))


def _enrichment(fields: dict[str, Any], doc: Doc, parsed: str) -> dict[str, Any]:
    """The enrichment of one article from its parsed body (``parsed``: the text spaCy read).

    ``parsed`` is passed because ``doc.text`` is rebuilt from every token on each access.
    """
    minhash = signature(fields.get("body") or "")
    if not len(doc):
        return {"entities": [], "quotes": [], "numbers": [], "dates": [],
                "minhash": minhash.to_dict() if minhash else None}
    analysed = analysed_text(fields)
    entities = find_entities(doc, text=parsed)
    quotes = find_quotes(doc, entities, text=analysed)
    dates = find_dates(analysed, publication_day(fields.get("published_at")))
    numbers = find_numbers(doc, skip=[(d.start, d.end) for d in dates])
    return {
        "entities": [e.to_dict() for e in entities],
        "quotes": [q.to_dict() for q in quotes],
        "numbers": [n.to_dict() for n in numbers],
        "dates": [d.to_dict() for d in dates],
        "minhash": minhash.to_dict() if minhash else None,
    }
