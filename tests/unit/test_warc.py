"""Reading WARC files (newsflow.warc) and placing files and records in intervals (archives)."""

import gzip
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newsflow import archives, warc
from newsflow.sources import Window
from newsflow.warc import RecordSpec, WarcPage, WarcReject, read_warc, write_warc

WHEN = datetime(2025, 3, 1, 12, tzinfo=UTC)
BODY = b"<html><body><p>A page.</p></body></html>"


def read(path: Path, **options: object) -> list[WarcPage | WarcReject]:
    return list(read_warc(path, max_bytes=options.pop("max_bytes", 10_000), **options))


def summary(outcomes: list) -> list[tuple]:
    return [(type(o).__name__, o.offset, getattr(o, "reason", None)) for o in outcomes]


def pages(n: int) -> list[RecordSpec]:
    return [RecordSpec(f"https://a.example/{i}", WHEN + timedelta(minutes=i), BODY)
            for i in range(n)]


def test_name_time_reads_cc_news_names() -> None:
    assert warc.name_time("crawl-data/CC-NEWS/2025/03/CC-NEWS-20250301123456-00001.warc.gz") == (
        datetime(2025, 3, 1, 12, 34, 56, tzinfo=UTC))
    assert warc.name_time("CC-NEWS-20251399000000-00001.warc.gz") is None  # no 99th of 13
    assert warc.name_time("crawl-2025.warc.gz") is None


def test_hosts_match_whole_labels() -> None:
    hosts = warc.normalise_hosts(["*.Example.com", ".co.uk", " "])
    assert hosts == ("co.uk", "example.com")
    assert warc.host_kept("https://www.example.com/a", hosts)
    assert warc.host_kept("https://example.com/a", hosts)
    assert warc.host_kept("https://news.bbc.co.uk/a", hosts)
    assert not warc.host_kept("https://badexample.com/a", hosts)
    assert not warc.host_kept("https://example.com.evil.test/a", hosts)
    assert warc.host_kept("https://anything.test/", ())


@pytest.mark.parametrize("name", ["x.warc.gz", "x.warc"])
def test_a_file_cut_anywhere_gives_the_records_before_and_one_reject(
    tmp_path: Path, name: str
) -> None:
    path = tmp_path / name
    offsets = write_warc(path, pages(3))
    whole = path.read_bytes()
    assert summary(read(path)) == [("WarcPage", o, None) for o in offsets]
    for cut in range(offsets[1] + 1, len(whole) - 4, 7):
        path.write_bytes(whole[:cut])
        got = summary(read(path))
        if cut in offsets:  # cut between two records: a whole, shorter WARC, nothing lost
            assert got == [("WarcPage", o, None) for o in offsets if o < cut]
            continue
        # Whatever the cut, each record is a page or part of the one lost rest; the pages
        # are the records wholly before the cut.
        kept = [o for o in offsets if got and ("WarcPage", o, None) in got]
        assert got[: len(kept)] == [("WarcPage", o, None) for o in kept]
        assert len(got) == len(kept) + 1, (cut, got)
        lost = got[-1]
        assert lost[0] == "WarcReject" and lost[1] in offsets and lost[1] == offsets[len(kept)]
        assert lost[2].endswith(f"to {cut} (end of file) lost"), (cut, got)


def test_garbage_after_the_last_record_is_one_reject(tmp_path: Path) -> None:
    path = tmp_path / "x.warc.gz"
    write_warc(path, pages(2))
    size = path.stat().st_size
    path.write_bytes(path.read_bytes() + gzip.compress(b"WARC/1.0\r\nWARC-Ty"))
    got = summary(read(path))
    assert got[-1] == ("WarcReject", size, f"WARC file truncated or damaged inside its last"
                       f" record: bytes {size} to {path.stat().st_size} (end of file) lost")
    assert len(got) == 3
    # Bytes that are no gzip member at all after the last record.
    path.write_bytes(path.read_bytes()[:size] + b"junk that is not a record")
    lost = read(path)[-1]
    assert isinstance(lost, WarcReject) and lost.offset == size
    assert lost.reason.startswith("WARC file unreadable: Gzip decompression error")
    assert lost.reason.endswith(f"after the last whole record: bytes {size} to {size + 25}"
                                " (end of file) lost")


