import codecs
import gzip
import ipaddress
import time
from email.utils import formatdate
from pathlib import Path

import pytest

from newsflow import fetching
from newsflow.dropfiles import file_content_type, file_page_key, read_drop_file
from newsflow.fetching import (
    FetchedPage,
    FetchError,
    HttpResult,
    canonicalize_url,
    check_article_response,
    guard_url,
)
from newsflow.httpclient import LocalLimiter, _retry_after
from newsflow.pagebytes import as_utf8, canonical_link, gunzip_capped, page_charset, with_charset
from tests.conftest import DEMO

ARTICLE = DEMO / "site" / "articles" / "mill-street-bridge-closure.html"


def _result(
    status: int | None = 200,
    content_type: str | None = "text/html; charset=utf-8",
    content: bytes = b"<html><body><p>Story</p></body></html>",
    error: str | None = None,
) -> HttpResult:
    url = "http://127.0.0.1:1/story.html"
    return HttpResult(url, url, status, content_type, content, 5, error)


# canonicalize_url


def test_scheme_and_host_are_lower_cased() -> None:
    assert canonicalize_url("HTTPS://Gazette.EXAMPLE/news/Mill-Street") == (
        "https://gazette.example/news/Mill-Street"
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://gazette.example:443/news/a", "https://gazette.example/news/a"),
        ("http://gazette.example:80/news/a", "http://gazette.example/news/a"),
        ("http://gazette.example:8080/news/a", "http://gazette.example:8080/news/a"),
        ("https://gazette.example:80/news/a", "https://gazette.example:80/news/a"),
    ],
)
def test_only_the_default_port_is_dropped(url: str, expected: str) -> None:
    assert canonicalize_url(url) == expected


def test_fragment_is_dropped() -> None:
    assert canonicalize_url("https://gazette.example/news/a#comments") == (
        "https://gazette.example/news/a"
    )


def test_tracking_parameters_are_dropped_from_canonical_url() -> None:
    url = "https://gazette.example/news/a?utm_source=rss&utm_medium=feed&utm_campaign=x"
    assert canonicalize_url(url) == "https://gazette.example/news/a"


def test_surrounding_whitespace_is_ignored() -> None:
    assert canonicalize_url("  https://gazette.example/news/a\n") == (
        "https://gazette.example/news/a"
    )


def test_article_id_parameters_survive_tracking_removal() -> None:
    url = "https://gazette.example/story.php?utm_source=rss&page=2&id=42"
    assert canonicalize_url(url) == "https://gazette.example/story.php?id=42&page=2"


def test_non_tracking_parameters_are_kept() -> None:
    assert canonicalize_url("https://gazette.example/article.php?story=1&utm_source=rss") == (
        "https://gazette.example/article.php?story=1"
    )
    assert canonicalize_url("https://gazette.example/search?q=bridge&section=local") == (
        "https://gazette.example/search?q=bridge&section=local"
    )


def test_parameter_names_that_start_like_html_entities_survive() -> None:
    first = canonicalize_url("https://gazette.example/story.php?id=42&region=north")
    second = canonicalize_url("https://gazette.example/story.php?region=north&id=42")
    assert first == second == "https://gazette.example/story.php?id=42&region=north"


# read_drop_file, file_content_type, file_page_key


def test_plain_drop_file_is_read_as_is(tmp_path: Path) -> None:
    path = tmp_path / "story.txt"
    path.write_bytes(b"Title\n\nBody text.\n")
    assert read_drop_file(path) == b"Title\n\nBody text.\n"


def test_gzipped_drop_file_is_decompressed(tmp_path: Path) -> None:
    path = tmp_path / "story.HTML.gz"
    path.write_bytes(gzip.compress(ARTICLE.read_bytes()))
    assert read_drop_file(path) == ARTICLE.read_bytes()


@pytest.mark.parametrize("name", ["report.pdf", "notes.docx", "archive.pdf.gz", "README"])
def test_unsupported_suffix_is_rejected_with_reason(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"some content")
    with pytest.raises(FetchError) as caught:
        read_drop_file(path)
    assert str(caught.value) == f"unsupported file type: {name}"


