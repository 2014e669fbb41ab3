"""Discovery from all four source kinds and polite fetching, on real servers and PostgreSQL."""

import gzip
import os
import shutil
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newsflow import discovery, fetch_stage, item_stage, settings, source_state, storage
from newsflow.sourcesets import SourceConfigError
from tests.conftest import (
    DEMO,
    DEMO_URLS,
    SPACING_JITTER,
    LocalSite,
    Reply,
    demo_drop,
    serve_site,
)
from tests.integration.conftest import rows, run_batch

NOV_23 = datetime(2026, 11, 23, 4, 30, tzinfo=UTC)
NOV_24 = NOV_23 + timedelta(days=1)
NOV_25 = NOV_24 + timedelta(days=1)
HTML = {"Content-Type": "text/html; charset=utf-8"}
PARAGRAPH = (
    "The council met on Tuesday evening and voted to repair the harbour wall before the "
    "winter storms, after engineers warned that the old stones had shifted by several "
    "centimetres since the spring survey and could give way in a heavy sea. "
)


def page(title: str, extra_head: str = "") -> bytes:
    """A small article page long enough to pass the clean stage."""
    return (
        f"<!doctype html><html><head><title>{title}</title>{extra_head}</head><body>"
        f"<article><h1>{title}</h1><p>{PARAGRAPH}</p><p>{PARAGRAPH}</p></article>"
        "</body></html>"
    ).encode()


def sources_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n" + body)
    return path


def staged(conn: object, batch_key: str) -> list[str]:
    return [r[0] for r in rows(conn, f"SELECT input FROM batch_items WHERE batch_key = "
                                     f"'{batch_key}' ORDER BY input")]


@pytest.fixture
def second_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalSite]:
    """Another server, on another loopback address (another host for politeness), which
    the deployment setting allows too."""
    monkeypatch.setenv("NEWSFLOW_PRIVATE_HOSTS", "127.0.0.1, 127.0.0.2")
    site, server = serve_site(tmp_path / "site2", "127.0.0.2")
    yield site
    server.shutdown()
    server.server_close()


# The bundled demo: all four kinds in one run


def _demo_copy(site: LocalSite, tmp_path: Path) -> Path:
    """The demo site served by ``site`` (its URLs rewritten to it), and its sources file."""
    shutil.copytree(DEMO / "site", site.root, dirs_exist_ok=True)
    here = f"{site.host}:{site.port}"
    for name in ("sitemap.xml", "sitemap-news.xml", "robots.txt"):
        path = site.root / name
        path.write_text(path.read_text().replace("127.0.0.1:8765", here))
    archive = site.root / "sitemap-archive.xml.gz"
    archive.write_bytes(gzip.compress(
        gzip.decompress(archive.read_bytes()).replace(b"127.0.0.1:8765", here.encode())
    ))
    (tmp_path / "urls.txt").write_text(
        (DEMO_URLS).read_text().replace("127.0.0.1:8765", here)
        + "not a url at all\n"
    )
    return sources_file(tmp_path, (
        # The demo site mirrors gazette.example: its canonical links are believed.
        f"  - {{name: drop, kind: folder, path: '{demo_drop(tmp_path)}', trust_canonical: true}}\n"
        f"  - {{name: feed, kind: feed, url: '{site.url('feed.xml')}', trust_canonical: true}}\n"
        f"  - {{name: sitemap, kind: sitemap, url: '{site.url('sitemap.xml')}',"
        " trust_canonical: true}\n"
        "  - {name: list, kind: urls, path: urls.txt, trust_canonical: true}\n"
    ))


def test_demo_run_discovers_from_all_four_kinds_and_loads_each_article_once(
    news_conn: object, local_site: LocalSite, tmp_path: Path
) -> None:
    sources = _demo_copy(local_site, tmp_path)
    summary = run_batch(news_conn, "demo", sources)

    assert set(summary) == {"drop", "feed", "sitemap", "list"}
    # 4 dropped files + 3 feed articles + the ferry story only the sitemap and list have;
    # each article once, however many of the feed, sitemap and list reached it.
    assert rows(news_conn, "SELECT count(*), count(DISTINCT article_key) FROM articles") == [
        (8, 8)
    ]
    assert rows(news_conn, "SELECT count(*) FROM articles WHERE article_key LIKE"
                           " '%mill-street-bridge-closure'") == [(1,)]
    assert rows(news_conn, "SELECT source_name, stage, reason FROM rejects ORDER BY 1, 3") == [
        ("list", "fetch", "disallowed by robots.txt"),
        ("list", "discover", "line 8: not an absolute http(s) URL"),
    ]
    # The ledger: every staged input is an article or a reject.
    assert rows(news_conn, "SELECT DISTINCT stage FROM batch_items ORDER BY 1") == [
        ("loaded",), ("rejected",)
    ]
    # The ferry story is windows-1252 with only a <meta> saying so.
    [(body,)] = rows(news_conn, "SELECT body FROM articles WHERE article_key LIKE '%ferry%'")
    assert "Renée Dubois, who runs the Landing Café" in body
    assert "summer’s timetable" in body
    [(charset, link)] = rows(news_conn, "SELECT charset, canonical_link FROM pages"
                                        " WHERE input LIKE '%ferry%' LIMIT 1")
    assert (charset, link) == ("cp1252", "https://gazette.example/news/winter-ferry-timetable")
    # robots.txt once for the run, shared by the discover and fetch tasks.
    assert local_site.requests.count("/robots.txt") == 1
    # A fetch-log row per request: robots, feed, sitemaps, and each distinct page URL
    # once (the draft was never requested).
    assert rows(news_conn, "SELECT purpose, count(*) FROM fetch_log GROUP BY 1 ORDER BY 1") == [
        ("feed", 1), ("page", 6), ("robots", 1), ("sitemap", 3),
    ]
    assert len(local_site.requests) == 11
    assert "/drafts/unpublished.html" not in local_site.requests