def test_not_a_warc_and_empty_files(tmp_path: Path) -> None:
    path = tmp_path / "x.warc"
    path.write_bytes(b"<html>not a WARC</html>\n" * 10)
    [reject] = read(path)
    assert reject.offset == 0 and "unreadable: Invalid WARC header" in reject.reason
    path.write_bytes(b"")
    assert read(path) == []


def test_filters_caps_and_encodings(tmp_path: Path) -> None:
    path = tmp_path / "x.warc.gz"
    specs = [
        RecordSpec("https://a.example/1", WHEN, gzip.compress(BODY),
                   headers=(("Content-Type", "text/html"), ("Content-Encoding", "gzip"))),
        RecordSpec("https://a.example/2", WHEN, BODY,
                   headers=(("Content-Type", "text/html"), ("Content-Encoding", "zstd"))),
        RecordSpec("https://b.example/3", WHEN, BODY),
        RecordSpec("https://a.example/4", WHEN, BODY * 1000),
        RecordSpec("https://a.example/5", WHEN + timedelta(days=1), BODY),
        RecordSpec("https://a.example/6", WHEN, b"  \n"),
        RecordSpec("ftp://a.example/7", WHEN, BODY),
        RecordSpec("https://a.example/8", WHEN, BODY),
    ]
    offsets = write_warc(path, specs)
    stats = warc.ReadStats()
    got = read(path, hosts=("a.example",), max_records=6, stats=stats,
               keep_date=lambda when: when is not None and when < WHEN + timedelta(hours=1))
    assert isinstance(got[0], WarcPage) and got[0].content == BODY
    assert summary(got[1:]) == [
        ("WarcReject", offsets[1], "unsupported Content-Encoding 'zstd'"),
        ("WarcReject", offsets[3], "body larger than 10000 bytes"),
        ("WarcReject", offsets[5], "empty response body"),
        ("WarcReject", offsets[6], "WARC-Target-URI is not an http(s) URL: 'ftp://a.example/7'"),
        ("WarcPage", offsets[7], None),
    ]
    assert (stats.responses, stats.filtered_hosts, stats.outside_interval) == (6, 1, 1)
    stats = warc.ReadStats()
    assert len(read(path, max_records=2, stats=stats)) == 2 and stats.stopped_at_max


DAY = timedelta(days=1)
START = datetime(2025, 3, 1, tzinfo=UTC)


def test_each_record_belongs_to_exactly_one_interval() -> None:
    files = [archives.WarcFile(f"f{i}", START + timedelta(hours=h))
             for i, h in enumerate((0, 20, 30, 30, 80))]
    spans = archives.spans(files)
    assert spans["f1"] == (START + timedelta(hours=20), START + timedelta(hours=30))
    assert spans["f2"] == spans["f3"] == (START + timedelta(hours=30), START + timedelta(hours=80))
    assert spans["f4"] == (START + timedelta(hours=80), None)
    windows = [Window.of(START + n * DAY, START + (n + 1) * DAY) for n in range(-2, 6)]
    # Records dated anywhere (before their file, inside, after, undated), in every file.
    dates = [None, *(START + timedelta(hours=h) for h in range(-30, 130, 7))]
    for name, span in spans.items():
        for when in dates:
            owners = [w for w in windows if archives.placed_in(when, span, w)]
            assert len(owners) == 1, (name, when, owners)
            # ... and that interval's run reads the file.
            assert archives.overlaps(span, owners[0])
    # A day reads the files named in it plus the one straddling into it.
    day_2 = windows[3]
    assert [n for n, s in spans.items() if archives.overlaps(s, day_2)] == ["f1", "f2", "f3"]
    assert all(archives.placed_in(when, spans["f0"], Window()) for when in dates)


def test_a_file_gzipped_whole_is_read_without_false_losses(tmp_path: Path) -> None:
    plain = tmp_path / "x.warc"
    offsets = write_warc(plain, pages(3))
    whole = tmp_path / "whole.warc.gz"
    whole.write_bytes(gzip.compress(plain.read_bytes()))
    # Offsets are then those of the uncompressed stream.
    assert summary(read(whole)) == [("WarcPage", o, None) for o in offsets]
    whole.write_bytes(whole.read_bytes()[:-30])  # cut inside the last record's member
    got = read(whole)
    assert isinstance(got[-1], WarcReject) and "unreadable" in got[-1].reason
    assert [o.offset for o in got if isinstance(o, WarcPage)] == offsets[:len(got) - 1]