@pytest.mark.parametrize("content", [b"", b"  \n\t\n"])
def test_empty_drop_file_is_rejected(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "blank.txt"
    path.write_bytes(content)
    with pytest.raises(FetchError) as caught:
        read_drop_file(path)
    assert str(caught.value) == "empty file: blank.txt"


def test_gzip_of_nothing_is_rejected_as_empty(tmp_path: Path) -> None:
    path = tmp_path / "blank.html.gz"
    path.write_bytes(gzip.compress(b""))
    with pytest.raises(FetchError) as caught:
        read_drop_file(path)
    assert str(caught.value) == "empty file: blank.html.gz"


def test_corrupt_gzip_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "broken.txt.gz"
    path.write_bytes(b"this is not gzip data")
    with pytest.raises(FetchError) as caught:
        read_drop_file(path)
    assert str(caught.value).startswith("cannot read broken.txt.gz: ")


def test_truncated_gzip_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "cut.html.gz"
    path.write_bytes(gzip.compress(ARTICLE.read_bytes())[:200])
    with pytest.raises(FetchError) as caught:
        read_drop_file(path)
    assert str(caught.value).startswith("cannot read cut.html.gz: ")


def test_missing_drop_file_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(FetchError) as caught:
        read_drop_file(tmp_path / "gone.txt")
    assert str(caught.value).startswith("cannot read gone.txt: ")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.txt", "text/plain"),
        ("a.TXT.gz", "text/plain"),
        ("a.html", "text/html"),
        ("a.htm.gz", "text/html"),
        ("a.md", None),
    ],
)
def test_file_content_type_follows_the_name(name: str, expected: str | None) -> None:
    assert file_content_type(Path(name)) == expected


def test_file_page_key_is_stable_for_the_same_content() -> None:
    first = file_page_key("demo-drop", "sub/story.txt", b"Same words.")
    again = file_page_key("demo-drop", "sub/story.txt", b"Same words.")
    assert first == again
    assert first.startswith("file:demo-drop/sub/story.txt#")
    assert len(first.rsplit("#", 1)[1]) == 16


def test_file_page_key_changes_when_the_content_changes() -> None:
    before = file_page_key("demo-drop", "story.txt", b"First draft.")
    after = file_page_key("demo-drop", "story.txt", b"Second draft.")
    assert before != after
    assert before.split("#")[0] == after.split("#")[0] == "file:demo-drop/story.txt"


def test_file_page_key_is_path_and_content_hash() -> None:
    # sha256(b"abc") = ba7816bf8f01cfea414140de5dae2223...
    assert file_page_key("src", "a/b.txt", b"abc") == "file:src/a/b.txt#ba7816bf8f01cfea"


def test_fetched_page_hashes_its_content() -> None:
    page = FetchedPage("k", "s", "i", None, None, "text/plain", b"abc")
    assert page.content_sha256 == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


# check_article_response on constructed results


@pytest.mark.parametrize(
    "content_type",
    [
        "text/html",
        "text/html; charset=utf-8",
        "TEXT/HTML",
        "application/xhtml+xml",
        "text/plain; charset=iso-8859-1",
        None,
    ],
)
def test_text_responses_are_accepted(content_type: str | None) -> None:
    # Accepting means not raising FetchError.
    assert check_article_response(_result(content_type=content_type)) is None


@pytest.mark.parametrize("status", [199, 301, 403, 404, 500, 503, None])
def test_non_2xx_responses_are_rejected(status: int | None) -> None:
    with pytest.raises(FetchError) as caught:
        check_article_response(_result(status=status))
    assert str(caught.value) == f"HTTP {status}"


@pytest.mark.parametrize(
    ("content_type", "media_type"),
    [
        ("application/pdf", "application/pdf"),
        ("image/jpeg", "image/jpeg"),
        ("application/rss+xml; charset=utf-8", "application/rss+xml"),
    ],
)
def test_non_text_content_types_are_rejected(content_type: str, media_type: str) -> None:
    with pytest.raises(FetchError) as caught:
        check_article_response(_result(content_type=content_type))
    assert str(caught.value) == f"not an article page: content type {media_type}"


