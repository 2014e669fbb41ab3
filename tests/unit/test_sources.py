import hashlib
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newsflow.sources import (
    Discovery,
    Source,
    SourceConfigError,
    Window,
    list_folder,
    load_sources,
    parse_feed,
    parse_moment,
    parse_url_list,
    read_content_hash,
)
from tests.conftest import DEMO, ROOT

FEED = DEMO / "site" / "feed.xml"
BASE = "http://127.0.0.1:8765/feed.xml"

GOOD_YAML = """\
sources:
  - name: local-drop
    kind: folder
    path: drop
    language: en
  - name: gazette
    kind: feed
    url: http://127.0.0.1:8765/feed.xml
    max_items: 5
  - name: switched-off
    kind: feed
    url: https://feeds.example/world.xml
    enabled: false
"""


@pytest.fixture(autouse=True)
def _drop_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Drop folders of these tests lie under tmp_path."""
    monkeypatch.setenv("NEWSFLOW_DROP_ROOT", str(tmp_path))


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "conf" / "sources.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _load_error(tmp_path: Path, text: str) -> str:
    with pytest.raises(SourceConfigError) as caught:
        load_sources(_write(tmp_path, text))
    message = str(caught.value)
    assert message.startswith("sources file sources.yaml: ")
    return message.removeprefix("sources file sources.yaml: ")


# load_sources


def test_good_sources_file_loads_in_file_order(tmp_path: Path) -> None:
    sources = load_sources(_write(tmp_path, GOOD_YAML))
    assert [s.name for s in sources] == ["local-drop", "gazette", "switched-off"]
    assert [s.kind for s in sources] == ["folder", "feed", "feed"]


def test_folder_path_is_resolved_under_the_drop_root(tmp_path: Path) -> None:
    drop = load_sources(_write(tmp_path, GOOD_YAML))[0]
    assert drop.location == str((tmp_path / "drop").resolve())
    assert Path(drop.location).is_absolute()


@pytest.mark.parametrize("path", ["../elsewhere", "/etc", "link/inside"])
def test_a_folder_outside_the_drop_root_is_refused(tmp_path: Path, path: str) -> None:
    (tmp_path / "link").symlink_to("/usr")
    message = _load_error(tmp_path, f"sources:\n  - {{name: d, kind: folder, path: '{path}'}}\n")
    assert message == f"source d: its folder is outside {tmp_path.resolve()}"


def test_a_url_list_outside_the_sets_folder_is_refused(tmp_path: Path) -> None:
    message = _load_error(tmp_path, "sources:\n  - {name: u, kind: urls, path: /etc/hosts}\n")
    assert message == f"source u: its URL list is outside {(tmp_path / 'conf').resolve()}"


def test_a_source_cannot_allow_private_hosts(tmp_path: Path) -> None:
    message = _load_error(tmp_path, "sources:\n  - {name: f, kind: feed, url: 'http://a.example/',"
                                    " allow_private: true}\n")
    assert message == ("source f: option allow_private refused: private hosts are allowed by"
                       " the deployment (NEWSFLOW_PRIVATE_HOSTS), not by a source")


def test_feed_url_is_kept_verbatim(tmp_path: Path) -> None:
    feed = load_sources(_write(tmp_path, GOOD_YAML))[1]
    assert feed.location == "http://127.0.0.1:8765/feed.xml"


def test_disabled_source_is_kept_but_flagged(tmp_path: Path) -> None:
    sources = load_sources(_write(tmp_path, GOOD_YAML))
    assert [s.enabled for s in sources] == [True, True, False]
    assert sources[2] == Source(
        "switched-off", "feed", "https://feeds.example/world.xml", False, {}
    )


def test_extra_keys_are_kept_as_options(tmp_path: Path) -> None:
    sources = load_sources(_write(tmp_path, GOOD_YAML))
    assert sources[0].options == {"language": "en"}
    assert sources[1].options == {"max_items": 5}


def test_the_default_set_comes_from_the_sources_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSFLOW_SOURCES_DIR", str(tmp_path / "conf"))
    _write(tmp_path, GOOD_YAML).rename(tmp_path / "conf" / "default.yaml")
    assert [s.name for s in load_sources()] == ["local-drop", "gazette", "switched-off"]


def test_bundled_sources_file_points_at_the_demo_drop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEWSFLOW_DROP_ROOT")
    sources = load_sources(ROOT / "include" / "sources" / "default.yaml")
    by_name = {s.name: s for s in sources}
    assert by_name["demo-drop"].location == str((DEMO / "drop").resolve())
    assert by_name["demo-drop"].enabled is True
    assert by_name["bbc-world"].enabled is False


def test_missing_sources_file_is_a_config_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.yaml"
    with pytest.raises(SourceConfigError) as caught:
        load_sources(missing)
    assert str(caught.value) == (
        "sources file nowhere.yaml: cannot open (No such file or directory)")


def test_malformed_yaml_is_a_config_error_that_quotes_nothing(tmp_path: Path) -> None:
    message = _load_error(tmp_path, "sources: [\n  - name: secret-word\n")
    assert message == "not valid YAML (line 2, column 3)"


@pytest.mark.parametrize(
    "text",
    ["", "feeds:\n  - name: a\n", "sources: demo\n", "- name: a\n  kind: feed\n", "sources:\n"],
)
def test_file_without_sources_list_is_a_config_error(tmp_path: Path, text: str) -> None:
    message = _load_error(tmp_path, text)
    assert message.endswith("expected a top-level 'sources:' list")


def test_unknown_kind_is_named(tmp_path: Path) -> None:
    message = _load_error(tmp_path, "sources:\n  - name: wire\n    kind: rss\n    url: http://x\n")
    assert message == "source wire: unknown kind (known: feed, sitemap, urls, folder, warc)"


def test_feed_without_url_is_a_config_error(tmp_path: Path) -> None:
    message = _load_error(tmp_path, "sources:\n  - name: wire\n    kind: feed\n")
    assert message == "source wire: kind feed needs 'url'"


def test_folder_without_path_is_a_config_error(tmp_path: Path) -> None:
    message = _load_error(
        tmp_path, "sources:\n  - name: drop\n    kind: folder\n    url: http://x\n"
    )
    assert message == "source drop: kind folder needs 'path'"


def test_source_without_name_is_a_config_error(tmp_path: Path) -> None:
    message = _load_error(tmp_path, "sources:\n  - kind: feed\n    url: http://x\n")
    assert message == "source 1 needs a name and a kind"


def test_duplicate_names_are_listed(tmp_path: Path) -> None:
    message = _load_error(
        tmp_path,
        "sources:\n"
        "  - {name: a, kind: feed, url: http://x/1}\n"
        "  - {name: b, kind: feed, url: http://x/2}\n"
        "  - {name: a, kind: folder, path: drop}\n"
        "  - {name: b, kind: feed, url: http://x/3}\n",
    )
    assert message.endswith("source names used twice: a, b")


# parse_feed


def test_feed_links_are_resolved_against_the_base_url() -> None:
    found, invalid = parse_feed(FEED.read_bytes(), BASE, "demo-feed")
    assert invalid == []
    assert [d.input for d in found] == [
        "http://127.0.0.1:8765/articles/mill-street-bridge-closure.html",
        "http://127.0.0.1:8765/articles/library-extends-hours.html?utm_source=rss&utm_medium=feed",
        "http://127.0.0.1:8765/articles/cannery-brewing-expansion.html",
    ]
    assert {d.source_name for d in found} == {"demo-feed"}


def test_feed_item_hints_carry_title_date_summary_and_author() -> None:
    first = parse_feed(FEED.read_bytes(), BASE, "demo-feed")[0][0]
    assert first.hints == {
        "title": "Mill Street Bridge to close for 14 weeks as repairs begin",
        "published": "Tue, 17 Nov 2026 08:30:00 -0500",
        "summary": "Riverside's busiest river crossing will shut to traffic on Jan. 12, 2027, "
        "for a $6.2 million deck replacement.",
        "authors": ["Ana Lopez"],
    }


def test_feed_item_with_two_creators_lists_both_authors() -> None:
    second = parse_feed(FEED.read_bytes(), BASE, "demo-feed")[0][1]
    assert second.hints["authors"] == ["Daniel Reyes", "Priya Natarajan"]
    assert second.hints["published"] == "Thu, 19 Nov 2026 14:15:00 -0500"


def test_feed_items_without_an_http_link_are_invalid_and_empty_hints_dropped() -> None:
    feed = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        b"<item><title>No link here</title></item>"
        b"<item><link>/news/only-a-link</link></item>"
        b"<item><link>javascript:alert(1)</link></item>"
        b"</channel></rss>"
    )
    found, invalid = parse_feed(feed, "https://gazette.example/feeds/all.xml", "s")
    assert found == [Discovery("s", "https://gazette.example/news/only-a-link", {})]
    assert invalid == [
        ("https://gazette.example/feeds/all.xml#item-1", "feed item 1 has no link"),
        ("javascript:alert(1)", "feed item 3: not an absolute http(s) URL"),
    ]


def test_atom_feed_is_read() -> None:
    feed = (
        b'<?xml version="1.0" encoding="utf-8"?>'
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>Gazette</title>'
        b"<entry><title>Atom story</title>"
        b'<link href="https://gazette.example/news/atom-story"/>'
        b"<updated>2026-11-21T09:00:00Z</updated>"
        b"<author><name>Ana Lopez</name></author></entry></feed>"
    )
    found, _ = parse_feed(feed, "https://gazette.example/atom.xml", "atom")
    assert found == [
        Discovery(
            "atom",
            "https://gazette.example/news/atom-story",
            {
                "title": "Atom story",
                "published": "2026-11-21T09:00:00Z",
                "authors": ["Ana Lopez"],
            },
            datetime(2026, 11, 21, 9, 0, tzinfo=UTC),
        )
    ]


def test_feed_with_no_items_gives_no_discoveries() -> None:
    feed = b"<?xml version='1.0'?><rss version='2.0'><channel><title>x</title></channel></rss>"
    assert parse_feed(feed, BASE, "s") == ([], [])


@pytest.mark.parametrize(
    "content",
    [
        b"this is not a feed at all",
        b"<!doctype html><html><head><title>Not found</title></head>"
        b"<body><p>Page not found</p></body></html>",
        b'{"items": []}',
    ],
)
def test_non_feed_bytes_raise_value_error(content: bytes) -> None:
    with pytest.raises(ValueError, match="^not a feed: "):
        parse_feed(content, BASE, "s")


@pytest.mark.parametrize(
    "content",
    [b"<html><body><p>This site has moved.</p></body></html>", b""],
    ids=["well-formed-html", "empty"],
)
def test_well_formed_non_feed_raises_value_error(content: bytes) -> None:
    with pytest.raises(ValueError, match="^not a feed"):
        parse_feed(content, BASE, "s")


# list_folder


def _drop_folder(root: Path) -> Path:
    files = {
        "b-story.txt": b"b",
        "a-story.html": b"a",
        "notes.docx": b"unsupported but listed",
        "nested/deeper/c-story.htm.gz": b"c",
        "nested/report.pdf": b"pdf",
        ".hidden.txt": b"hidden",
        ".git/config.txt": b"in a dot folder",
        "nested/.cache/d.txt": b"in a nested dot folder",
        "nested/.DS_Store": b"mac clutter",
    }
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    (root / "empty-dir").mkdir()
    return root


def test_list_folder_lists_visible_files_recursively_in_name_order(tmp_path: Path) -> None:
    folder = _drop_folder(tmp_path / "drop")
    listing = list_folder(Source("drop", "folder", str(folder)))
    found = listing.discoveries
    assert [d.hints["relative_path"] for d in found] == [
        "a-story.html",
        "b-story.txt",
        "nested/deeper/c-story.htm.gz",
        "nested/report.pdf",
        "notes.docx",
    ]
    mtime = datetime.fromtimestamp((folder / "a-story.html").stat().st_mtime, UTC)
    # Listed by metadata only: no file is read until the discover stage takes it.
    assert found[0] == Discovery("drop", str(folder / "a-story.html"),
                                 {"relative_path": "a-story.html"}, mtime)
    assert read_content_hash(found[0]) == Discovery(
        "drop", str(folder / "a-story.html"),
        {"relative_path": "a-story.html", "content_sha256": hashlib.sha256(b"a").hexdigest()},
        mtime,
    )
    assert sorted(listing.changed) == sorted(d.input for d in found)
    assert (listing.not_examined, listing.next_after) == (0, "")
    assert [d.input for d in found][2] == str(folder / "nested" / "deeper" / "c-story.htm.gz")


def test_list_folder_works_inside_a_dot_folder(tmp_path: Path) -> None:
    folder = tmp_path / ".local" / "drop"
    folder.mkdir(parents=True)
    (folder / "story.txt").write_bytes(b"text")
    found = list_folder(Source("drop", "folder", str(folder))).discoveries
    assert [(d.input, d.hints["relative_path"]) for d in found] == [
        (str(folder / "story.txt"), "story.txt")
    ]


def test_list_folder_on_the_demo_drop() -> None:
    found = list_folder(Source("demo-drop", "folder", str(DEMO / "drop"))).discoveries
    assert [d.hints["relative_path"] for d in found] == [
        "000_6b0885ebeeff3833.txt",
        "harbour-festival.txt",
        "harbour-gallery.html",
        "riverside-wire-budget.txt",
    ]


def test_list_folder_of_empty_folder_is_empty(tmp_path: Path) -> None:
    assert list_folder(Source("drop", "folder", str(tmp_path))).discoveries == []


def test_missing_folder_is_a_config_error(tmp_path: Path) -> None:
    missing = tmp_path / "not-there"
    with pytest.raises(SourceConfigError) as caught:
        list_folder(Source("drop", "folder", str(missing)))
    assert str(caught.value) == f"source drop: {missing} is not a folder"


def test_file_instead_of_folder_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "story.txt"
    path.write_bytes(b"text")
    with pytest.raises(SourceConfigError, match="is not a folder$"):
        list_folder(Source("drop", "folder", str(path)))


# new kinds and their options


def test_every_kind_loads_with_its_location(tmp_path: Path) -> None:
    sources = load_sources(_write(tmp_path, """\
