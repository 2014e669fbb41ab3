"""The demo site `make run` serves, dated over the past week relative to now.

The bundled pages (``include/demo/site``) are copied; the feed and the sitemaps are
written so that their items fall into the nightly intervals (04:30 to 04:30 UTC) of the
past week: the four hand-written articles and the first daily story into last night's
interval, one daily story into each of the six before. So the nightly run takes last
night's items, and a backfill of an earlier day loads that day's story. Everything is a
function of ``now`` only: the same day gives the same site, offline.
"""

import gzip
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path

# The nightly schedule's time of day (news_ingest: "30 4 * * *" UTC).
NIGHTLY = (4, 30)
DAYS = 7
# The bundled drop files: dated into last night's interval, so the nightly run takes them.
BUNDLED_DROP_FILES = ("000_6b0885ebeeff3833.txt", "harbour-festival.txt",
                      "harbour-gallery.html", "riverside-wire-budget.txt")


@dataclass(frozen=True)
class Story:
    """A daily story of the demo site: one per nightly interval of the past week."""

    slug: str
    title: str
    author: str
    paragraphs: tuple[str, ...]


# Invented Riverside Gazette stories, one per day ago (1 = last night's interval).
STORIES = (
    Story("night-market-returns", "Night market returns to Quay Street for the winter",
          "Helena Varga", (
              "The Quay Street night market will reopen on Friday evenings until March, the"
              " Riverside business association said, with 42 stalls booked so far.",
              "Organisers moved the market under the old cannery roof after rain cut"
              " attendance by half last winter. Stall fees stay at $25 a night.",
              "\"People want somewhere warm to meet after work,\" said Owen Pratt, who"
              " chairs the association's events committee.")),
    Story("school-roof-repairs", "Millbrook primary school closes two classrooms for roof repairs",
          "Daniel Reyes", (
              "Two classrooms at Millbrook Primary School will close for six weeks while"
              " contractors replace a leaking roof, the Tamsen Valley school district said.",
              "The 48 pupils affected will be taught in the school library and a portable"
              " building. The repairs are expected to cost $310,000.",
              "Principal Joanne Keller said parents had been told by letter and that no"
              " lessons would be lost.")),
    Story("river-path-lighting", "Council approves solar lights for the river path",
          "Ana Lopez", (
              "Riverside council voted 7-2 on Tuesday to install 60 solar-powered lights"
              " along the two-mile river path between the ferry landing and Weir Park.",
              "Cyclists and dog walkers had asked for lighting after three falls on the"
              " unlit stretch near the old mill last winter.",
              "Work starts in January and should take five weeks, the council's"
              " engineer, Farid Haddad, said.")),
    Story("blood-drive-record", "Hospital blood drive collects a record 412 donations",
          "Priya Natarajan", (
              "Riverside General Hospital's autumn blood drive collected 412 donations over"
              " three days, the most since the drive began in 2009.",
              "Students from Tamsen Valley College gave a quarter of the donations, the"
              " hospital said, after a campaign on the campus radio station.",
              "The next drive is planned for April. Appointments open in March.")),
    Story("bakery-wins-award", "Hill Street bakery wins regional bread award",
          "Tomas Whitfield", (
              "Larkin's Bakery on Hill Street won the regional guild's award for its rye"
              " sourdough, beating 86 entries from across the valley.",
              "Owner Siobhan Larkin, who opened the shop in 2019, said the recipe came from"
              " her grandmother and takes two days from starter to shelf.",
              "The bakery will sell the winning loaf at a discount on Saturday.")),
    Story("bus-route-trial", "Route 9 bus to run on Sundays in a three-month trial",
          "Helena Varga", (
              "The Route 9 bus between Riverside station and Millbrook will run every hour"
              " on Sundays from next month, in a trial paid for by the county.",
              "The county's transport officer, Gwen Adair, said the trial would continue"
              " if at least 150 passengers a day used the service.",
              "Fares stay at $2 for adults and $1 for children and pensioners.")),
    Story("choir-concert", "Valley youth choir to sing at the cathedral on Saturday",
          "Daniel Reyes", (
              "The Tamsen Valley youth choir will give its winter concert in St Aldric's"
              " cathedral on Saturday, with 54 singers aged nine to 18.",
              "The programme includes a new piece by the choir's director, Martin Osei,"
              " written for the cathedral's 700th anniversary.",
              "Tickets cost $8 and proceeds go to the choir's travel fund.")),
)
# The hand-written articles of include/demo/site/articles, all dated in last night's
# interval: (file, title, in the feed, in the news sitemap, in the archive sitemap).
HAND_WRITTEN = (
    ("mill-street-bridge-closure", "Mill Street Bridge to close for 14 weeks as repairs begin",
     True, False, True),
    ("library-extends-hours",
     "Riverside library to open on Sundays and stay open later on weeknights",
     True, False, True),
    ("cannery-brewing-expansion",
     "Cannery Brewing to add 40 jobs in $9 million waterfront expansion", True, True, False),
    ("winter-ferry-timetable", "Winter ferry timetable cuts Sunday crossings to four",
     False, True, False),
)