@pytest.mark.parametrize("content", [b"", b" \r\n\t "])
def test_empty_bodies_are_rejected(content: bytes) -> None:
    with pytest.raises(FetchError, match="^empty response body$"):
        check_article_response(_result(content=content))


def test_transport_error_wins_over_status() -> None:
    with pytest.raises(FetchError, match="^ReadTimeout: too slow$"):
        check_article_response(_result(status=200, error="ReadTimeout: too slow"))


# page_charset, as_utf8, with_charset

CAFE = "Café “quoted” – naïve résumé. " * 20


@pytest.mark.parametrize(
    ("content", "content_type", "expected"),
    [
        # the header decides over <meta> and over detection
        (f'<meta charset="utf-8"><p>{CAFE}'.encode("cp1252"), "text/html; charset=windows-1252",
         "cp1252"),
        ("<p>Zażółć gęślą jaźń</p>".encode("iso-8859-2"), 'text/html; charset="ISO-8859-2"',
         "iso8859-2"),
        # a BOM decides over the header
        (codecs.BOM_UTF8 + CAFE.encode(), "text/html; charset=iso-8859-1", "utf-8"),
        (CAFE.encode("utf-16"), "text/html", "utf-16"),
        # no header charset: <meta charset> or http-equiv
        (f'<head><meta charset="windows-1251"></head><p>{CAFE}'.encode("cp1252"), "text/html",
         "cp1251"),
        (b'<meta http-equiv="Content-Type" content="text/html; charset=koi8-r"><p>x', None,
         "koi8-r"),
        # nothing declared: valid UTF-8, else cp1252 for Western text
        (CAFE.encode(), "text/html", "utf-8"),
        (f"<p>{CAFE}</p>".encode("cp1252"), "text/html", "cp1252"),
        # unknown labels are skipped; latin-1 and ascii read as windows-1252, as browsers do
        (CAFE.encode(), "text/html; charset=x-unknown", "utf-8"),
        (b"<p>plain</p>", "text/html; charset=us-ascii", "cp1252"),
        (b"<p>plain</p>", "text/html; charset=ISO-8859-1", "cp1252"),
    ],
)
def test_page_charset_order(content: bytes, content_type: str | None, expected: str) -> None:
    assert page_charset(content, content_type) == expected


def test_as_utf8_converts_and_drops_bom_and_nul() -> None:
    assert as_utf8(codecs.BOM_UTF8 + "Café\x00".encode(), "utf-8") == "Café".encode()
    assert as_utf8("Café ’".encode("cp1252"), "cp1252") == "Café ’".encode()
    assert as_utf8(b"ok \xff", "utf-8") == "ok \ufffd".encode()


def test_with_charset_sets_the_parameter() -> None:
    assert with_charset("text/html; charset=iso-8859-2", "utf-8") == "text/html; charset=utf-8"
    assert with_charset("TEXT/PLAIN", "utf-8") == "text/plain; charset=utf-8"
    assert with_charset(None, "utf-8") == "text/html; charset=utf-8"


# canonical_link


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        ('<link rel="canonical" href="https://g.example/news/a">', "https://g.example/news/a"),
        ("<link href='/news/b' rel='canonical'>", "https://g.example/news/b"),
        ('<LINK REL="Canonical" HREF=/news/c>', "https://g.example/news/c"),
        ('<link rel="alternate canonical" href="/news/d">', "https://g.example/news/d"),
        ('<link rel="amphtml" href="/amp/a"><link rel="stylesheet" href="/s.css">', None),
        ("", None),
    ],
)
def test_canonical_link_from_head(head: str, expected: str | None) -> None:
    page = f"<html><head>{head}</head><body><p>x</p></body></html>".encode()
    assert canonical_link(page, "utf-8", "https://g.example/story?id=1") == expected