def test_an_article_reached_later_through_another_source_keeps_its_first_source(
    news_conn: object, local_site: LocalSite, tmp_path: Path
) -> None:
    _demo_copy(local_site, tmp_path)
    bridge = ("SELECT source_name, url FROM articles"
              " WHERE article_key LIKE '%mill-street-bridge%'")
    # The list reaches the feed's bridge story through a newsletter link.
    (tmp_path / "list.txt").write_text(
        local_site.url("articles/mill-street-bridge-closure.html?utm_source=newsletter") + "\n"
    )
    feed = sources_file(tmp_path, (
        f"  - {{name: feed, kind: feed, url: '{local_site.url('feed.xml')}'}}\n"
    ))
    run_batch(news_conn, "first", feed)
    [(first_source, first_url)] = rows(news_conn, bridge)
    listed = sources_file(tmp_path, "  - {name: list, kind: urls, path: list.txt}\n")
    run_batch(news_conn, "second", listed)

    # The second load rewrites the row (it was fetched from another URL) but the article
    # stays with the source that loaded it first.
    [(source, url)] = rows(news_conn, bridge)
    assert url != first_url and "utm_source" in url
    assert first_source == source == "feed"


# Sitemaps and intervals


def _news_sitemap(entries: list[tuple[str, str | None]]) -> bytes:
    urls = "".join(
        f"<url><loc>{loc}</loc>"
        + (f"<news:news><news:publication_date>{date}</news:publication_date>"
           f"<news:title>T {loc[-6:]}</news:title></news:news>" if date else "")
        + "</url>"
        for loc, date in entries
    )
    return (
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
        f' xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">{urls}</urlset>'
    ).encode()


@pytest.fixture
def archive_site(local_site: LocalSite) -> LocalSite:
    """An index: a news sitemap, a gzipped sitemap, and an old child not to be read."""
    url = local_site.url
    (local_site.root / "news.xml").write_bytes(_news_sitemap([
        (url("a/in-window"), "2026-11-23T12:00:00Z"),
        (url("a/at-end"), "2026-11-24T04:30:00Z"),
        (url("a/undated"), None),
    ]))
    (local_site.root / "archive.xml.gz").write_bytes(gzip.compress(
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        + f"<url><loc>{url('a/old')}</loc><lastmod>2026-11-01</lastmod></url>".encode()
        + f"<url><loc>{url('a/late-edit')}</loc>".encode()
        + b"<lastmod>2026-11-24T12:00:00Z</lastmod></url>"
        + b"</urlset>"
    ))
    (local_site.root / "old.xml").write_bytes(_news_sitemap([(url("a/older"), None)]))
    (local_site.root / "index.xml").write_text(
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{url('news.xml')}</loc></sitemap>"
        f"<sitemap><loc>{url('archive.xml.gz')}</loc><lastmod>2026-11-24T12:00:00Z</lastmod>"
        "</sitemap>"
        f"<sitemap><loc>{url('old.xml')}</loc><lastmod>2026-10-01</lastmod></sitemap>"
        "</sitemapindex>"
    )
    return local_site


def test_sitemap_interval_picks_entries_dated_inside_it(
    news_conn: object, archive_site: LocalSite, tmp_path: Path
) -> None:
    sources = sources_file(tmp_path, f"  - {{name: s, kind: sitemap, url: "
                                     f"'{archive_site.url('index.xml')}'}}\n")
    stats = discovery.discover(news_conn, "nov23", sources, NOV_23, NOV_24)

    assert staged(news_conn, "nov23") == [archive_site.url("a/in-window"),
                                          archive_site.url("a/undated")]
    assert stats["s"] == {"listed": 5, "staged": 2, "outside_interval": 3,
                          "dated_before_interval": 1, "dated_after_interval": 2}
    assert discovery.left_out(stats) == [
        "s: 1 dated before this interval — backfill to take them",
        "s: 2 dated after this interval — a later run takes them",
    ]
    # The child whose lastmod is before the interval was not even read.
    assert "/old.xml" not in archive_site.requests
    [(hints,)] = rows(news_conn, "SELECT hints FROM batch_items WHERE input LIKE '%in-window'")
    assert hints["title"] == "T window"
    assert hints["published"] == "2026-11-23T12:00:00+00:00"