def last_nightly_end(now: datetime) -> datetime:
    """The end of the last complete nightly interval: the latest 04:30 UTC at or before now."""
    now = now.astimezone(UTC)
    end = now.replace(hour=NIGHTLY[0], minute=NIGHTLY[1], second=0, microsecond=0)
    return end if end <= now else end - timedelta(days=1)


def interval_of(now: datetime, days_ago: int) -> tuple[datetime, datetime]:
    """The nightly interval ``days_ago`` intervals back (1: last night's), as [start, end)."""
    end = last_nightly_end(now) - timedelta(days=days_ago - 1)
    return end - timedelta(days=1), end


def story_url(base: str, day: datetime, story: Story) -> str:
    """A daily story's URL on the demo site: its interval's date and its slug."""
    return f"{base}/articles/daily/{day:%Y-%m-%d}-{story.slug}.html"


def write_site(out: Path, base: str, source: Path, now: datetime | None = None) -> dict:
    """Write the dated demo site into ``out`` (replaced); returns what is dated where.

    Args:
        out: the folder to serve.
        base: the site's address as sources see it, e.g. ``http://127.0.0.1:8765``.
        source: the bundled site (its articles and robots.txt are copied).
        now: the moment the dates are relative to (default: now).

    Returns:
        ``{"intervals": {days_ago: [start, end]}, "stories": {days_ago: url}}`` (ISO).
    """
    now = now or datetime.now(UTC)
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(source, out, ignore=shutil.ignore_patterns("*.xml", "*.xml.gz"))
    (out / "articles" / "daily").mkdir(parents=True, exist_ok=True)
    start, _ = interval_of(now, 1)
    # Hand-written articles: through last night's interval, an hour apart from 06:00 on.
    dated = {slug: start + timedelta(hours=1.5 + n) for n, (slug, *_) in enumerate(HAND_WRITTEN)}
    stories, archive = {}, []
    for days_ago, story in enumerate(STORIES, start=1):
        day, _ = interval_of(now, days_ago)
        published = day + timedelta(hours=7, minutes=15)  # 11:45 UTC that day
        url = story_url(base, day, story)
        (out / url.removeprefix(base + "/")).write_text(_story_page(story, url, published),
                                                        encoding="utf-8")
        stories[days_ago] = url
        archive.append((url, published))
    archive += [(f"{base}/articles/{slug}.html", dated[slug])
                for slug, _, _, _, in_archive in HAND_WRITTEN if in_archive]
    news = [(f"{base}/articles/{slug}.html", dated[slug], title)
            for slug, title, _, in_news, _ in HAND_WRITTEN if in_news]
    feed = [(f"articles/{slug}.html", dated[slug], title)
            for slug, title, in_feed, _, _ in HAND_WRITTEN if in_feed]
    (out / "feed.xml").write_text(_feed(feed, now), encoding="utf-8")
    (out / "sitemap-news.xml").write_text(_news_sitemap(news), encoding="utf-8")
    (out / "sitemap-archive.xml.gz").write_bytes(
        gzip.compress(_archive_sitemap(archive).encode(), mtime=0))
    newest = max(when for _, when in archive)
    (out / "sitemap.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        f"  <sitemap><loc>{base}/sitemap-news.xml</loc><lastmod>{_iso(newest)}</lastmod>"
        "</sitemap>\n"
        f"  <sitemap><loc>{base}/sitemap-archive.xml.gz</loc><lastmod>{_iso(newest)}</lastmod>"
        "</sitemap>\n</sitemapindex>\n", encoding="utf-8")
    return {"intervals": {k: [t.isoformat() for t in interval_of(now, k)]
                          for k in range(1, DAYS + 1)},
            "stories": stories}


