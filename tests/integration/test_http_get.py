"""Fetcher.get against real HTTP servers on loopback addresses: each fetching behaviour."""

import gzip
import os
import socket
import threading
import time

import pytest

from newsflow import fetching, settings
from newsflow.fetching import Attempt, FetchError, RobotsVerdict, check_article_response
from newsflow.httpclient import Fetcher
from tests.conftest import DEMO, SPACING_JITTER, LocalSite, Reply

ARTICLE = DEMO / "site" / "articles" / "mill-street-bridge-closure.html"
HTML = {"Content-Type": "text/html; charset=utf-8"}


@pytest.fixture
def attempts() -> list[Attempt]:
    return []


@pytest.fixture
def fetcher(attempts: list[Attempt]) -> Fetcher:
    """A fetcher without robots.txt, logging attempts to a list."""
    return Fetcher(on_attempt=attempts.append)


def test_get_returns_status_type_and_content(local_site: LocalSite, fetcher: Fetcher) -> None:
    (local_site.root / "story.html").write_bytes(ARTICLE.read_bytes())
    result = fetcher.get(local_site.url("story.html"))
    assert result.error is None
    assert result.status == 200
    assert result.content_type == "text/html"
    assert result.content == ARTICLE.read_bytes()
    assert result.url == result.final_url == local_site.url("story.html")
    assert result.elapsed_ms >= 0
    assert local_site.requests == ["/story.html"]


def test_404_is_a_status_not_an_error_and_is_not_retried(
    local_site: LocalSite, fetcher: Fetcher, attempts: list[Attempt]
) -> None:
    result = fetcher.get(local_site.url("missing.html"))
    assert result.error is None
    assert result.status == 404
    assert local_site.requests == ["/missing.html"]
    assert [(a.attempt, a.status) for a in attempts] == [(1, 404)]
    with pytest.raises(FetchError, match="^HTTP 404$"):
        check_article_response(result)


def test_redirect_chain_is_followed_and_every_hop_logged(
    local_site: LocalSite, fetcher: Fetcher, attempts: list[Attempt]
) -> None:
    local_site.route("old", Reply(301, headers={"Location": "/older"}))
    local_site.route("older", Reply(302, headers={"Location": local_site.url("final")}))
    local_site.route("final", Reply(200, b"<html><body>here</body></html>", HTML))
    result = fetcher.get(local_site.url("old"))
    assert result.status == 200
    assert result.final_url == local_site.url("final")
    assert result.redirects == (local_site.url("old"), local_site.url("older"))
    assert local_site.requests == ["/old", "/older", "/final"]
    assert [(a.status, a.location) for a in attempts] == [
        (301, local_site.url("older")), (302, local_site.url("final")), (200, None),
    ]


def test_redirect_loop_is_detected(local_site: LocalSite, fetcher: Fetcher) -> None:
    local_site.route("a", Reply(301, headers={"Location": "/b"}))
    local_site.route("b", Reply(301, headers={"Location": "/a"}))
    result = fetcher.get(local_site.url("a"))
    assert result.error == f"redirect loop: {local_site.url('b')} -> {local_site.url('a')}"
    assert local_site.requests == ["/a", "/b"]


def test_redirect_chain_longer_than_the_bound_is_cut(
    local_site: LocalSite, fetcher: Fetcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "MAX_REDIRECTS", 3)
    for n in range(6):
        local_site.route(f"hop{n}", Reply(307, headers={"Location": f"/hop{n + 1}"}))
    result = fetcher.get(local_site.url("hop0"))
    assert result.error == "too many redirects (more than 3)"
    assert local_site.requests == ["/hop0", "/hop1", "/hop2", "/hop3"]


def test_redirect_to_a_private_address_the_deployment_did_not_allow_is_refused(
    local_site: LocalSite, fetcher: Fetcher
) -> None:
    # 127.0.0.1 is allowed (NEWSFLOW_PRIVATE_HOSTS in tests/conftest.py); 127.0.0.2 is not.
    local_site.route("feed", Reply(301, headers={"Location": "http://127.0.0.2:1/x"}))
    result = fetcher.get(local_site.url("feed"))
    assert result.error == ("refused: 127.0.0.2 resolves to non-public address 127.0.0.2"
                            " (a deployment allows it with NEWSFLOW_PRIVATE_HOSTS)")
    assert local_site.requests == ["/feed"]