sources:
  - {name: f, kind: feed, url: 'https://a.example/feed.xml'}
  - {name: s, kind: sitemap, url: 'https://a.example/sitemap.xml', max_depth: 2}
  - {name: u, kind: urls, path: lists/urls.txt}
  - {name: d, kind: folder, path: drop}
"""))
    assert [(s.kind, s.location) for s in sources] == [
        ("feed", "https://a.example/feed.xml"),
        ("sitemap", "https://a.example/sitemap.xml"),
        ("urls", str((tmp_path / "conf" / "lists" / "urls.txt").resolve())),
        ("folder", str((tmp_path / "drop").resolve())),
    ]
    assert sources[1].options == {"max_depth": 2}


def test_sitemap_without_url_and_urls_without_path_are_config_errors(tmp_path: Path) -> None:
    assert _load_error(tmp_path, "sources:\n  - {name: s, kind: sitemap}\n") == (
        "source s: kind sitemap needs 'url'"
    )
    assert _load_error(tmp_path, "sources:\n  - {name: u, kind: urls, url: 'http://x/'}\n") == (
        "source u: kind urls needs 'path'"
    )


@pytest.mark.parametrize("url", ["ftp://a.example/feed", "feeds/world.xml", "file:///etc/passwd"])
def test_source_url_must_be_http(tmp_path: Path, url: str) -> None:
    message = _load_error(tmp_path, f"sources:\n  - {{name: f, kind: feed, url: '{url}'}}\n")
    assert message == "source f: url must be an http(s) URL"


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("max_depth: true", "option max_depth must be int"),
        ("max_sitemaps: 2.5", "option max_sitemaps must be int"),
    ],
)
def test_known_options_are_type_checked(tmp_path: Path, option: str, message: str) -> None:
    text = f"sources:\n  - {{name: s, kind: sitemap, url: 'https://a.example/s.xml', {option}}}\n"
    assert _load_error(tmp_path, text) == f"source s: {message}"


def test_bundled_sources_file_has_all_four_kinds_enabled_for_the_demo(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NEWSFLOW_DROP_ROOT")
    sources = [s for s in load_sources(ROOT / "include" / "sources" / "default.yaml")
               if s.enabled]
    assert {s.kind for s in sources} == {"feed", "sitemap", "urls", "folder"}
    assert all(Path(s.location).exists() for s in sources if s.kind in ("urls", "folder"))


# Window


NOV_23 = datetime(2026, 11, 23, 4, 30, tzinfo=UTC)
NOV_24 = datetime(2026, 11, 24, 4, 30, tzinfo=UTC)


def test_window_key_names_the_interval() -> None:
    assert Window.of(NOV_23, NOV_24).key == "2026-11-23T04:30:00+00:00/2026-11-24T04:30:00+00:00"
    assert Window.of(NOV_23, NOV_24).bounded


@pytest.mark.parametrize(("start", "end"), [(None, None), (NOV_23, None), (NOV_24, NOV_24)])
def test_null_or_zero_length_interval_is_unbounded(start: object, end: object) -> None:
    window = Window.of(start, end)
    assert not window.bounded
    assert window.key == "unbounded"
    assert window.place(datetime(1999, 1, 1, tzinfo=UTC), late_ok=False) == "take"


def test_window_places_dates_half_open() -> None:
    window = Window.of(NOV_23, NOV_24)
    assert window.place(NOV_23, late_ok=False) == "take"
    assert window.place(NOV_24, late_ok=False) == "later"
    assert window.place(NOV_23.replace(hour=4, minute=29), late_ok=False) == "earlier"
    assert window.place(NOV_23.replace(hour=4, minute=29), late_ok=True) == "take"
    assert window.place(None, late_ok=False) == "take"


def test_naive_times_are_utc() -> None:
    window = Window.of(NOV_23.replace(tzinfo=None), NOV_24.replace(tzinfo=None))
    assert window == Window.of(NOV_23, NOV_24)
    assert window.place(datetime(2026, 11, 23, 12, 0), late_ok=False) == "take"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-23T04:30:00+00:00", NOV_23),
        ("2026-11-23T05:30:00+01:00", NOV_23),
        ("2026-11-23 04:30:00", NOV_23),
        ("", None),
        ("None", None),
        (None, None),
    ],
)
def test_parse_moment_reads_rendered_templates(text: str | None, expected: object) -> None:
    assert parse_moment(text) == expected


def test_parse_moment_rejects_garbage() -> None:
    with pytest.raises(ValueError):
        parse_moment("yesterday")


# parse_url_list


def test_url_list_skips_comments_and_blanks_and_rejects_bad_lines() -> None:
    text = (
        "# demo list\n\n"
        "https://gazette.example/news/a\n"
        "  http://gazette.example/news/b?utm_source=x  \n"
        "gazette.example/news/c\n"
        "ftp://gazette.example/file\n"
        "https://gazette.example/with space\n"
        "   # indented comment\n"
    )
    found, invalid = parse_url_list(text, "list")
    assert found == [
        Discovery("list", "https://gazette.example/news/a", {"line": 3}),
        Discovery("list", "http://gazette.example/news/b?utm_source=x", {"line": 4}),
    ]
    assert invalid == [
        ("gazette.example/news/c", "line 5: not an absolute http(s) URL"),
        ("ftp://gazette.example/file", "line 6: not an absolute http(s) URL"),
        ("https://gazette.example/with space", "line 7: not an absolute http(s) URL"),
    ]


# list_folder with a window


def test_list_folder_lists_files_modified_after_the_interval_unread(tmp_path: Path) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    for name, when in (("before.txt", NOV_23 - timedelta(days=3)),
                       ("inside.txt", NOV_23 + timedelta(hours=1)),
                       ("after.txt", NOV_24 + timedelta(hours=1))):
        (folder / name).write_text(name)
        os.utime(folder / name, (when.timestamp(), when.timestamp()))
    listing = list_folder(Source("drop", "folder", str(folder)), Window.of(NOV_23, NOV_24))
    found = listing.discoveries
    # Files from before the interval are listed too: the discover stage takes them once.
    assert [(d.hints["relative_path"], d.dated) for d in found] == [
        ("after.txt", NOV_24 + timedelta(hours=1)),
        ("before.txt", NOV_23 - timedelta(days=3)),
        ("inside.txt", NOV_23 + timedelta(hours=1)),
    ]
    # The later file is listed (so discover counts what it leaves out); only the files
    # the window may take are candidates for reading (none is read here).
    assert ["content_sha256" in d.hints for d in found] == [False, False, False]
    assert sorted(listing.changed) == [str(folder / "before.txt"), str(folder / "inside.txt")]
    window = Window.of(NOV_23, NOV_24)
    assert [window.place(d.dated, late_ok=True) for d in found] == ["later", "take", "take"]


def test_a_manual_runs_window_is_its_own_open_ended_from_its_intervals_start() -> None:
    window = Window.new_inputs("manual__2026-11-24T09:00:00+00:00", NOV_23)
    assert window.key == "run:manual__2026-11-24T09:00:00+00:00"
    assert not window.bounded
    # Nothing is "later": a page dropped a minute ago is taken.
    assert window.place(NOV_24 + timedelta(days=30), late_ok=False) == "take"
    # Archive entries (sitemaps, late_ok False) from before its interval are left out.
    assert window.place(NOV_23 - timedelta(seconds=1), late_ok=False) == "earlier"
    assert window.place(NOV_23 - timedelta(days=9), late_ok=True) == "take"
    assert window.place(None, late_ok=False) == "take"
    # Without an interval (the logical date cleared), every date is taken.
    unbounded = Window.new_inputs("manual__x")
    assert unbounded.key == "run:manual__x"
    assert unbounded.place(datetime(1999, 1, 1, tzinfo=UTC), late_ok=False) == "take"


# hostile feeds


def test_feed_entities_are_not_expanded_or_read() -> None:
    levels = "".join(f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">' for n in range(1, 10))
    feed = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY l0 "lol">{levels}'
        '<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        '<rss version="2.0"><channel><title>&l9;</title><item><title>&x;&l9;</title>'
        "<link>https://gazette.example/a</link></item></channel></rss>"
    ).encode()
    found, invalid = parse_feed(feed, BASE, "s")
    assert invalid == []
    assert [d.input for d in found] == ["https://gazette.example/a"]
    assert len(str(found)) < 1000
    assert "root:" not in str(found)


def test_accept_option_takes_article_or_any(tmp_path: Path) -> None:
    text = ("sources:\n  - name: shop\n    kind: feed\n    url: https://shop.example/feed.xml\n"
            "    accept: any\n")
    assert load_sources(_write(tmp_path, text))[0].options["accept"] == "any"
    with pytest.raises(SourceConfigError, match="option accept must be one of"):
        load_sources(_write(tmp_path, text.replace("accept: any", "accept: products")))


def test_warc_sources_name_their_files_three_ways(tmp_path: Path) -> None:
    sources = load_sources(_write(tmp_path, """\