def test_a_manual_run_takes_what_no_run_took_from_its_intervals_start_on(
    news_conn: object, archive_site: LocalSite, tmp_path: Path
) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "old.txt").write_text("Dropped last week.\n")
    os.utime(drop / "old.txt", ((NOV_23 - timedelta(days=7)).timestamp(),) * 2)
    sources = sources_file(tmp_path, f"  - {{name: s, kind: sitemap, url: "
                                     f"'{archive_site.url('index.xml')}'}}\n"
                                     f"  - {{name: d, kind: folder, path: '{drop}'}}\n")
    url = archive_site.url
    # Last night's scheduled run takes its interval: the dropped file, the entry dated in
    # it and the undated one; later entries wait.
    discovery.discover(news_conn, "scheduled", sources, NOV_23, NOV_24)
    assert staged(news_conn, "scheduled") == [str(drop / "old.txt"), url("a/in-window"),
                                              url("a/undated")]
    # A page dropped now. A manual run with the form's defaults has the same interval
    # but takes what is new: what no run took, from the interval's start on, no end.
    (drop / "mine.txt").write_text("My own page.\n")
    stats = discovery.discover(news_conn, "manual", sources, NOV_23, NOV_24, mode="new")
    assert staged(news_conn, "manual") == [str(drop / "mine.txt"), url("a/at-end"),
                                           url("a/late-edit")]
    assert stats["s"]["taken_by_other_interval"] == 2
    assert stats["d"] == {"listed": 2, "staged": 1, "taken_by_other_interval": 1}
    assert "d: 1 already taken by an earlier run" in "\n".join(discovery.left_out(stats))
    # Re-running the manual run stages the same; another manual run finds nothing new.
    discovery.discover(news_conn, "manual", sources, NOV_23, NOV_24, mode="new")
    assert staged(news_conn, "manual") == [str(drop / "mine.txt"), url("a/at-end"),
                                           url("a/late-edit")]
    discovery.discover(news_conn, "manual-2", sources, NOV_23, NOV_24, mode="new")
    assert staged(news_conn, "manual-2") == []
    # The next night's run does not take the manual run's inputs again.
    discovery.discover(news_conn, "next-night", sources, NOV_24, NOV_25)
    assert staged(news_conn, "next-night") == []


def test_undated_entries_belong_to_the_first_interval_that_took_them(
    news_conn: object, archive_site: LocalSite, tmp_path: Path
) -> None:
    sources = sources_file(tmp_path, f"  - {{name: s, kind: sitemap, url: "
                                     f"'{archive_site.url('index.xml')}'}}\n")
    discovery.discover(news_conn, "nov23", sources, NOV_23, NOV_24)
    discovery.discover(news_conn, "nov24", sources, NOV_24, NOV_25)
    discovery.discover(news_conn, "nov23-again", sources, NOV_23, NOV_24)

    url = archive_site.url
    assert staged(news_conn, "nov24") == [url("a/at-end"), url("a/late-edit")]
    assert staged(news_conn, "nov23-again") == staged(news_conn, "nov23")


def test_sitemap_index_loops_and_depth_are_bounded(
    news_conn: object, local_site: LocalSite, tmp_path: Path
) -> None:
    url = local_site.url

    def index(*children: str) -> str:
        listed = "".join(f"<sitemap><loc>{url(c)}</loc></sitemap>" for c in children)
        return f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{listed}'\
               "</sitemapindex>"

    (local_site.root / "top.xml").write_text(index("mid.xml", "top.xml"))
    (local_site.root / "mid.xml").write_text(index("deep.xml", "top.xml", "broken.xml"))
    (local_site.root / "deep.xml").write_text(index("deeper.xml"))
    (local_site.root / "broken.xml").write_text("<html><body>moved</body></html>")
    sources = sources_file(tmp_path, f"  - {{name: s, kind: sitemap, url: '{url('top.xml')}',"
                                     " max_depth: 2}\n")
    discovery.discover(news_conn, "b", sources)

    assert sorted(p for p in local_site.requests if p != "/robots.txt") == [
        "/broken.xml", "/deep.xml", "/mid.xml", "/top.xml"
    ]
    assert rows(news_conn, "SELECT input, stage, reason FROM rejects ORDER BY 1") == [
        (url("broken.xml"), "discover", "not a sitemap: root element <html>"),
        (url("deeper.xml"), "discover", "sitemap nested deeper than 2 levels"),
    ]


