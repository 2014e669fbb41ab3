"""http_get and check_article_response against a real HTTP server on 127.0.0.1."""

import socket

import pytest

from newsflow import settings
from newsflow.fetching import FetchError, check_article_response, http_get, make_session
from tests.conftest import DEMO, LocalSite

ARTICLE = DEMO / "site" / "articles" / "mill-street-bridge-closure.html"


def test_http_get_returns_status_type_and_content(local_site: LocalSite) -> None:
    (local_site.root / "story.html").write_bytes(ARTICLE.read_bytes())
    result = http_get(make_session(), local_site.url("story.html"))
    assert result.error is None
    assert result.status == 200
    assert result.content_type == "text/html"
    assert result.content == ARTICLE.read_bytes()
    assert result.url == local_site.url("story.html")
    assert result.final_url == local_site.url("story.html")
    assert result.elapsed_ms >= 0
    assert local_site.requests == ["/story.html"]


def test_http_get_reports_404_as_status_not_error(local_site: LocalSite) -> None:
    result = http_get(make_session(), local_site.url("missing.html"))
    assert result.error is None
    assert result.status == 404
    assert local_site.requests == ["/missing.html"]
    with pytest.raises(FetchError, match="^HTTP 404$"):
        check_article_response(result)


def test_http_get_follows_redirects_to_final_url(local_site: LocalSite) -> None:
    (local_site.root / "articles").mkdir()
    (local_site.root / "articles" / "index.html").write_bytes(ARTICLE.read_bytes())
    result = http_get(make_session(), local_site.url("articles"))
    assert result.status == 200
    assert result.final_url == local_site.url("articles/")
    assert result.content == ARTICLE.read_bytes()
    assert local_site.requests == ["/articles", "/articles/"]


def test_body_larger_than_cap_is_an_error_with_no_content(local_site: LocalSite) -> None:
    (local_site.root / "big.html").write_bytes(b"x" * 5000)
    result = http_get(make_session(), local_site.url("big.html"), max_bytes=4999)
    assert result.status == 200
    assert result.content == b""
    assert result.error == "body larger than 4999 bytes"
    with pytest.raises(FetchError, match="^body larger than 4999 bytes$"):
        check_article_response(result)


def test_body_exactly_at_cap_is_accepted(local_site: LocalSite) -> None:
    (local_site.root / "big.html").write_bytes(b"x" * 5000)
    result = http_get(make_session(), local_site.url("big.html"), max_bytes=5000)
    assert result.error is None
    assert result.content == b"x" * 5000


def test_connection_refused_comes_back_as_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = http_get(make_session(), f"http://127.0.0.1:{port}/story.html")
    assert result.status is None
    assert result.final_url is None
    assert result.content == b""
    assert result.error is not None
    assert result.error.startswith("ConnectionError: ")
    with pytest.raises(FetchError, match="^ConnectionError: "):
        check_article_response(result)


def test_pdf_from_server_is_not_an_article(local_site: LocalSite) -> None:
    (local_site.root / "report.pdf").write_bytes(b"%PDF-1.7\n%fake but non-empty\n")
    result = http_get(make_session(), local_site.url("report.pdf"))
    assert result.status == 200
    assert result.content_type == "application/pdf"
    with pytest.raises(FetchError) as caught:
        check_article_response(result)
    assert str(caught.value) == "not an article page: content type application/pdf"


def test_empty_page_from_server_is_rejected(local_site: LocalSite) -> None:
    (local_site.root / "empty.html").write_bytes(b"")
    result = http_get(make_session(), local_site.url("empty.html"))
    assert result.status == 200
    assert result.content == b""
    with pytest.raises(FetchError, match="^empty response body$"):
        check_article_response(result)


def test_user_agent_sent_names_newsflow(local_site: LocalSite) -> None:
    (local_site.root / "story.html").write_bytes(ARTICLE.read_bytes())
    result = http_get(make_session(), local_site.url("story.html"))
    assert result.status == 200
    assert len(local_site.headers) == 1
    user_agent = local_site.headers[0]["User-Agent"]
    assert user_agent == settings.USER_AGENT
    assert user_agent.startswith("newsflow/")
    assert settings.CONTACT in user_agent
