"""The extractor version: stable for one configuration, new when a shaping setting changes."""

import re

import pytest

from newsflow import provenance, settings


def test_extractor_version_is_the_package_version_and_a_settings_hash() -> None:
    version = provenance.extractor_version()
    assert re.fullmatch(r"0\.1\.0\+[0-9a-f]{12}", version)
    assert provenance.extractor_version() == version  # deterministic


@pytest.mark.parametrize(
    ("name", "value"),
    [("MIN_BODY_CHARS", 500), ("MAX_HTML_ELEMENTS", 10), ("SPACY_MODEL", "en_core_web_md"),
     ("ENRICH_MAX_CHARS", 300)],
)
def test_each_output_shaping_setting_changes_the_version(
    monkeypatch: pytest.MonkeyPatch, name: str, value: object
) -> None:
    before = provenance.extractor_version()
    monkeypatch.setattr(settings, name, value)
    assert provenance.extractor_version() != before


def test_settings_that_do_not_shape_fields_leave_the_version_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = provenance.extractor_version()
    for name, value in (("FETCH_WORKERS", 99), ("HOST_INTERVAL", 9.0), ("REPORT_DAYS", 1),
                        ("ENRICH_BATCH_SIZE", 64), ("RAW_PAGE_RETENTION_DAYS", 1)):
        monkeypatch.setattr(settings, name, value)
    assert provenance.extractor_version() == before


def test_the_hashed_settings_name_the_libraries_doing_the_work() -> None:
    hashed = provenance.extraction_settings()
    assert {"lib:trafilatura", "lib:spacy", "SPACY_MODEL_VERSION"} <= set(hashed)
    assert "absent" not in {hashed["lib:trafilatura"], hashed["lib:spacy"]}