def test_hostile_sitemap_entities_are_not_expanded(
    news_conn: object, local_site: LocalSite, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    (local_site.root / "evil.xml").write_text(
        f'<?xml version="1.0"?><!DOCTYPE u [<!ENTITY x SYSTEM "file://{secret}">'
        '<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;">]>'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<url><loc>{local_site.url('p/')}&x;&d;</loc></url></urlset>"
    )
    sources = sources_file(tmp_path, f"  - {{name: s, kind: sitemap, url: "
                                     f"'{local_site.url('evil.xml')}'}}\n")
    discovery.discover(news_conn, "b", sources)
    assert staged(news_conn, "b") == [local_site.url("p/")]


# Conditional GET


def test_304_reuses_the_stored_feed_so_a_rerun_stages_the_same_items(
    news_conn: object, local_site: LocalSite, tmp_path: Path
) -> None:
    feed = (
        '<rss version="2.0"><channel><title>t</title>'
        f"<item><link>{local_site.url('story')}</link></item></channel></rss>"
    ).encode()
    local_site.route("feed.xml", lambda headers: (
        Reply(304) if headers.get("If-None-Match") == '"f1"'
        else Reply(200, feed, {"ETag": '"f1"', "Content-Type": "application/rss+xml"})
    ))
    sources = sources_file(tmp_path, f"  - {{name: f, kind: feed, url: "
                                     f"'{local_site.url('feed.xml')}'}}\n")
    discovery.discover(news_conn, "run-1", sources, NOV_23, NOV_24)
    discovery.discover(news_conn, "run-2", sources, NOV_23, NOV_24)

    assert staged(news_conn, "run-2") == staged(news_conn, "run-1") == [local_site.url("story")]
    assert local_site.headers[-1]["If-None-Match"] == '"f1"'
    assert rows(news_conn, "SELECT batch_key, status, not_modified FROM fetch_log"
                           " WHERE purpose = 'feed' ORDER BY fetch_id") == [
        ("run-1", 200, False), ("run-2", 304, True)
    ]


def test_a_static_sitemap_unchanged_since_the_last_run_is_answered_304(
    news_conn: object, archive_site: LocalSite, tmp_path: Path
) -> None:
    sources = sources_file(tmp_path, f"  - {{name: s, kind: sitemap, url: "
                                     f"'{archive_site.url('news.xml')}'}}\n")
    discovery.discover(news_conn, "run-1", sources)
    discovery.discover(news_conn, "run-2", sources)
    assert rows(news_conn, "SELECT status FROM fetch_log WHERE purpose = 'sitemap'"
                           " ORDER BY fetch_id") == [(200,), (304,)]
    assert staged(news_conn, "run-2") == staged(news_conn, "run-1")
    assert len(staged(news_conn, "run-2")) == 3


# robots.txt


def test_robots_disallow_rejects_and_crawl_delay_spaces_requests(
    news_conn: object, local_site: LocalSite, tmp_path: Path
) -> None:
    (local_site.root / "robots.txt").write_text(
        "User-agent: *\nDisallow: /private/\nCrawl-delay: 0.3\n"
    )
    links = ["private/secret", "open/one", "open/two"]
    for link in links:
        local_site.route(link, Reply(200, page(link), HTML))
    items = "".join(f"<item><link>{local_site.url(link)}</link></item>" for link in links)
    (local_site.root / "feed.xml").write_text(
        f'<rss version="2.0"><channel><title>t</title>{items}</channel></rss>'
    )
    sources = sources_file(tmp_path, f"  - {{name: f, kind: feed, url: "
                                     f"'{local_site.url('feed.xml')}'}}\n")
    discovery.discover(news_conn, "b", sources)
    fetch_stage.fetch(news_conn, "b")

    assert rows(news_conn, "SELECT input, stage, reason FROM rejects") == [
        (local_site.url("private/secret"), "fetch", "disallowed by robots.txt")
    ]
    assert "/private/secret" not in local_site.requests
    assert local_site.requests.count("/robots.txt") == 1
    # Known from the first request (robots.txt itself) on: the delay between the others.
    times = local_site.times[1:]
    assert len(times) == 3
    assert min(b - a for a, b in zip(times, times[1:], strict=False)) >= 0.3 - SPACING_JITTER


def test_robots_txt_server_error_keeps_the_crawler_off_the_host(
    news_conn: object, local_site: LocalSite, tmp_path: Path
) -> None:
    local_site.route("robots.txt", Reply(503))
    (tmp_path / "urls.txt").write_text(local_site.url("story") + "\n")
    sources = sources_file(tmp_path, "  - {name: l, kind: urls, path: urls.txt}\n")
    discovery.discover(news_conn, "b", sources)
    fetch_stage.fetch(news_conn, "b")
    [(reason,)] = rows(news_conn, "SELECT reason FROM rejects")
    assert reason == "robots.txt unavailable (HTTP 503): host skipped"
    assert "/story" not in local_site.requests


# SSRF guard


def test_links_to_private_addresses_the_deployment_did_not_allow_are_refused(
    news_conn: object, local_site: LocalSite, tmp_path: Path
) -> None:
    local_site.route("story", Reply(200, page("story"), HTML))
    (local_site.root / "feed.xml").write_text(
        '<rss version="2.0"><channel><title>t</title>'
        f"<item><link>{local_site.url('story')}</link></item>"
        f"<item><link>http://127.0.0.2:{local_site.port}/story</link></item>"
        "<item><link>http://169.254.169.254/latest/meta-data/</link></item>"
        "<item><link>http://[::ffff:169.254.169.254]/latest/meta-data/</link></item>"
        "<item><link>http://[64:ff9b::a9fe:a9fe]/latest/meta-data/</link></item>"
        "<item><link>http://[2002:a9fe:a9fe::1]/latest/meta-data/</link></item>"
        "<item><link>http://[fec0::1]/</link></item>"
        "</channel></rss>"
    )
    # The feed is on 127.0.0.1, which the deployment allows (tests/conftest.py); its
    # links to other private addresses, in whatever IPv6 dress, are refused.
    sources = sources_file(tmp_path, f"  - {{name: f, kind: feed, url: "
                                     f"'{local_site.url('feed.xml')}'}}\n")
    discovery.discover(news_conn, "b", sources)
    fetch_stage.fetch(news_conn, "b")
    reasons = rows(news_conn, "SELECT input, reason FROM rejects ORDER BY 1")
    assert [(i, r.split(" (a deployment")[0]) for i, r in reasons] == [
        (f"http://127.0.0.2:{local_site.port}/story",
         "refused: 127.0.0.2 resolves to non-public address 127.0.0.2"),
        ("http://169.254.169.254/latest/meta-data/",
         "refused: 169.254.169.254 resolves to non-public address 169.254.169.254"),
        ("http://[2002:a9fe:a9fe::1]/latest/meta-data/",
         "refused: 2002:a9fe:a9fe::1 resolves to non-public address 169.254.169.254"
         " (embedded in 2002:a9fe:a9fe::1)"),
        ("http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",
         "refused: 64:ff9b::a9fe:a9fe resolves to non-public address 169.254.169.254"
         " (embedded in 64:ff9b::a9fe:a9fe)"),
        ("http://[::ffff:169.254.169.254]/latest/meta-data/",
         "refused: ::ffff:169.254.169.254 resolves to non-public address 169.254.169.254"
         " (embedded in ::ffff:a9fe:a9fe)"),
        ("http://[fec0::1]/", "refused: fec0::1 resolves to site-local address fec0::1"),
    ]
    assert local_site.requests == ["/robots.txt", "/feed.xml", "/story"]


# Page fetches end to end


def test_page_charsets_follow_header_then_meta_then_detection(
    news_conn: object, local_site: LocalSite, tmp_path: Path
) -> None:
    polish = "Rząd ogłosił dziś nowe środki wsparcia dla gospodarstw domowych. " * 6
    body = f"<html><head><title>PL</title></head><body><article><p>{polish}</p></article>"
    local_site.route("latin2", Reply(200, (body + "</body></html>").encode("iso-8859-2"),
                                     {"Content-Type": "text/html; charset=iso-8859-2"}))
    cafe = "Café owners said the “winter timetable” would hurt. " * 8
    local_site.route("cp1252", Reply(200, f"<html><body><article><p>{cafe}</p></article>"
                                          "</body></html>".encode("cp1252"),
                                     {"Content-Type": "text/html"}))
    (tmp_path / "urls.txt").write_text(f"{local_site.url('latin2')}\n{local_site.url('cp1252')}\n")
    # Bare one-paragraph pages, whatever their page type: this is about their charsets.
    sources = sources_file(tmp_path, "  - {name: l, kind: urls, path: urls.txt, accept: any}\n")
    run_batch(news_conn, "b", sources)
    bodies = dict(rows(news_conn, "SELECT url, body FROM articles"))
    assert bodies[local_site.url("latin2")].startswith("Rząd ogłosił dziś nowe środki")
    assert bodies[local_site.url("cp1252")].startswith("Café owners said the “winter timetable”")
    assert dict(rows(news_conn, "SELECT input, charset FROM pages")) == {
        local_site.url("latin2"): "iso8859-2", local_site.url("cp1252"): "cp1252",
    }


def test_redirected_pages_are_keyed_by_final_url_and_fetch_log_has_every_hop(
    news_conn: object, local_site: LocalSite, tmp_path: Path
) -> None:
    local_site.route("short/1", Reply(301, headers={"Location": "/news/story?utm_source=x"}))
    local_site.route("news/story?utm_source=x", Reply(200, page("Story"), HTML))
    local_site.route("loop/a", Reply(302, headers={"Location": "/loop/b"}))
    local_site.route("loop/b", Reply(302, headers={"Location": "/loop/a"}))
    local_site.route("report.pdf", Reply(200, b"%PDF-1.7", {"Content-Type": "application/pdf"}))
    local_site.route("flaky", [Reply(500), Reply(200, page("Flaky"), HTML)])
    (tmp_path / "urls.txt").write_text("".join(
        local_site.url(p) + "\n" for p in ("short/1", "loop/a", "report.pdf", "flaky")
    ))
    sources = sources_file(tmp_path, "  - {name: l, kind: urls, path: urls.txt}\n")
    run_batch(news_conn, "b", sources)

    assert rows(news_conn, "SELECT input, final_url, page_key FROM pages ORDER BY 1") == [
        (local_site.url("flaky"), local_site.url("flaky"), local_site.url("flaky")),
        (local_site.url("short/1"), local_site.url("news/story?utm_source=x"),
         local_site.url("news/story")),
    ]
    assert rows(news_conn, "SELECT input, reason FROM rejects ORDER BY 1") == [
        (local_site.url("loop/a"),
         f"redirect loop: {local_site.url('loop/b')} -> {local_site.url('loop/a')}"),
        (local_site.url("report.pdf"), "not an article page: content type application/pdf"),
    ]
    assert rows(news_conn, "SELECT url, status, attempt, redirect_to FROM fetch_log"
                           " WHERE purpose = 'page' ORDER BY fetch_id") == [
        (local_site.url("flaky"), 500, 1, None),
        (local_site.url("flaky"), 200, 2, None),
        (local_site.url("loop/a"), 302, 1, local_site.url("loop/b")),
        (local_site.url("loop/b"), 302, 1, local_site.url("loop/a")),
        (local_site.url("report.pdf"), 200, 1, None),
        (local_site.url("short/1"), 301, 1, local_site.url("news/story?utm_source=x")),
        (local_site.url("news/story?utm_source=x"), 200, 1, None),
    ]


# Per-host spacing across parallel work


def _pages(site: LocalSite, count: int, prefix: str = "p") -> list[str]:
    urls = []
    for n in range(count):
        urls.append(site.route(f"{prefix}{n}", Reply(200, page(f"{prefix}{n}"), HTML)))
    return urls


def test_host_interval_holds_across_two_fetch_tasks_at_once(
    writer_dsn: str, news_conn: object, local_site: LocalSite, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "HOST_INTERVAL", 0.2)
    for batch, prefix in (("a", "x"), ("b", "y")):
        (tmp_path / f"{batch}.txt").write_text("\n".join(_pages(local_site, 4, prefix)))
        sources = sources_file(tmp_path, f"  - {{name: {batch}, kind: urls, path: {batch}.txt}}\n")
        discovery.discover(news_conn, batch, sources)
    errors: list[BaseException] = []

    def fetch(batch: str) -> None:
        conn = storage.connect(writer_dsn)
        try:
            fetch_stage.fetch(conn, batch)
        except BaseException as error:  # re-raised in the main thread
            errors.append(error)
        finally:
            conn.close()

    threads = [threading.Thread(target=fetch, args=(b,)) for b in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert rows(news_conn, "SELECT count(*) FROM pages") == [(8,)]
    times = sorted(local_site.times)
    # Two tasks, one host: every request at least the interval after the one before.
    assert min(b - a for a, b in zip(times, times[1:], strict=False)) >= 0.2 - SPACING_JITTER


def test_hosts_are_fetched_in_parallel_each_at_its_own_pace(
    news_conn: object, local_site: LocalSite, second_site: LocalSite, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "HOST_INTERVAL", 0.25)
    urls = _pages(local_site, 4) + _pages(second_site, 4)
    (tmp_path / "urls.txt").write_text("\n".join(urls))
    sources = sources_file(tmp_path, "  - {name: l, kind: urls, path: urls.txt}\n")
    discovery.discover(news_conn, "b", sources)
    assert fetch_stage.fetch(news_conn, "b") == {"l": {"fetched": 8}}
    for site in (local_site, second_site):
        gaps = [b - a for a, b in zip(site.times, site.times[1:], strict=False)]
        assert min(gaps) >= 0.25 - SPACING_JITTER
    # In parallel each host's requests (robots.txt + 4 pages, a second apart at least)
    # overlap the other's: one after the other, one host's would all come first. Told by
    # the order of the requests, not by a duration a slow machine could stretch.
    assert second_site.times[0] < local_site.times[-1]
    assert local_site.times[0] < second_site.times[-1]


# URL lists and drop folders over intervals


def test_drop_folder_file_is_taken_once_by_content_hash(
    news_conn: object, tmp_path: Path
) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    story = drop / "story.html"
    story.write_bytes(page("Dropped"))
    in_nov_23 = (NOV_23 + timedelta(hours=2)).timestamp()
    os.utime(story, (in_nov_23, in_nov_23))
    sources = sources_file(tmp_path, f"  - {{name: d, kind: folder, path: '{drop}'}}\n")

    discovery.discover(news_conn, "nov23", sources, NOV_23, NOV_24)
    discovery.discover(news_conn, "nov22", sources, NOV_23 - timedelta(days=1), NOV_23)
    discovery.discover(news_conn, "nov24", sources, NOV_24, NOV_25)
    (drop / "copy-of-story.html").write_bytes(page("Dropped"))  # same content, new name
    discovery.discover(news_conn, "nov23-again", sources, NOV_23, NOV_24)

    assert staged(news_conn, "nov23") == [str(story)]
    assert staged(news_conn, "nov22") == []  # modified after that interval
    assert staged(news_conn, "nov24") == []  # already taken by nov23
    assert staged(news_conn, "nov23-again") == [str(story)]



def test_same_content_or_canonical_url_twice_in_one_run_is_one_input_and_one_reject(
    news_conn: object, local_site: LocalSite, tmp_path: Path
) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "a-story.html").write_bytes(page("Dropped twice"))
    (drop / "b-copy.html").write_bytes(page("Dropped twice"))
    story = local_site.url("story.html")
    (tmp_path / "list.txt").write_text(f"{story}\n{story}?utm_source=mail\n{story}\n")
    sources = sources_file(tmp_path, (
        f"  - {{name: d, kind: folder, path: '{drop}'}}\n"
        "  - {name: l, kind: urls, path: list.txt}\n"
    ))
    for _ in range(2):  # a re-run of the same interval gives the same rows
        stats = discovery.discover(news_conn, "once", sources)

    assert staged(news_conn, "once") == [str(drop / "a-story.html"), story]
    assert rows(news_conn, "SELECT source_name, input, reason FROM rejects ORDER BY 1") == [
        ("d", str(drop / "b-copy.html"), f"same content as {drop / 'a-story.html'}"),
        ("l", f"{story}?utm_source=mail", f"same canonical URL as {story}"),
    ]
    assert stats["d"] == {"listed": 2, "staged": 1, "repeated": 1}

def test_host_slots_are_claimed_one_interval_apart_across_connections(
    writer_dsn: str, news_conn: object
) -> None:
    other = storage.connect(writer_dsn)
    try:
        waits = [source_state.claim_host_slot(conn, "g.example", 0.5)
                 for conn in (news_conn, other, news_conn, other)]
        assert source_state.claim_host_slot(other, "h.example", 0.5) < 0.05  # another host
    finally:
        other.close()
    assert waits[0] < 0.05
    for n, wait in enumerate(waits[1:], start=1):
        assert 0.5 * n - 0.1 < wait <= 0.5 * n


def test_url_whose_fetch_failed_is_tried_again_by_the_next_interval(
    news_conn: object, local_site: LocalSite, tmp_path: Path
) -> None:
    local_site.route("story", [Reply(503), Reply(503), Reply(503), Reply(503),
                               Reply(200, page("Story"), HTML)])
    local_site.route("gone", Reply(200, page("Gone"), HTML))
    (tmp_path / "urls.txt").write_text(f"{local_site.url('story')}\n{local_site.url('gone')}\n")
    sources = sources_file(tmp_path, "  - {name: l, kind: urls, path: urls.txt}\n")
    discovery.discover(news_conn, "nov23", sources, NOV_23, NOV_24)
    fetch_stage.fetch(news_conn, "nov23")
    assert rows(news_conn, "SELECT input, reason FROM rejects") == [
        (local_site.url("story"), "HTTP 503")
    ]
    discovery.discover(news_conn, "nov24", sources, NOV_24, NOV_25)
    fetch_stage.fetch(news_conn, "nov24")
    # The failed URL moved to the next interval and was fetched; the loaded one stayed.
    assert staged(news_conn, "nov24") == [local_site.url("story")]
    assert rows(news_conn, "SELECT input FROM pages ORDER BY 1") == [
        (local_site.url("gone"),), (local_site.url("story"),)
    ]
    discovery.discover(news_conn, "nov25", sources, NOV_25, NOV_25 + timedelta(days=1))
    assert staged(news_conn, "nov25") == []


def test_robots_txt_redirect_faces_the_ssrf_guard(
    news_conn: object, local_site: LocalSite, tmp_path: Path
) -> None:
    # 127.0.0.1 is allowed (tests/conftest.py); where robots.txt redirects to is not.
    local_site.route("robots.txt", Reply(301, headers={"Location": "http://127.0.0.2:1/r"}))
    sources = sources_file(tmp_path, f"  - {{name: f, kind: feed, url: "
                                     f"'{local_site.url('feed.xml')}'}}\n")
    with pytest.raises(item_stage.StageError):
        discovery.discover(news_conn, "b", sources)
    [(reason,)] = rows(news_conn, "SELECT reason FROM rejects")
    assert reason.startswith("feed unreachable: robots.txt unavailable (refused: 127.0.0.2")
    assert local_site.requests == ["/robots.txt"]


def test_a_source_that_cannot_be_read_is_rejected_and_the_others_go_on(
    news_conn: object, tmp_path: Path
) -> None:
    (tmp_path / "urls.txt").write_text("https://gazette.example/a\n")
    sources = sources_file(tmp_path, (
        "  - {name: gone, kind: folder, path: no-such-folder}\n"
        "  - {name: nolist, kind: urls, path: missing.txt}\n"
        "  - {name: list, kind: urls, path: urls.txt}\n"
    ))
    stats = discovery.discover(news_conn, "b", sources)
    assert stats == {"list": {"listed": 1, "staged": 1}}
    gone, nolist = rows(news_conn, "SELECT source_name, input, reason FROM rejects"
                                   " WHERE stage = 'discover' ORDER BY 1")
    # A relative folder is under the drop root (the tests': the temporary folder).
    missing = settings.drop_root() / "no-such-folder"
    assert gone[:2] == ("gone", str(missing))
    assert gone[2] == f"source gone: {missing} is not a folder"
    assert nolist[:2] == ("nolist", str(tmp_path / "missing.txt"))
    assert nolist[2] == "URL list of nolist: cannot open (No such file or directory)"


def test_a_set_whose_every_source_is_misconfigured_fails_without_a_retry(
    news_conn: object, tmp_path: Path
) -> None:
    sources = sources_file(tmp_path, (
        "  - {name: gone, kind: folder, path: no-such-folder}\n"
        "  - {name: nolist, kind: urls, path: missing.txt}\n"
    ))
    # A configuration error (the operator fails the task at once), not a StageError
    # (retried): no retry makes the folder or the list appear. One line, both reasons.
    with pytest.raises(SourceConfigError) as raised:
        discovery.discover(news_conn, "b", sources)
    assert not isinstance(raised.value, item_stage.StageError)
    assert "\n" not in str(raised.value)
    assert str(raised.value) == (
        f"source gone: {settings.drop_root() / 'no-such-folder'} is not a folder;"
        " URL list of nolist: cannot open (No such file or directory)")
    assert len(rows(news_conn, "SELECT 1 FROM rejects WHERE stage = 'discover'")) == 2


@pytest.fixture
def six_sites(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[LocalSite]]:
    """Six servers on six loopback addresses (six hosts for politeness), all allowed."""
    addresses = [f"127.0.0.{20 + n}" for n in range(6)]
    monkeypatch.setenv("NEWSFLOW_PRIVATE_HOSTS", ", ".join(addresses))
    served = [serve_site(tmp_path / f"host{n}", address) for n, address in enumerate(addresses)]
    yield [site for site, _ in served]
    for _, server in served:
        server.shutdown()
        server.server_close()


def _fetch_six_hosts(news_conn: object, sites: list[LocalSite], tmp_path: Path) -> None:
    urls = [url for n, site in enumerate(sites) for url in _pages(site, 3, f"h{n}-")]
    (tmp_path / "urls.txt").write_text("\n".join(urls))
    sources = sources_file(tmp_path, "  - {name: l, kind: urls, path: urls.txt}\n")
    discovery.discover(news_conn, "six", sources)
    assert fetch_stage.fetch(news_conn, "six") == {"l": {"fetched": 18}}


def test_fetch_runs_a_thread_per_host_of_the_batch_without_tuning(
    news_conn: object, six_sites: list[LocalSite], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "HOST_INTERVAL", 0.3)
    assert settings.FETCH_WORKERS >= 6  # the default ceiling, not a value set for the test
    _fetch_six_hosts(news_conn, six_sites, tmp_path)
    # Every host starts at once: its first request (robots.txt) before any host's second.
    firsts = [site.times[0] for site in six_sites]
    seconds = [site.times[1] for site in six_sites]
    assert max(firsts) < min(seconds)
    for site in six_sites:  # and each keeps its own interval
        gaps = [b - a for a, b in zip(site.times, site.times[1:], strict=False)]
        assert len(site.times) == 4 and min(gaps) >= 0.3 - SPACING_JITTER


def test_the_fetch_workers_setting_is_a_ceiling_on_the_threads(
    news_conn: object, six_sites: list[LocalSite], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "HOST_INTERVAL", 0.2)
    monkeypatch.setattr(settings, "FETCH_WORKERS", 3)
    _fetch_six_hosts(news_conn, six_sites, tmp_path)
    starts = sorted(site.times[0] for site in six_sites)
    ends = sorted(site.times[-1] for site in six_sites)
    # Three threads: the last three hosts start only when one of the first three is done.
    assert starts[3] >= ends[0] - SPACING_JITTER
    assert starts[2] < ends[0]
