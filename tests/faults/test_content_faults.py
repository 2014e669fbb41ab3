"""Hostile content: charsets, broken bytes, binaries posing as HTML, empty and giant pages."""

import random
from pathlib import Path

from tests.faults import hostile as h
from tests.faults.conftest import (
    PARAGRAPH,
    article,
    outcomes,
    run_scenario,
    url_list,
    write_sources,
)
from tests.integration.conftest import rows

ACCENTED = "Café owners in Zürich said the façade's rénovation would cost €40,000 — naïvely. "


def test_charsets_and_broken_bytes(news_conn: object, hostile: h.HostileServer,
                                   tmp_path: Path) -> None:
    cp1252 = article("Café news", ACCENTED * 3).decode().encode("cp1252")
    utf8 = article("Zürich news", ACCENTED * 3)
    invalid = utf8.replace(b"Caf\xc3\xa9", b"Caf\xc3\x28\xff\xfe", 2)
    nul = article("Nul bytes", PARAGRAPH).replace(b"<p>", b"<p>\x00\x00", 2) + b"\x00" * 10
    routes = {
        "utf8-labelled-cp1252": h.reply(body=cp1252),
        "cp1252-labelled-utf8": h.reply(body=utf8, content_type="text/html; charset=iso-8859-1"),
        "no-charset-cp1252": h.reply(body=cp1252, content_type="text/html"),
        "unknown-charset": h.reply(body=utf8, content_type="text/html; charset=x-klingon-42"),
        "invalid-utf8": h.reply(body=invalid),
        "nul-bytes": h.reply(body=nul),
        "utf16-no-label": h.reply(body=article("Sixteen", ACCENTED * 3).decode()
                                  .encode("utf-16"), content_type="text/html"),
    }
    urls = {name: hostile.route(name, answer) for name, answer in routes.items()}
    sources = write_sources(tmp_path, url_list(tmp_path, "charsets", list(urls.values())))
    entries = run_scenario(news_conn, "wrong/missing charsets, invalid UTF-8, NUL", sources,
                           set(urls.values()))
    assert set(outcomes(entries).values()) == {"article"}
    stored = {url: (title, body) for url, title, body in rows(
        news_conn, "SELECT url, title, body FROM articles")}
    # Detected, declared in a header, or marked by a BOM: decoded right.
    for name, title in (("no-charset-cp1252", "Café news"), ("unknown-charset", "Zürich news"),
                        ("utf16-no-label", "Sixteen")):
        assert stored[urls[name]][0] == title
        assert "façade's rénovation would cost €40,000" in stored[urls[name]][1]
    # A header that lies wins, as in browsers: the bytes it cannot decode become U+FFFD.
    assert "\ufffd" in stored[urls["utf8-labelled-cp1252"]][1]
    assert "faÃ§ade" in stored[urls["cp1252-labelled-utf8"]][1]
    # ... though a title read that way is mended (titles.repair_mojibake: UTF-8 read as
    # Latin-1 is a common fault of title markup too).
    assert stored[urls["cp1252-labelled-utf8"]][0] == "Zürich news"
    assert "Caf\ufffd(" in stored[urls["invalid-utf8"]][1]
    assert rows(news_conn, "SELECT count(*) FROM pages WHERE position('\\x00'::bytea IN content)"
                           " > 0") == [(0,)]


def test_pages_that_are_not_articles(news_conn: object, hostile: h.HostileServer,
                                     tmp_path: Path) -> None:
    long_line = article("One very long line", "word " * 200_000)
    noise = random.Random(8)
    routes = {
        "ok": h.reply(body=article("Fine")),
        "binary-as-html": h.reply(body=noise.randbytes(64 * 1024)),
        "pdf-as-html": h.reply(body=b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nstream\n"
                               + noise.randbytes(20_000) + b"\nendstream\n%%EOF\n"),
        "empty": h.reply(body=b""),
        "blank": h.reply(body=b" \r\n\t \n"),
        "no-article": h.reply(body=b"<html><body><nav><a href='/'>Home</a> <a href='/a'>About"
                              b"</a></nav><footer>(c) 2026</footer></body></html>"),
        "long-line": h.reply(body=long_line),
        "long-word": h.reply(body=article("One long word", "x" * 500_000 + " " + PARAGRAPH)),
    }
    urls = {name: hostile.route(name, answer) for name, answer in routes.items()}
    sources = write_sources(tmp_path, url_list(tmp_path, "pages", list(urls.values())))
    entries = run_scenario(news_conn, "binary, PDF, empty, no article, long lines", sources,
                           set(urls.values()))
    got = outcomes(entries)
    assert got[urls["binary-as-html"]].startswith("fetch: binary content, not text: ")
    assert got[urls["pdf-as-html"]].startswith("fetch: binary content, not text: ")
    assert {name: got[url] for name, url in urls.items() if "-as-html" not in name} == {
        "ok": "article", "long-line": "article", "long-word": "article",
        "empty": "fetch: empty response body", "blank": "fetch: empty response body",
        "no-article": "clean: body too short for an article (10 < 200 characters)",
    }
    [(words,)] = rows(news_conn, "SELECT word_count FROM articles WHERE title ="
                                 " 'One very long line'")
    assert words > 200_000


def test_five_megabyte_div_pages(news_conn: object, hostile: h.HostileServer,
                                 tmp_path: Path) -> None:
    size = 5 * 1024 * 1024
    siblings = b"<html><body>" + b"<div>x</div>" * (size // 12) + b"</body></html>"
    nested = b"<html><body>" + b"<div>" * (size // 10) + b"deep" + b"</div>" * (size // 10)
    nested_few = (b"<html><body>" + b"<div>" * 2000 + article("Deep inside") + b"</div>" * 2000)
    routes = {
        "siblings": h.reply(body=siblings),
        "nested": h.reply(body=nested[:size]),
        "nested-2000": h.reply(body=nested_few),
    }
    urls = {name: hostile.route(name, answer) for name, answer in routes.items()}
    sources = write_sources(tmp_path, url_list(tmp_path, "divs", list(urls.values())))
    entries = run_scenario(news_conn, "5 MB pages of nested and sibling divs", sources,
                           set(urls.values()))
    # lxml keeps 255 levels of nesting; an article below that is cut off with the rest.
    assert outcomes(entries) == {
        urls["siblings"]: "clean: page too large to clean: more than 50000 HTML elements",
        urls["nested"]: "clean: trafilatura found no main text",
        urls["nested-2000"]: "clean: trafilatura found no main text",
    }
