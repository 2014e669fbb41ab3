"""Hostile input helpers (issue 15): guarded URLs, registrable domains, WHATWG charset
labels, linear tag scans, inert text, drop-file reads and the sitemap entry limit."""

import gzip
import json
import logging
import os
from pathlib import Path

import pytest

from newsflow import cli, dropfiles, reporting
from newsflow.pagebytes import canonical_link, page_charset
from newsflow.safetext import printable, scrub
from newsflow.sitemaps import MAX_ENTRIES, parse_sitemap
from newsflow.weburls import http_url, join_url, registrable_domain, same_site, split_url

# URLs


@pytest.mark.parametrize("bad", ["http://[oops/", "http://a.example:99999/", "http://[::1/x",
                                 "http://a.example:port/", "javascript:alert(1)",
                                 "http://a b.example/", "http://a.example/\x00", "mailto:x@y",
                                 "//no-scheme.example/x", "http://" + "a" * 9000])
def test_http_url_refuses_what_cannot_be_fetched_without_raising(bad: str) -> None:
    assert http_url(bad) is None
    assert http_url(bad, "http://base.example/") is None or bad.startswith("//")


def test_join_and_split_never_raise() -> None:
    assert join_url("http://a.example/x/", "../y") == "http://a.example/y"
    assert join_url("http://a.example/", "http://[oops/") is None
    assert split_url("http://[oops/") is None
    assert http_url("/news/1", "https://a.example/feed") == "https://a.example/news/1"


@pytest.mark.parametrize(("url", "site"), [
    ("https://news.bbc.co.uk/x", "bbc.co.uk"),
    ("https://www.bbc.co.uk/", "bbc.co.uk"),
    ("https://alice.github.io/", "alice.github.io"),  # github.io is a public suffix
    ("http://127.0.0.1:8000/a", "127.0.0.1"),
    ("http://localhost:1/", "localhost"),
    ("http://BÜCHER.de/", "xn--bcher-kva.de"),
    ("file:///etc/passwd", None),
    ("http://[oops/", None),
])
def test_registrable_domain_from_the_bundled_public_suffix_list(url: str, site: str) -> None:
    assert registrable_domain(url) == site


def test_same_site_is_the_registrable_domain_not_the_host() -> None:
    assert same_site("https://www.bbc.co.uk/a", "https://news.bbc.co.uk/b")
    assert not same_site("https://alice.github.io/a", "https://bob.github.io/a")
    assert not same_site("https://evil.example/a", "https://bbc.co.uk/a")
    assert not same_site("http://[oops/", "http://[oops/")


# Charsets and tags


@pytest.mark.parametrize("label", ["hex", "rot13", "base64", "zlib", "bz2", "uu",
                                   "quopri", "x-klingon", "replacement", "iso-2022-kr",
                                   "x-user-defined", "idna", "punycode", "utf-7"])
def test_labels_no_browser_knows_fall_back_to_detection(label: str) -> None:
    content = "<p>Café à Zürich — naïve façade.</p>".encode()
    charset = page_charset(content, f"text/html; charset={label}")
    assert content.decode(charset) == "<p>Café à Zürich — naïve façade.</p>"
    meta = f'<meta charset="{label}"><p>Café</p>'.encode("cp1252")
    assert page_charset(meta, "text/html") == "cp1252"


@pytest.mark.parametrize(("label", "codec"), [("latin1", "cp1252"), ("ISO-8859-1", "cp1252"),
                                              ("us-ascii", "cp1252"), ("shift_jis", "cp932"),
                                              ("utf-16", "utf-16"), ("koi8-u", "koi8-u")])
def test_labels_map_by_the_whatwg_table(label: str, codec: str) -> None:
    assert page_charset(b"<p>x</p>", f"text/html; charset={label}") == codec


@pytest.mark.timeout(20)
@pytest.mark.parametrize("head", [
    "<link " * 200_000,  # the old regular expression took minutes on this
    "<link " + "a" * 1_000_000 + ">",
    "<link " + "a=" * 300_000 + ">",
    "<meta " * 200_000,
])
def test_tag_scans_are_linear_on_adversarial_heads(head: str) -> None:
    content = f"<html><head>{head}</head><body>x</body></html>".encode()
    assert canonical_link(content, "utf-8", "http://a.example/") is None
    assert page_charset(content, "text/html") == "utf-8"


def test_canonical_link_still_found_after_odd_tags() -> None:
    content = (b'<head><link rel=stylesheet href=a.css><link\nhref="/story"\nrel="Canonical">'
               b"</head>")
    assert canonical_link(content, "utf-8", "https://a.example/x") == "https://a.example/story"
    assert canonical_link(b'<link rel="canonical" href="http://[oops/">', "utf-8",
                          "https://a.example/") is None


# Text


def test_scrub_removes_controls_everywhere_but_keeps_lines() -> None:
    assert scrub({"title": "a\x1b[2Jb\x9b\x00", "list": ["\u202eevil", "line\nnext\t"]}) == {
        "title": "a[2Jb", "list": ["evil", "line\nnext\t"]}