def test_canonical_link_in_body_is_ignored() -> None:
    page = b'<html><head></head><body><link rel="canonical" href="/spam"></body></html>'
    assert canonical_link(page, "utf-8", "https://g.example/a") is None


# guard_url


@pytest.fixture
def no_private_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    """The deployment allows no private host (the tests' default allows 127.0.0.1)."""
    monkeypatch.setenv("NEWSFLOW_PRIVATE_HOSTS", "")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x", "http://localhost:8080/x", "http://10.1.2.3/", "http://192.168.0.1/",
        "http://172.16.0.1/", "http://169.254.169.254/latest/meta-data/", "http://[::1]/",
        "http://0.0.0.0/", "http://224.0.0.1/", "http://[fe80::1]/", "http://100.64.0.1/",
    ],
)
def test_non_public_addresses_are_refused(url: str, no_private_hosts: None) -> None:
    with pytest.raises(FetchError, match="^refused: .* resolves to non-public address "):
        guard_url(url)


# Each IPv6 form that carries an IPv4 address, as bytes around the 4 bytes of the IPv4 one.
EMBEDDINGS = {
    "IPv4-mapped": lambda v4: bytes(10) + b"\xff\xff" + v4,
    "IPv4-compatible": lambda v4: bytes(12) + v4,
    "6to4 2002::/16": lambda v4: b"\x20\x02" + v4 + bytes(9) + b"\x01",
    "NAT64 64:ff9b::/96": lambda v4: bytes.fromhex("0064ff9b") + bytes(8) + v4,
    # Local-use NAT64 (RFC 8215): the IPv4 address sits where the network's prefix length
    # (48 to 96 bits) puts it (RFC 6052), octet 8 always skipped.
    "NAT64 64:ff9b:1::/48, /96 layout": lambda v4: bytes.fromhex("0064ff9b0001") + bytes(6) + v4,
    "NAT64 64:ff9b:1::/48, /48 layout":
        lambda v4: bytes.fromhex("0064ff9b0001") + v4[:2] + b"\0" + v4[2:] + bytes(5),
}


def _embed(form: str, ipv4: str) -> str:
    return str(ipaddress.IPv6Address(EMBEDDINGS[form](ipaddress.IPv4Address(ipv4).packed)))


@pytest.mark.parametrize("form", list(EMBEDDINGS))
@pytest.mark.parametrize("private", ["127.0.0.1", "10.0.0.7", "169.254.169.254", "192.168.1.1"])
def test_ipv6_forms_are_judged_by_the_ipv4_address_they_embed(
    form: str, private: str, no_private_hosts: None
) -> None:
    address = _embed(form, private)
    assert private in [str(a) for a in fetching.embedded_ipv4(ipaddress.IPv6Address(address))]
    with pytest.raises(FetchError) as refused:
        guard_url(f"http://[{address}]/")
    assert str(refused.value).startswith(f"refused: {address} resolves to non-public address ")
    assert f"(embedded in {address})" in str(refused.value)


@pytest.mark.parametrize("form", [f for f in EMBEDDINGS if "64:ff9b:1::" not in f])
def test_ipv6_forms_around_a_public_ipv4_address_pass(form: str, no_private_hosts: None) -> None:
    # Local-use NAT64 addresses are judged at every layout and pass only when all are public.
    assert guard_url(f"http://[{_embed(form, '93.184.216.34')}]/x") is None


def test_site_local_ipv6_is_refused(no_private_hosts: None) -> None:
    with pytest.raises(FetchError, match="^refused: fec0::1 resolves to site-local address"):
        guard_url("http://[fec0::1]/")
    with pytest.raises(FetchError, match="site-local"):
        guard_url("http://[fefe:1::2]/")


def test_the_deployment_allows_private_hosts_by_network_or_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NEWSFLOW_PRIVATE_HOSTS", "127.0.0.1, 10.1.0.0/16 intranet.example")
    guard_url("http://127.0.0.1:8765/feed.xml")
    guard_url("http://[::ffff:127.0.0.1]/")  # the embedded address is the allowed one
    guard_url("http://10.1.200.3/")
    guard_url("http://intranet.example/")  # not even resolved
    for url in ("http://127.0.0.2/", "http://10.2.0.1/", "http://169.254.169.254/"):
        with pytest.raises(FetchError, match="NEWSFLOW_PRIVATE_HOSTS"):
            guard_url(url)