def test_private_address_is_refused_before_any_request(
    local_site: LocalSite, fetcher: Fetcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSFLOW_PRIVATE_HOSTS", "")
    result = fetcher.get(local_site.url("story.html"))
    assert result.error is not None and result.error.startswith("refused: ")
    assert local_site.requests == []



def test_dns_answer_that_changes_after_the_check_is_refused_at_connect(
    local_site: LocalSite, fetcher: Fetcher, attempts: list[Attempt],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # DNS rebinding: the name resolves to a public address when checked, then to
    # loopback when connecting. The connected peer is checked too.
    monkeypatch.setenv("NEWSFLOW_PRIVATE_HOSTS", "")
    monkeypatch.setattr(fetching, "_resolve", lambda host, port: ["93.184.216.34"])
    result = fetcher.get(local_site.url("story.html"))
    assert result.error == (
        "refused: 127.0.0.1 connected to non-public address 127.0.0.1"
        " (a deployment allows it with NEWSFLOW_PRIVATE_HOSTS)"
    )
    assert local_site.requests == []
    assert len(attempts) == 1  # refused, not retried as a connection failure

def test_429_is_retried_after_retry_after_seconds(
    local_site: LocalSite, fetcher: Fetcher, attempts: list[Attempt],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "RETRY_BACKOFF", 0.01)
    local_site.route("busy", [
        Reply(429, b"slow down", {"Retry-After": "1"}),
        Reply(200, b"<html><body>ok</body></html>", HTML),
    ])
    result = fetcher.get(local_site.url("busy"))
    assert result.status == 200
    first, second = local_site.hits("busy")
    assert second - first >= 0.95  # Retry-After, not the 0.01 s backoff
    assert [(a.attempt, a.status) for a in attempts] == [(1, 429), (2, 200)]


def test_retry_after_is_capped(
    local_site: LocalSite, fetcher: Fetcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "MAX_RETRY_AFTER", 0.2)
    local_site.route("busy", [Reply(503, headers={"Retry-After": "3600"}), Reply(200, b"x")])
    started = time.monotonic()
    result = fetcher.get(local_site.url("busy"))
    assert result.status == 200
    assert time.monotonic() - started < 2
    first, second = local_site.hits("busy")
    assert second - first >= 0.19


def test_500_then_200_is_retried_with_exponential_backoff(
    local_site: LocalSite, fetcher: Fetcher, attempts: list[Attempt],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "RETRY_BACKOFF", 0.1)
    local_site.route("flaky", [Reply(500), Reply(502), Reply(200, b"<html>fine</html>", HTML)])
    result = fetcher.get(local_site.url("flaky"))
    assert result.status == 200 and result.content == b"<html>fine</html>"
    times = local_site.hits("flaky")
    assert times[1] - times[0] >= 0.1
    assert times[2] - times[1] >= 0.2  # doubled
    assert [a.status for a in attempts] == [500, 502, 200]


def test_retries_give_up_after_the_configured_count(
    local_site: LocalSite, fetcher: Fetcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "FETCH_RETRIES", 2)
    local_site.route("down", Reply(503))
    result = fetcher.get(local_site.url("down"))
    assert result.status == 503
    assert len(local_site.hits("down")) == 3


@pytest.mark.parametrize("status", [400, 403, 410, 451])
def test_other_4xx_are_not_retried(
    local_site: LocalSite, fetcher: Fetcher, status: int
) -> None:
    local_site.route("no", Reply(status))
    assert fetcher.get(local_site.url("no")).status == status
    assert len(local_site.hits("no")) == 1


def test_connection_refused_is_retried_then_an_error(
    fetcher: Fetcher, attempts: list[Attempt]
) -> None:
    # A port bound but not listening refuses connections, and stays this test's while it
    # runs: a port closed before the fetch could be taken by another process meanwhile.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        result = fetcher.get(f"http://127.0.0.1:{port}/story.html")
    assert result.status is None
    assert result.content == b""
    assert result.error is not None and result.error.startswith("ConnectionError: ")
    assert [a.attempt for a in attempts] == [1, 2, 3, 4]
    with pytest.raises(FetchError, match="^ConnectionError: "):
        check_article_response(result)


def test_body_larger_than_cap_is_an_error_with_no_content(
    local_site: LocalSite, fetcher: Fetcher
) -> None:
    (local_site.root / "big.html").write_bytes(b"x" * 5000)
    result = fetcher.get(local_site.url("big.html"), max_bytes=4999)
    assert result.status == 200
    assert result.content == b""
    assert result.error == "body larger than 4999 bytes"
    with pytest.raises(FetchError, match="^body larger than 4999 bytes$"):
        check_article_response(result)


def test_body_exactly_at_cap_is_accepted(local_site: LocalSite, fetcher: Fetcher) -> None:
    (local_site.root / "big.html").write_bytes(b"x" * 5000)
    result = fetcher.get(local_site.url("big.html"), max_bytes=5000)
    assert result.error is None
    assert result.content == b"x" * 5000


def test_gzip_bomb_is_stopped_at_the_cap_after_decoding(
    local_site: LocalSite, fetcher: Fetcher
) -> None:
    bomb = gzip.compress(b"\0" * 20_000_000)
    local_site.route("bomb.html", Reply(200, bomb, {**HTML, "Content-Encoding": "gzip"}))
    result = fetcher.get(local_site.url("bomb.html"), max_bytes=1_000_000)
    assert result.error == "body larger than 1000000 bytes"


def test_slow_body_is_cut_at_the_page_time_limit(
    local_site: LocalSite, fetcher: Fetcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "PAGE_TIME_LIMIT", 0.5)
    # 40 KB at 1 KB per 0.05 s: two seconds in all, each gap far below the read timeout.
    local_site.route("slow.html", Reply(200, b"y" * 40_000, HTML, chunk_delay=0.05))
    started = time.monotonic()
    result = fetcher.get(local_site.url("slow.html"))
    assert time.monotonic() - started < 1.5
    assert result.error == "time limit of 0.5 s per page exceeded"
    assert result.content == b""


def test_pdf_is_rejected_by_its_content_type_without_reading_it(
    local_site: LocalSite, fetcher: Fetcher, attempts: list[Attempt]
) -> None:
    (local_site.root / "report.pdf").write_bytes(b"%PDF-1.7\n" + b"0" * 100_000)
    result = fetcher.get(
        local_site.url("report.pdf"), accept=("text/html", "text/plain")
    )
    assert result.status == 200
    assert result.content == b""
    assert attempts[0].size == 0
    with pytest.raises(FetchError) as caught:
        check_article_response(result)
    assert str(caught.value) == "not an article page: content type application/pdf"


def test_empty_page_from_server_is_rejected(local_site: LocalSite, fetcher: Fetcher) -> None:
    (local_site.root / "empty.html").write_bytes(b"")
    result = fetcher.get(local_site.url("empty.html"))
    assert result.status == 200
    with pytest.raises(FetchError, match="^empty response body$"):
        check_article_response(result)


def test_user_agent_sent_names_newsflow(local_site: LocalSite, fetcher: Fetcher) -> None:
    (local_site.root / "story.html").write_bytes(ARTICLE.read_bytes())
    fetcher.get(local_site.url("story.html"))
    user_agent = local_site.headers[0]["User-Agent"]
    assert user_agent == settings.USER_AGENT
    assert user_agent.startswith("newsflow/")
    assert settings.CONTACT in user_agent


def test_conditional_get_sends_validators_and_reports_304(
    local_site: LocalSite, fetcher: Fetcher, attempts: list[Attempt]
) -> None:
    validators = {"ETag": '"v1"', "Last-Modified": "Tue, 24 Nov 2026 10:00:00 GMT"}
    local_site.route("feed.xml", lambda headers: (
        Reply(304) if headers.get("If-None-Match") == '"v1"' else Reply(200, b"<rss/>", validators)
    ))
    first = fetcher.get(local_site.url("feed.xml"))
    assert (first.status, first.etag, first.last_modified) == (
        200, '"v1"', "Tue, 24 Nov 2026 10:00:00 GMT"
    )
    second = fetcher.get(
        local_site.url("feed.xml"),
        conditional=(first.etag, first.last_modified),
    )
    assert second.not_modified and second.content == b""
    assert local_site.headers[1]["If-None-Match"] == '"v1"'
    assert local_site.headers[1]["If-Modified-Since"] == "Tue, 24 Nov 2026 10:00:00 GMT"
    assert [a.not_modified for a in attempts] == [False, True]


def test_a_served_file_rewritten_within_the_second_is_fetched_anew(
    local_site: LocalSite, fetcher: Fetcher
) -> None:
    # The test servers' own promise (tests/conftest.py): a file a test rewrites is served
    # anew however soon after the last fetch, an unchanged one is answered 304. Last-Modified
    # alone cannot tell (whole seconds), so the mtime is pinned to one second here.
    feed = local_site.root / "feed.xml"
    second = 1_790_000_000

    def write(content: bytes) -> None:
        feed.write_bytes(content)
        os.utime(feed, (second + 0.1, second + 0.1))

    write(b"<rss>one</rss>")
    first = fetcher.get(local_site.url("feed.xml"))
    assert first.status == 200 and first.etag and first.last_modified
    validators = (first.etag, first.last_modified)
    assert fetcher.get(local_site.url("feed.xml"), conditional=validators).not_modified
    write(b"<rss>two</rss>")  # same size, same second
    again = fetcher.get(local_site.url("feed.xml"), conditional=validators)
    assert (again.status, again.content) == (200, b"<rss>two</rss>")
    # A client that kept only Last-Modified gets what the second can say: unchanged.
    assert fetcher.get(local_site.url("feed.xml"),
                       conditional=(None, first.last_modified)).not_modified


def test_robots_verdict_is_obeyed_and_crawl_delay_spaces_requests(local_site: LocalSite) -> None:
    def robots(url: str) -> RobotsVerdict:
        if "/private/" in url:
            return RobotsVerdict(False, 0.3, "disallowed by robots.txt")
        return RobotsVerdict(True, 0.3)

    fetcher = Fetcher(robots=robots)
    for name in ("a", "b"):
        local_site.route(name, Reply(200, b"<html>x</html>", HTML))
    assert fetcher.get(local_site.url("private/x")).error == (
        "disallowed by robots.txt"
    )
    fetcher.get(local_site.url("a"))
    fetcher.get(local_site.url("b"))
    assert local_site.requests == ["/a", "/b"]
    assert local_site.times[1] - local_site.times[0] >= 0.3 - SPACING_JITTER


def test_host_interval_holds_across_threads_of_one_fetcher(
    local_site: LocalSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "HOST_INTERVAL", 0.2)
    fetcher = Fetcher()
    for n in range(4):
        local_site.route(f"p{n}", Reply(200, b"<html>x</html>", HTML))
    threads = [
        threading.Thread(target=fetcher.get, args=(local_site.url(f"p{n}"),))
        for n in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    times = sorted(local_site.times)
    assert len(times) == 4
    assert min(b - a for a, b in zip(times, times[1:], strict=False)) >= 0.2 - SPACING_JITTER


def test_page_without_content_type_is_read_as_html(
    local_site: LocalSite, fetcher: Fetcher
) -> None:
    local_site.route("bare", Reply(200, b"<html><body><p>no type</p></body></html>"))
    result = fetcher.get(local_site.url("bare"),
                         accept=("text/html", "text/plain"))
    assert result.content_type is None
    assert result.content == b"<html><body><p>no type</p></body></html>"
    check_article_response(result)
