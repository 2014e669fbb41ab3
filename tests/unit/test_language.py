import pytest

from newsflow.language import article_language, detect_language

ENGLISH = (
    "The harbour authority will double the number of ferry crossings from May, its board "
    "decided on Tuesday, after passenger numbers rose by a third in two years."
)
GERMAN = (
    "Die Hafenbehörde wird die Zahl der Fährverbindungen ab Mai verdoppeln, wie der Vorstand "
    "am Dienstag beschloss, nachdem die Fahrgastzahlen in zwei Jahren um ein Drittel stiegen."
)
FRENCH = (
    "L'autorité portuaire doublera le nombre de traversées en ferry à partir de mai, a décidé "
    "son conseil mardi, après une hausse d'un tiers du nombre de passagers en deux ans."
)


@pytest.mark.parametrize(("text", "code"), [(ENGLISH, "en"), (GERMAN, "de"), (FRENCH, "fr")])
def test_body_language_is_detected(text: str, code: str) -> None:
    detected, confidence = detect_language(text)
    assert detected == code
    assert 0.5 < confidence <= 1.0


def test_detection_wins_over_a_wrong_declaration() -> None:
    assert article_language(GERMAN, "en") == ("de", "py3langid")


def test_short_body_falls_back_to_the_declared_language() -> None:
    assert detect_language("Ferry news") == (None, 0.0)
    assert article_language("Ferry news", "nl") == ("nl", "html-lang")


def test_short_body_without_declaration_has_no_language() -> None:
    assert article_language("12 34 56", None) == (None, None)


def test_long_text_is_sampled_not_rejected() -> None:
    assert article_language(ENGLISH * 200, None) == ("en", "py3langid")