def test_a_private_host_may_be_allowed_on_one_port_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSFLOW_PRIVATE_HOSTS", "127.0.0.1:8765 [::1]:8765 intranet.example:8080")
    guard_url("http://127.0.0.1:8765/feed.xml")
    guard_url("http://[::1]:8765/")
    guard_url("http://intranet.example:8080/")
    for url in ("http://127.0.0.1:8080/api/v2/", "http://127.0.0.1/", "http://[::1]:5432/",
                "https://127.0.0.1/"):
        with pytest.raises(FetchError, match="^refused: "):
            guard_url(url)
    with pytest.raises(FetchError, match="^cannot resolve intranet.example"):
        guard_url("http://intranet.example/")  # another port: judged by its address


def test_a_bad_private_hosts_setting_names_the_entry_not_its_text() -> None:
    with pytest.raises(ValueError, match="^NEWSFLOW_PRIVATE_HOSTS: entry 2 is no host name"):
        fetching.parse_private_hosts("127.0.0.1, sec/ret:word")
    with pytest.raises(ValueError, match="^NEWSFLOW_PRIVATE_HOSTS: entry 1 is no host name"):
        fetching.parse_private_hosts("127.0.0.1:99999")


def test_public_addresses_pass(no_private_hosts: None) -> None:
    # Passing means not raising FetchError.
    assert guard_url("http://93.184.216.34/news") is None
    assert guard_url("https://[2606:4700::1111]/") is None


@pytest.mark.parametrize("url", ["ftp://g.example/a", "file:///etc/passwd", "javascript:x()",
                                 "http:///nohost"])
def test_non_http_urls_are_refused_even_when_private_is_allowed(url: str) -> None:
    with pytest.raises(FetchError, match="^not an http\\(s\\) URL: "):
        guard_url(url)


# Retry-After, gunzip_capped, LocalLimiter


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("120", 120), (" 5 ", 5), (None, None), ("", None), ("soon", None), ("-3", None)],
)
def test_retry_after_seconds(value: str | None, seconds: float | None) -> None:
    assert _retry_after(value) == seconds


def test_retry_after_http_date() -> None:
    when = formatdate(time.time() + 30, usegmt=True)
    assert 25 <= _retry_after(when) <= 31
    assert _retry_after(formatdate(time.time() - 30, usegmt=True)) == 0


def test_gunzip_capped() -> None:
    assert gunzip_capped(b"<urlset/>", 100, "s.xml") == b"<urlset/>"
    assert gunzip_capped(gzip.compress(b"x" * 100), 100, "s.xml.gz") == b"x" * 100
    with pytest.raises(FetchError, match="^s.xml.gz larger than 99 bytes uncompressed$"):
        gunzip_capped(gzip.compress(b"x" * 100), 99, "s.xml.gz")
    with pytest.raises(FetchError, match="^cannot gunzip s.xml.gz: "):
        gunzip_capped(gzip.compress(b"x" * 100)[:20], 1000, "s.xml.gz")


def test_local_limiter_spaces_one_host_not_two() -> None:
    limiter = LocalLimiter()
    # An interval long beside a stall of a busy machine: waiting it or not is unmistakable.
    started = time.monotonic()
    limiter("a.example", 1.0)
    limiter("b.example", 1.0)
    assert time.monotonic() - started < 0.5
    limiter("a.example", 1.0)
    assert time.monotonic() - started >= 0.99


def test_fetch_threads_follow_the_hosts_up_to_the_ceiling() -> None:
    from newsflow.crawl import fetch_threads

    assert [fetch_threads(hosts, 64) for hosts in (0, 1, 40, 64, 200)] == [1, 1, 40, 64, 64]
    assert fetch_threads(40, 4) == 4
