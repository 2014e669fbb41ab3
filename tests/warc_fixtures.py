"""CC-NEWS-style WARC files written at test time with FastWARC's writer (gzip per record).

Three files over two days (by default 1 and 2 March 2025, UTC days; ``first`` moves them
to any two consecutive run intervals), named as CC-NEWS names them:

- ``...20250301000000-00001``: spans 00:00 to 20:00 on the 1st. Two articles (one sent
  with an unknown charset label, in windows-1252), a PDF, a 404, a record of a host the
  source does not keep, and a revisit and a request record (which are no inputs).
- ``...20250301200000-00002``: spans 20:00 on the 1st to 06:00 on the 2nd, so it
  straddles midnight: one article dated the 1st, one dated the 2nd.
- ``...20250302060000-00003``: the last file (its span is open), cut short inside its
  second record, as an interrupted download leaves it: one article, then the lost rest.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from newsflow.warc import RecordSpec, write_warc

PARAGRAPH = (
    "The harbour board met on Tuesday evening and voted to repair the sea wall before the "
    "winter storms, after engineers warned that the old stones had shifted by several "
    "centimetres since the spring survey and could give way in a heavy sea. "
)
DAY_1 = (datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 3, 2, tzinfo=UTC))
DAY_2 = (datetime(2025, 3, 2, tzinfo=UTC), datetime(2025, 3, 3, tzinfo=UTC))
HOSTS = ["a.example", "example.co.uk"]  # the source's hosts filter


def article(title: str, charset: str = "utf-8", extra: str = "") -> bytes:
    """A small article page long enough to pass the clean stage."""
    return (
        f"<!doctype html><html><head><title>{title}</title></head><body><article>"
        f"<h1>{title}</h1><p>{PARAGRAPH}{extra}</p><p>{PARAGRAPH}</p></article></body></html>"
    ).encode(charset)


FIRST = DAY_1[0]


@dataclass(frozen=True)
class WarcDays:
    """The written files and what each day's run must make of them."""

    folder: Path
    files: list[Path]
    offsets: dict[str, tuple[str, int]]  # article URL -> (file, record offset)
    articles: dict[str, set[str]]  # day -> article URLs
    rejects: dict[str, set[str]]  # day -> reject reasons


def write_days(folder: Path, first: datetime = FIRST) -> WarcDays:
    """Write the three files into ``folder``; returns what a run of each day must give.

    ``first`` is the start of the first day's interval; the second day follows it.
    """
    folder.mkdir(parents=True, exist_ok=True)

    def at(day: int, hour: int) -> datetime:
        return first + timedelta(days=day - 1, hours=hour)

    html = (("Content-Type", "text/html; charset=utf-8"),)
    file_1 = [
        RecordSpec("https://a.example/news/harbour-wall", at(1, 1), article("Harbour wall")),
        RecordSpec(
            "https://news.example.co.uk/ferry-fares", at(1, 2),
            article("Ferry fares rise", "cp1252", extra=" Caf\u00e9 owners said \u00abno\u00bb."),
            headers=(("Content-Type", "text/html; charset=x-no-such-charset"),),
        ),
        RecordSpec("https://a.example/report.pdf", at(1, 3), b"%PDF-1.4 a report",
                   headers=(("Content-Type", "application/pdf"),)),
        RecordSpec("https://a.example/gone", at(1, 4), b"<html>not here</html>", status=404,
                   headers=html),
        RecordSpec("https://elsewhere.test/news/kept-out", at(1, 5), article("Kept out")),
        RecordSpec("https://a.example/news/harbour-wall", at(1, 6), record_type="revisit"),
        RecordSpec("https://a.example/news/harbour-wall", at(1, 7), record_type="request",
                   headers=(("Host", "a.example"),)),
    ]
    file_2 = [
        RecordSpec("https://a.example/news/late-ferry", at(1, 21), article("Late ferry")),
        RecordSpec("https://a.example/news/night-storm", at(2, 1), article("Night storm")),
    ]
    file_3 = [
        RecordSpec("https://a.example/news/morning-tide", at(2, 7), article("Morning tide")),
        RecordSpec("https://a.example/news/cut-short", at(2, 8), article("Cut short") * 20),
    ]
    paths = [folder / f"CC-NEWS-{moment:%Y%m%d%H%M%S}-0000{n}.warc.gz"
             for n, moment in enumerate((at(1, 0), at(1, 20), at(2, 6)), start=1)]
    offsets: dict[str, tuple[str, int]] = {}
    for path, records in zip(paths, (file_1, file_2, file_3), strict=True):
        for spec, offset in zip(records, write_warc(path, records), strict=True):
            if spec.record_type == "response":
                offsets.setdefault(spec.url, (str(path), offset))
    # The download broke off in the middle of the third file's second record.
    cut = offsets["https://a.example/news/cut-short"][1] + 300
    paths[2].write_bytes(paths[2].read_bytes()[:cut])
    return WarcDays(
        folder, paths, offsets,
        articles={
            "day1": {"https://a.example/news/harbour-wall",
                     "https://news.example.co.uk/ferry-fares",
                     "https://a.example/news/late-ferry"},
            "day2": {"https://a.example/news/night-storm",
                     "https://a.example/news/morning-tide"},
        },
        rejects={
            "day1": {"not an article page: content type application/pdf", "HTTP 404"},
            "day2": {f"WARC file truncated inside this record: bytes "
                     f"{offsets['https://a.example/news/cut-short'][1]} to {cut}"
                     " (end of file) lost"},
        },
    )