def test_printable_escapes_terminal_sequences() -> None:
    assert printable("red\x1b[31m\x07\x9b\u202e\n") == "red\\x1b[31m\\x07\\x9b\\u202e\\n"


def test_report_labels_are_never_mathtext() -> None:
    # An odd number of dollars is a mathtext syntax error when labels are parsed.
    svg = reporting.bar_chart(["Ke$ha", "$\\frac{1}{0}$ \\", "a_b^c $x"], [3, 2, 1], "articles")
    assert svg.startswith("<svg")


# Drop files


def test_read_file_refuses_links_fifos_and_over_the_cap(tmp_path: Path) -> None:
    (tmp_path / "ok.txt").write_bytes(b"fine")
    (tmp_path / "link.txt").symlink_to(tmp_path / "ok.txt")
    os.mkfifo(tmp_path / "fifo.txt")
    (tmp_path / "big.txt").write_bytes(b"x" * 101)
    (tmp_path / "bomb.txt.gz").write_bytes(gzip.compress(b"x" * 10_000_000))
    read = dropfiles.read_file
    assert read(tmp_path / "ok.txt", 100, root=tmp_path, relative="ok.txt") == b"fine"
    for name, message in (("link.txt", "symbolic link, not followed"),
                          ("fifo.txt", "not a regular file"),
                          ("big.txt", "big.txt larger than 100 bytes"),
                          ("bomb.txt.gz", "bomb.txt.gz larger than 100 bytes uncompressed")):
        with pytest.raises(dropfiles.FileRefused, match=message):
            read(tmp_path / name, 100, root=tmp_path, relative=name)
    for relative in ("../ok.txt", "/etc/passwd", "a/../../ok.txt"):
        with pytest.raises(dropfiles.FileRefused, match="not a path inside the folder"):
            read(tmp_path / "x", 100, root=tmp_path, relative=relative)


def test_scan_folder_lists_links_without_entering_them(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.html").write_text("x")
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "a.html").write_text("a")
    (drop / "out").symlink_to(outside)
    assert [name for name, _ in dropfiles.scan_folder(drop).entries] == ["a.html", "out"]


def test_cli_extract_refuses_fifos_links_and_bombs(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    os.mkfifo(tmp_path / "fifo.html")
    (tmp_path / "link.html").symlink_to("/etc/passwd")
    (tmp_path / "bomb.html.gz").write_bytes(gzip.compress(b"<p>" * 8_000_000))
    status = cli.main(["extract", "--no-enrich", str(tmp_path / "fifo.html"),
                       str(tmp_path / "link.html"), str(tmp_path / "bomb.html.gz")])
    errors = [json.loads(line)["error"] for line in capsys.readouterr().out.splitlines()]
    assert status == 1
    assert errors[0] == "FileRefused: not a regular file: fifo.html"
    assert errors[1].startswith("FileRefused: symbolic link, not followed")
    assert errors[2].startswith("FetchError: ") and "uncompressed" in errors[2]


# Sitemaps


def test_a_sitemap_is_read_up_to_the_protocols_50000_entries() -> None:
    body = ("<urlset>" + "".join(f"<url><loc>http://a.example/{n}</loc></url>"
                                 for n in range(MAX_ENTRIES + 7)) + "</urlset>").encode()
    sitemap = parse_sitemap(body, "http://a.example/sitemap.xml")
    assert len(sitemap.entries) == MAX_ENTRIES
    assert sitemap.invalid == [(
        "http://a.example/sitemap.xml#url-over-50000",
        "sitemap lists 50007 <url> entries; the 7 past the protocol's 50000 were not read")]


# Enrichment


@pytest.mark.timeout(240)
def test_a_run_of_punctuation_does_not_make_enrichment_quadratic() -> None:
    from newsflow import enrichment

    # 20,000 curly quotes in one "word": spaCy's tokenizer needed minutes (4,000 took 13 s).
    fields = {"body": "He said: " + "“" * 20_000 + " Mr Jones of London said on Tuesday.",
              "captions": [], "language": "en"}
    parsed = enrichment._parser_text(fields, "en")
    assert len(parsed) == len(enrichment.analysed_text(fields))  # offsets hold
    assert "London" in {e["name"] for e in enrichment.enrich_fields(fields)["entities"]}


def test_newsflow_log_arguments_are_printed_escaped(caplog: pytest.LogCaptureFixture) -> None:
    name = Path("drop/a\x1b[2Jb\nINFO fake line.html")
    with caplog.at_level(logging.INFO):
        logging.getLogger("newsflow.dropfiles").info("file %s: %d bytes, %s", name, 3,
                                                     ValueError("bad \x9b31m byte"))
        logging.getLogger("elsewhere").info("untouched %s", "\x1b")
    ours, theirs = (record.getMessage() for record in caplog.records)
    assert ours == "file drop/a\\x1b[2Jb\\nINFO fake line.html: 3 bytes, bad \\x9b31m byte"
    assert theirs == "untouched \x1b"
    # A record rebuilt from another's fields (structlog's formatter does this) is kept whole.
    rebuilt = logging.makeLogRecord(caplog.records[0].__dict__)
    assert rebuilt.getMessage() == ours
