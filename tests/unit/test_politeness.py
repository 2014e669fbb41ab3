import threading

from newsflow.politeness import RobotsFile, RobotsRules, SharedHostLimiter, robots_url

ROBOTS = """\
User-agent: otherbot
Disallow: /

User-agent: *
Disallow: /private/
Disallow: /*?print=1
Allow: /private/press-room
Crawl-delay: 2.5
"""


def test_robots_url_is_the_origins() -> None:
    assert robots_url("HTTPS://Gazette.Example:8443/news/a?b=c") == (
        "https://gazette.example:8443/robots.txt"
    )


def test_disallow_allow_and_wildcards_are_obeyed() -> None:
    robots = RobotsFile(200, ROBOTS)
    assert robots.verdict("https://g.example/news/a").allowed
    private = robots.verdict("https://g.example/private/x")
    assert (private.allowed, private.reason) == (False, "disallowed by robots.txt")
    assert not robots.verdict("https://g.example/news/a?print=1").allowed
    assert robots.verdict("https://g.example/private/press-room").allowed


def test_crawl_delay_is_reported() -> None:
    assert RobotsFile(200, ROBOTS).verdict("https://g.example/news/a").crawl_delay == 2.5


def test_group_for_another_agent_does_not_apply() -> None:
    assert RobotsFile(200, "User-agent: otherbot\nDisallow: /\n").verdict(
        "https://g.example/a"
    ).allowed


def test_group_naming_newsflow_applies() -> None:
    assert not RobotsFile(200, "User-agent: newsflow\nDisallow: /\n").verdict(
        "https://g.example/a"
    ).allowed


def test_missing_robots_txt_allows_everything() -> None:
    for status in (401, 403, 404, 410):
        assert RobotsFile(status, "Disallow: /").verdict("https://g.example/a").allowed


def test_unavailable_robots_txt_disallows_the_host() -> None:
    for robots, detail in (
        (RobotsFile(503, ""), "HTTP 503"),
        (RobotsFile(429, ""), "HTTP 429"),
        (RobotsFile(None, "", "ConnectionError: refused"), "ConnectionError: refused"),
    ):
        verdict = robots.verdict("https://g.example/a")
        assert not verdict.allowed
        assert verdict.reason == f"robots.txt unavailable ({detail}): host skipped"


def test_rules_load_each_origin_once_even_from_many_threads() -> None:
    loads: list[str] = []

    def load(url: str) -> RobotsFile:
        loads.append(url)
        return RobotsFile(200, ROBOTS)

    rules = RobotsRules(load)
    threads = [
        threading.Thread(target=rules, args=(f"https://g.example/news/{n}",)) for n in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not rules("https://g.example/private/x").allowed
    assert rules("https://other.example/private/x").allowed is False
    assert loads == ["https://g.example/robots.txt", "https://other.example/robots.txt"]


def test_shared_limiter_sleeps_as_long_as_the_claim_says() -> None:
    claims: list[tuple[str, float]] = []
    sleeps: list[float] = []
    waits = iter([0.0, 0.7])

    def claim(host: str, interval: float) -> float:
        claims.append((host, interval))
        return next(waits)

    limiter = SharedHostLimiter(claim, sleep=sleeps.append)
    limiter("g.example", 1.0)
    limiter("g.example", 2.5)
    assert claims == [("g.example", 1.0), ("g.example", 2.5)]
    assert sleeps == [0.7]
