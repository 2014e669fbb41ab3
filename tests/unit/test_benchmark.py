"""The benchmark's own arithmetic: what it strips from pages and how it counts politeness waits."""

from newsflow.bench_deployment import _politeness
from newsflow.bench_site import CANONICAL_LINK


def test_copies_of_a_page_lose_only_their_canonical_link() -> None:
    page = (b'<head><link rel="stylesheet" href="/s.css"><LINK REL=canonical'
            b' href="https://example.com/a"><link href="/b" rel="canonical alternate"></head>')

    assert CANONICAL_LINK.sub(b"", page) == b'<head><link rel="stylesheet" href="/s.css"></head>'


def test_politeness_wait_is_the_fetch_time_with_no_page_request_in_flight() -> None:
    served = [
        ("127.0.0.1", "/n/feed.xml", 0.0, 0.5),  # discovery, not a page
        ("127.0.0.1", "/n/0.html", 10.0, 10.2),
        ("127.0.0.2", "/n/1.html", 10.1, 10.4),  # overlaps the first
        ("127.0.0.1", "/n/2.html", 11.0, 11.1),
        ("127.0.0.2", "/n/3.html", 11.5, 12.0),
    ]

    figures = _politeness(served, (9.5, 12.5, 123), wall=20.0)

    assert figures["page_requests_span_seconds"] == 2.0
    # In flight 10.0-10.4, 11.0-11.1 and 11.5-12.0: 1.0 s of 2.0 s.
    assert figures["waiting_seconds"] == 1.0
    assert figures["share_of_wall"] == 0.05
    assert figures["fetch_seconds"] == 3.0
    assert figures["busiest_host_pages"] == 2