def date_drop_files(folder: Path, now: datetime | None = None) -> list[str]:
    """Date the bundled drop files (those present) into last night's interval; returns them.

    Files you dropped yourself keep their times.
    """
    start, _ = interval_of(now or datetime.now(UTC), 1)
    done = []
    for n, name in enumerate(BUNDLED_DROP_FILES):
        path = folder / name
        if path.is_file() and not path.is_symlink():
            moment = (start + timedelta(hours=2, minutes=10 * n)).timestamp()
            os.utime(path, (moment, moment))
            done.append(name)
    return done


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _feed(items: list[tuple[str, datetime, str]], now: datetime) -> str:
    entries = "".join(
        f"    <item>\n      <title>{escape(title)}</title>\n      <link>{escape(link)}</link>\n"
        f"      <guid isPermaLink=\"false\">riverside-gazette-{escape(link)}</guid>\n"
        f"      <pubDate>{when:%a, %d %b %Y %H:%M:%S} +0000</pubDate>\n    </item>\n"
        for link, when, title in items
    )
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0">\n  <channel>\n'
            "    <title>Riverside Gazette</title>\n    <link>https://gazette.example/</link>\n"
            "    <description>Local news from Riverside and the Tamsen Valley. Fictional demo"
            " feed for newsflow, dated relative to today.</description>\n"
            f"{entries}  </channel>\n</rss>\n")


def _news_sitemap(items: list[tuple[str, datetime, str]]) -> str:
    urls = "".join(
        f"  <url>\n    <loc>{escape(url)}</loc>\n    <news:news>\n"
        "      <news:publication><news:name>Riverside Gazette</news:name>"
        "<news:language>en</news:language></news:publication>\n"
        f"      <news:publication_date>{_iso(when)}</news:publication_date>\n"
        f"      <news:title>{escape(title)}</news:title>\n    </news:news>\n  </url>\n"
        for url, when, title in items
    )
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"\n'
            '        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">\n'
            f"{urls}</urlset>\n")


def _archive_sitemap(items: list[tuple[str, datetime]]) -> str:
    urls = "".join(f"  <url><loc>{escape(url)}</loc><lastmod>{_iso(when)}</lastmod></url>\n"
                   for url, when in sorted(items, key=lambda item: item[1]))
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            f"{urls}</urlset>\n")


def _story_page(story: Story, url: str, published: datetime) -> str:
    canonical = "https://gazette.example/news/" + url.rsplit("/", 1)[1].removesuffix(".html")
    body = "".join(f"      <p>{escape(p)}</p>\n" for p in story.paragraphs)
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n  <meta charset="utf-8">\n'
        f"  <title>{escape(story.title)} | Riverside Gazette</title>\n"
        f'  <meta name="author" content="{escape(story.author)}">\n'
        f'  <link rel="canonical" href="{canonical}">\n'
        '  <meta property="og:site_name" content="Riverside Gazette">\n'
        f'  <meta property="article:published_time" content="{_iso(published)}">\n'
        "</head>\n<body>\n"
        '  <header class="site-header"><a href="/">Riverside Gazette</a></header>\n'
        "  <main>\n    <article>\n"
        f"      <h1>{escape(story.title)}</h1>\n"
        f'      <p class="byline">By {escape(story.author)}, {published:%b. %d, %Y}</p>\n'
        f"{body}    </article>\n  </main>\n</body>\n</html>\n"
    )
