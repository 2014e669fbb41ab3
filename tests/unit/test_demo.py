"""The demo site is dated over the past week relative to now: one story per nightly interval."""

import gzip
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from newsflow import demo, sitemaps
from newsflow.sources import Window, parse_feed
from tests.conftest import DEMO

BASE = "http://127.0.0.1:8765"


def test_last_nightly_end_is_the_latest_0430_utc_at_or_before_now() -> None:
    assert demo.last_nightly_end(datetime(2026, 11, 29, 1, 20, tzinfo=UTC)) == datetime(
        2026, 11, 28, 4, 30, tzinfo=UTC)
    assert demo.last_nightly_end(datetime(2026, 11, 29, 4, 30, tzinfo=UTC)) == datetime(
        2026, 11, 29, 4, 30, tzinfo=UTC)
    assert demo.interval_of(datetime(2026, 11, 29, 9, 0, tzinfo=UTC), 3) == (
        datetime(2026, 11, 26, 4, 30, tzinfo=UTC), datetime(2026, 11, 27, 4, 30, tzinfo=UTC))


def test_each_past_interval_gets_its_own_story_and_last_night_the_feed(tmp_path: Path) -> None:
    now = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
    plan = demo.write_site(tmp_path / "site", BASE, DEMO / "site", now)
    site = tmp_path / "site"
    archive = sitemaps.parse_sitemap(gzip.decompress((site / "sitemap-archive.xml.gz")
                                                     .read_bytes()), BASE + "/a.xml.gz")
    news = sitemaps.parse_sitemap((site / "sitemap-news.xml").read_bytes(), BASE + "/n.xml")
    feed, _ = parse_feed((site / "feed.xml").read_bytes(), BASE + "/feed.xml", "feed")
    entries = [*archive.entries, *news.entries]
    for days_ago in range(1, demo.DAYS + 1):
        window = Window.of(*demo.interval_of(now, days_ago))
        inside = {e.loc for e in entries if window.place(e.dated, late_ok=False) == "take"}
        story = plan["stories"][days_ago]
        assert story in inside
        assert (site / story.removeprefix(BASE + "/")).is_file()
        if days_ago > 1:  # earlier days: that day's story only, for a backfill to load
            assert inside == {story}
    # The feed (a rolling window) lists last night's items only.
    last_night = Window.of(*demo.interval_of(now, 1))
    assert feed and all(last_night.place(item.dated, late_ok=False) == "take" for item in feed)
    # The same day gives the same site.
    again = demo.write_site(tmp_path / "again", BASE, DEMO / "site", now + timedelta(hours=1))
    assert again == plan
    assert (tmp_path / "again" / "sitemap.xml").read_bytes() == (site / "sitemap.xml").read_bytes()


def test_bundled_drop_files_are_dated_into_last_night_and_yours_keep_theirs(
    tmp_path: Path,
) -> None:
    now = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
    (tmp_path / "harbour-festival.txt").write_text("bundled")
    (tmp_path / "mine.txt").write_text("mine")
    os.utime(tmp_path / "mine.txt", (1_000_000, 1_000_000))
    assert demo.date_drop_files(tmp_path, now) == ["harbour-festival.txt"]
    start, end = demo.interval_of(now, 1)
    moment = datetime.fromtimestamp((tmp_path / "harbour-festival.txt").stat().st_mtime, UTC)
    assert start <= moment < end
    assert (tmp_path / "mine.txt").stat().st_mtime == 1_000_000
