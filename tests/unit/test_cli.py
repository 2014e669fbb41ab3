import gzip
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from newsflow.fields import ARTICLE_KEYS
from tests.conftest import DEMO, ROOT, SEED

FESTIVAL = DEMO / "drop" / "harbour-festival.txt"
GALLERY = DEMO / "drop" / "harbour-gallery.html"
LIBRARY = DEMO / "site" / "articles" / "library-extends-hours.html"


def _extract(*args: str, stdin: bytes | None = None) -> tuple[int, list[dict[str, Any]], str]:
    completed = subprocess.run(
        [sys.executable, "-m", "newsflow.cli", "extract", *args],
        cwd=ROOT,
        input=stdin if stdin is not None else b"",
        capture_output=True,
        timeout=120,
        check=False,
    )
    lines = completed.stdout.decode("utf-8").splitlines()
    return completed.returncode, [json.loads(line) for line in lines], completed.stderr.decode()


def test_one_json_line_per_input_in_input_order_with_the_article_keys() -> None:
    inputs = [str(GALLERY), str(SEED), str(FESTIVAL)]
    status, records, _ = _extract(*inputs)
    assert status == 0
    assert [r["input"] for r in records] == inputs
    for record in records:
        assert list(record) == list(ARTICLE_KEYS)


def test_seed_fields() -> None:
    status, [record], _ = _extract(str(SEED))
    assert status == 0
    assert record["input"] == str(SEED)
    assert record["url"] is None
    assert record["title"] == "US and Russia seek Syria peace talks revival"
    assert record["subtitle"] == (
        "Geneva meetings enter second day as both sides try to narrow differences "
        "on how to disarm Syria of chemical weapons."
    )
    assert record["authors"] == []
    assert record["source"] == "Al Jazeera and agencies"
    assert record["headings"] == ["Shared goal", "Positive opportunity"]
    assert record["body"].startswith("US Secretary of State John Kerry")
    assert record["body"].endswith('"This is not a game," he said on Thursday.')
    # 699 words of paragraphs and the two section heads, which are part of the body
    assert record["word_count"] == 703
    assert record["word_count"] == len(re.findall(r"\w+", record["body"]))
    # Filled by enrichment (tests/unit/test_enrichment.py checks them in detail).
    assert {"John Kerry", "Sergey Lavrov"} <= {e["name"] for e in record["entities"]}
    assert record["quotes"] and record["numbers"] and record["dates"]


def test_html_file_gets_its_canonical_url_and_metadata() -> None:
    status, [record], _ = _extract(str(GALLERY))
    assert status == 0
    assert record["url"] == "https://gazette.example/news/harbour-gallery-reopens"
    assert record["title"] == "Harbour Gallery reopens after $3.4 million flood restoration"
    assert record["authors"] == ["Helena Varga"]
    assert record["published_at"] == "2026-11-25T09:45:00-05:00"
    assert record["published_source"] == "json-ld"
    assert record["site_name"] == "Riverside Gazette"
    assert record["language"] == "en"
    assert record["headings"] == ["Built for the next flood"]


def test_gzipped_input_is_read(tmp_path: Path) -> None:
    packed = tmp_path / "festival.txt.gz"
    packed.write_bytes(gzip.compress(FESTIVAL.read_bytes()))
    status, records, _ = _extract(str(FESTIVAL), str(packed))
    assert status == 0
    plain, unpacked = records
    assert unpacked["input"] == str(packed)
    assert unpacked["title"] == "Harbour Lights Festival draws record 42,000 visitors"
    assert unpacked["authors"] == ["Fiona Gallagher"]
    assert {k: v for k, v in unpacked.items() if k != "input"} == {
        k: v for k, v in plain.items() if k != "input"
    }


def test_stdin_is_read_with_forced_text_format() -> None:
    status, [record], _ = _extract("-", "--format", "text", stdin=SEED.read_bytes())
    assert status == 0
    assert record["input"] == "-"
    assert record["title"] == "US and Russia seek Syria peace talks revival"
    assert record["source"] == "Al Jazeera and agencies"
    assert record["headings"] == ["Shared goal", "Positive opportunity"]


def test_stdin_html_is_sniffed_as_html() -> None:
    status, [record], _ = _extract("-", stdin=LIBRARY.read_bytes())
    assert status == 0
    assert record["url"] == "https://gazette.example/news/library-extends-hours"
    assert record["headings"] == ["Board divided over cost"]
    assert record["authors"] == ["Daniel Reyes", "Priya Natarajan"]


def test_url_option_is_echoed_as_url() -> None:
    url = "http://127.0.0.1:8765/articles/library-extends-hours.html?utm_source=rss"
    status, [record], _ = _extract(str(LIBRARY), "--url", url)
    assert status == 0
    assert record["url"] == url
    assert record["title"] == (
        "Riverside library to open on Sundays and stay open later on weeknights"
    )


def test_bad_inputs_report_errors_and_the_rest_still_print(tmp_path: Path) -> None:
    missing = tmp_path / "missing.txt"
    corrupt = tmp_path / "corrupt.txt.gz"
    corrupt.write_bytes(b"this is not gzip data")
    inputs = [str(SEED), str(missing), str(corrupt), str(FESTIVAL)]
    status, records, _ = _extract(*inputs)
    assert status == 1
    assert [r["input"] for r in records] == inputs
    assert list(records[1]) == ["input", "error"]
    assert records[1]["error"].startswith("FileNotFoundError: ")
    assert list(records[2]) == ["input", "error"]
    assert records[2]["error"].startswith("BadGzipFile: ")
    assert records[0]["title"] == "US and Russia seek Syria peace talks revival"
    assert records[3]["title"] == "Harbour Lights Festival draws record 42,000 visitors"
    assert list(records[3]) == list(ARTICLE_KEYS)


def test_input_without_text_is_an_error_record(tmp_path: Path) -> None:
    empty = tmp_path / "empty.html"
    empty.write_bytes(b"<html><head><title>Empty</title></head><body></body></html>")
    status, [record], _ = _extract(str(empty))
    assert status == 1
    assert record == {
        "input": str(empty),
        "error": "CleaningError: trafilatura found no main text",
    }


def test_unknown_format_is_a_usage_error() -> None:
    status, records, stderr = _extract(str(SEED), "--format", "pdf")
    assert status == 2
    assert records == []
    assert "invalid choice: 'pdf'" in stderr


def test_gzipped_stdin_is_recognised_by_its_magic_bytes() -> None:
    status, [record], _ = _extract("-", stdin=gzip.compress(FESTIVAL.read_bytes()))
    assert status == 0
    assert record["input"] == "-"
    assert record["title"] == "Harbour Lights Festival draws record 42,000 visitors"
