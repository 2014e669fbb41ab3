"""Hostile HTTP servers: bad statuses, timeouts, resets, drips, floods and redirect traps."""

from pathlib import Path

import pytest

from newsflow import settings
from tests.faults import hostile as h
from tests.faults.conftest import article, outcomes, run_scenario, url_list, write_sources


def test_http_statuses(news_conn: object, hostile: h.HostileServer, tmp_path: Path) -> None:
    urls = {
        "ok": hostile.route("ok", h.reply(body=article("Fine"))),
        "404": hostile.route("gone", h.reply(404, b"<h1>Not found</h1>")),
        "410": hostile.route("removed", h.reply(410, b"<h1>Gone</h1>")),
        "429": hostile.route("busy", [
            h.reply(429, b"slow down", "text/plain", {"Retry-After": "1"}),
            h.reply(body=article("After the wait")),
        ]),
        "500": hostile.route("broken", h.reply(500, b"<h1>Oops</h1>")),
        "503": hostile.route("maintenance", [
            h.reply(503, b"back soon", "text/plain", {"Retry-After": "0"}),
            h.reply(body=article("Back again")),
        ]),
        "503-always": hostile.route("down", h.reply(503, b"down", "text/plain")),
    }
    sources = write_sources(tmp_path, url_list(tmp_path, "statuses", list(urls.values())))
    entries = run_scenario(news_conn, "HTTP 404/410/429/500/503", sources, set(urls.values()))
    assert outcomes(entries) == {
        urls["ok"]: "article", urls["404"]: "fetch: HTTP 404", urls["410"]: "fetch: HTTP 410",
        urls["429"]: "article", urls["500"]: "fetch: HTTP 500", urls["503"]: "article",
        urls["503-always"]: "fetch: HTTP 503",
    }
    # Client errors are final; 429 and 5xx are retried, up to the configured count.
    assert [hostile.count(p) for p in ("gone", "removed", "busy", "maintenance")] == [1, 1, 2, 2]
    assert hostile.count("broken") == hostile.count("down") == settings.FETCH_RETRIES + 1


@pytest.fixture
def quick_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Timeouts of a second or two instead of the production 30 s and 120 s."""
    monkeypatch.setattr(settings, "READ_TIMEOUT", 0.5)
    monkeypatch.setattr(settings, "PAGE_TIME_LIMIT", 2.5)


def test_http_transport(news_conn: object, hostile: h.HostileServer, tmp_path: Path,
                        quick_timeouts: None) -> None:
    body = article("Dripped slowly but in time")
    urls = {
        "ok": hostile.route("ok", h.reply(body=article("Fine"))),
        "timeout": hostile.route("silent", h.hang(3)),
        "reset": hostile.route("reset", h.reset_mid_body(article("Cut off"), 300)),
        "drip-over": hostile.route("drip-slow", h.drip(article("Too slow"), 0.2)),
        "drip-under": hostile.route("drip-ok", h.drip(body, 0.002, 64)),
        "loop": hostile.route("loop-a", h.redirect(hostile.url("loop-b"))),
        "chain": hostile.route("hop-0", h.redirect(hostile.url("hop-1"))),
    }
    hostile.route("loop-b", h.redirect(hostile.url("loop-a")))
    for n in range(1, 15):
        hostile.route(f"hop-{n}", h.redirect(hostile.url(f"hop-{n + 1}")))
    sources = write_sources(tmp_path, url_list(tmp_path, "transport", list(urls.values())))
    entries = run_scenario(news_conn, "timeouts, resets, drips, redirect traps", sources,
                           set(urls.values()))
    got = outcomes(entries)
    assert got[urls["ok"]] == got[urls["drip-under"]] == "article"
    assert got[urls["timeout"]].startswith("fetch: ReadTimeout: ")
    assert got[urls["reset"]].startswith("fetch: ProtocolError: ")
    assert "Connection reset by peer" in got[urls["reset"]]
    assert got[urls["drip-over"]] == "fetch: time limit of 2.5 s per page exceeded"
    assert got[urls["loop"]] == (
        f"fetch: redirect loop: {hostile.url('loop-b')} -> {hostile.url('loop-a')}")
    assert got[urls["chain"]] == "fetch: too many redirects (more than 10)"
    assert hostile.count("hop-11") == 0


def test_http_floods(news_conn: object, hostile: h.HostileServer, tmp_path: Path) -> None:
    urls = {
        "ok": hostile.route("ok", h.reply(body=article("Fine"))),
        "50mb": hostile.route("huge", h.huge(50 * 1024 * 1024)),
        "endless": hostile.route("endless", h.endless_chunked()),
    }
    sources = write_sources(tmp_path, url_list(tmp_path, "floods", list(urls.values())))
    entries = run_scenario(news_conn, "50 MB body, endless chunked body", sources,
                           set(urls.values()))
    cap = f"fetch: body larger than {settings.MAX_BODY_BYTES} bytes"
    assert outcomes(entries) == {urls["ok"]: "article", urls["50mb"]: cap, urls["endless"]: cap}
    # Over the cap is not transient: one request each.
    assert hostile.count("huge") == hostile.count("endless") == 1


def test_redirect_to_private_address(news_conn: object, hostile: h.HostileServer,
                                     tmp_path: Path) -> None:
    ok = hostile.route("ok", h.reply(body=article("Fine")))
    sitemap = hostile.route("sitemap.xml", h.redirect("http://127.0.0.2:1/sitemap.xml"))
    feed = hostile.route("feed.xml", h.redirect("http://169.254.169.254/latest/meta-data/"))
    sources = write_sources(tmp_path, url_list(tmp_path, "good", [ok]) + (
        f"  - {{name: sitemap, kind: sitemap, url: '{sitemap}'}}\n"
        f"  - {{name: feed, kind: feed, url: '{feed}'}}\n"
    ))
    entries = run_scenario(news_conn, "redirect to a private address", sources,
                           {ok, sitemap, feed})
    why = " (a deployment allows it with NEWSFLOW_PRIVATE_HOSTS)"
    assert outcomes(entries) == {
        ok: "article",
        sitemap: "discover: sitemap unreachable: refused: 127.0.0.2 resolves to non-public"
                 " address 127.0.0.2" + why,
        feed: "discover: feed unreachable: refused: 169.254.169.254 resolves to non-public"
              " address 169.254.169.254" + why,
    }