sources:
  - {name: crawls, kind: warc, path: archive/*.warc.gz, hosts: [example.com], max_records: 9}
  - {name: listed, kind: warc, paths_file: lists/warc.paths.gz}
  - {name: cc-news, kind: warc, paths_url: 'https://data.example/{year}/{month}/warc.paths.gz'}
"""))
    crawls, listed, cc_news = sources
    # Local WARC paths are under the drop root (here tmp_path), like drop folders.
    assert crawls.location == str((tmp_path / "archive" / "*.warc.gz").resolve())
    assert crawls.options == {"hosts": ["example.com"], "max_records": 9, "location_key": "path"}
    assert listed.location == str((tmp_path / "lists" / "warc.paths.gz").resolve())
    assert listed.options["location_key"] == "paths_file"
    assert cc_news.location == "https://data.example/{year}/{month}/warc.paths.gz"
    assert cc_news.options["location_key"] == "paths_url"


@pytest.mark.parametrize(("entry", "message"), [
    ("{name: w, kind: warc}", "kind warc needs 'path'"),
    ("{name: w, kind: warc, paths_url: 'file:///etc/passwd'}", "url must be an http(s) URL"),
    ("{name: w, kind: warc, path: a.warc, max_records: '10'}", "option max_records must be int"),
    ("{name: w, kind: warc, path: a.warc, hosts: example.com}", "option hosts must be list"),
    ("{name: w, kind: warc, path: ../../a.warc}", "source w: its folder is outside"),
    ("{name: w, kind: warc, path: a.warc, allow_private: true}", "option allow_private refused"),
])
def test_bad_warc_sources_are_config_errors(tmp_path: Path, entry: str, message: str) -> None:
    assert message in _load_error(tmp_path, f"sources:\n  - {entry}\n")
