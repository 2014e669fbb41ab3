"""Language of an article: py3langid on the body text, the page's declaration as fallback.

py3langid ships its model inside the package, so detection runs offline.
"""

import logging
from functools import lru_cache

from py3langid.langid import MODEL_FILE, LanguageIdentifier

LOGGER = logging.getLogger(__name__)

# Below this many letters the detector guesses; trust the page's declaration instead.
MIN_LETTERS = 40
# A detection less certain than this loses to a declared language.
MIN_CONFIDENCE = 0.5
# Detection cost grows with length; the first few thousand characters decide it.
SAMPLE_CHARS = 2000


@lru_cache(maxsize=1)
def _identifier() -> LanguageIdentifier:
    """The detector with probabilities normalised to 0..1, loaded once per process."""
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str) -> tuple[str | None, float]:
    """The ISO 639-1 code of ``text`` and the detector's confidence; (None, 0) if too short."""
    sample = text[:SAMPLE_CHARS]
    if sum(ch.isalpha() for ch in sample) < MIN_LETTERS:
        return None, 0.0
    code, confidence = _identifier().classify(sample)
    return code, confidence


def article_language(body: str, declared: str | None) -> tuple[str | None, str | None]:
    """Decide an article's language.

    Args:
        body: the article's body text.
        declared: the language the page declares (``<html lang>``), if any.

    Returns:
        (code, source): source is ``py3langid`` when detected from the body,
        ``html-lang`` when the declaration was used, None when neither is known.
    """
    code, confidence = detect_language(body)
    if code and (confidence >= MIN_CONFIDENCE or not declared):
        return code, "py3langid"
    if declared:
        return declared, "html-lang"
    return None, None
