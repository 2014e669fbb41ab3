import time
from datetime import UTC, datetime

import pytest

from newsflow.sitemaps import Sitemap, SitemapEntry, SitemapError, parse_sitemap, parse_w3c_date

BASE = "https://gazette.example/sitemap.xml"
NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
NEWS = 'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"'


def test_urlset_entries_with_lastmod_in_document_order() -> None:
    sitemap = parse_sitemap(
        f"<urlset {NS}><url><loc>https://gazette.example/b</loc>"
        "<lastmod>2026-11-20T10:00:00+01:00</lastmod></url>"
        "<url><loc>/a</loc></url></urlset>".encode(),
        BASE,
    )
    assert sitemap == Sitemap(False, entries=[
        SitemapEntry("https://gazette.example/b", lastmod=datetime(2026, 11, 20, 9, tzinfo=UTC)),
        SitemapEntry("https://gazette.example/a"),
    ])


def test_google_news_fields_are_read_and_date_the_entry() -> None:
    sitemap = parse_sitemap(
        f"<urlset {NS} {NEWS}><url><loc>https://gazette.example/story</loc>"
        "<lastmod>2026-11-22</lastmod><news:news><news:publication>"
        "<news:name>Riverside Gazette</news:name><news:language>en</news:language>"
        "</news:publication><news:publication_date>2026-11-21T07:45:00-05:00"
        "</news:publication_date><news:title>Ferry cuts</news:title></news:news></url>"
        "</urlset>".encode(),
        BASE,
    )
    [entry] = sitemap.entries
    assert entry.news_title == "Ferry cuts"
    assert entry.news_publication == "Riverside Gazette"
    assert entry.news_language == "en"
    assert entry.news_published == datetime(2026, 11, 21, 12, 45, tzinfo=UTC)
    assert entry.lastmod == datetime(2026, 11, 22, tzinfo=UTC)
    assert entry.dated == entry.news_published  # publication date wins over lastmod


def test_sitemap_index_lists_children_with_lastmod() -> None:
    sitemap = parse_sitemap(
        f"<sitemapindex {NS}><sitemap><loc>https://gazette.example/s1.xml.gz</loc>"
        "<lastmod>2026-11</lastmod></sitemap><sitemap><loc>s2.xml</loc></sitemap>"
        "</sitemapindex>".encode(),
        BASE,
    )
    assert sitemap.is_index
    assert sitemap.children == [
        SitemapEntry("https://gazette.example/s1.xml.gz",
                     lastmod=datetime(2026, 11, 1, tzinfo=UTC)),
        SitemapEntry("https://gazette.example/s2.xml"),
    ]


def test_entries_without_http_loc_are_invalid_with_a_reason() -> None:
    sitemap = parse_sitemap(
        f"<urlset {NS}><url><lastmod>2026-11-01</lastmod></url>"
        "<url><loc>javascript:alert(1)</loc></url>"
        "<url><loc>https://gazette.example/ok</loc></url></urlset>".encode(),
        BASE,
    )
    assert [e.loc for e in sitemap.entries] == ["https://gazette.example/ok"]
    assert sitemap.invalid == [
        (f"{BASE}#url-1", "sitemap <url> 1 has no http(s) <loc>"),
        ("javascript:alert(1)", "sitemap <url> 2 has no http(s) <loc>"),
    ]


def test_missing_namespace_is_tolerated() -> None:
    sitemap = parse_sitemap(b"<urlset><url><loc>https://gazette.example/a</loc></url></urlset>",
                            BASE)
    assert [e.loc for e in sitemap.entries] == ["https://gazette.example/a"]


def test_text_sitemap_is_one_url_per_line() -> None:
    sitemap = parse_sitemap(b"https://gazette.example/a\n\nhttps://gazette.example/b\n", BASE)
    assert [e.loc for e in sitemap.entries] == ["https://gazette.example/a",
                                                 "https://gazette.example/b"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"<html><body>moved</body></html>", "not a sitemap: root element <html>"),
        (b'<rss version="2.0"><channel/></rss>', "not a sitemap: root element <rss>"),
        (b"hello world", "not a sitemap: neither XML nor a list of URLs"),
        (b"", "not a sitemap: neither XML nor a list of URLs"),
    ],
)
def test_other_documents_are_not_sitemaps(content: bytes, message: str) -> None:
    with pytest.raises(SitemapError) as caught:
        parse_sitemap(content, BASE)
    assert str(caught.value) == message


def test_billion_laughs_is_not_expanded() -> None:
    levels = "".join(
        f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">' for n in range(1, 10)
    )
    bomb = (
        f'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY l0 "lol">{levels}]>'
        f"<urlset {NS}><url><loc>https://gazette.example/&l9;</loc></url></urlset>"
    ).encode()
    started = time.monotonic()
    sitemap = parse_sitemap(bomb, BASE)
    assert time.monotonic() - started < 1
    assert [e.loc for e in sitemap.entries] == ["https://gazette.example/"]


def test_external_entities_are_not_read() -> None:
    xxe = (
        '<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        f"<urlset {NS}><url><loc>https://gazette.example/&x;</loc></url></urlset>"
    ).encode()
    [entry] = parse_sitemap(xxe, BASE).entries
    assert entry.loc == "https://gazette.example/"
    assert "root" not in entry.loc


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026", datetime(2026, 1, 1, tzinfo=UTC)),
        ("2026-11", datetime(2026, 11, 1, tzinfo=UTC)),
        ("2026-11-21", datetime(2026, 11, 21, tzinfo=UTC)),
        ("2026-11-21T07:45Z", datetime(2026, 11, 21, 7, 45, tzinfo=UTC)),
        ("2026-11-21T07:45:30.5-05:00", datetime(2026, 11, 21, 12, 45, 30, 500000, tzinfo=UTC)),
        (" 2026-11-21T07:45:00 ", datetime(2026, 11, 21, 7, 45, tzinfo=UTC)),
        ("yesterday", None),
        ("2026-13", None),
        ("", None),
        (None, None),
    ],
)
def test_w3c_dates(value: str | None, expected: datetime | None) -> None:
    assert parse_w3c_date(value) == expected
