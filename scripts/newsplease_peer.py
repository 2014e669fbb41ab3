"""The news-please side of `make bench`: run inside news-please's own virtual environment.

Reads a JSON list of URLs on stdin, hands them to ``NewsPlease.from_urls`` (news-please's
own fetching and extraction; images not fetched, as newsflow fetches none), and prints one
JSON object: seconds, and per URL whether an article with a main text came back.
Imports nothing of newsflow: news-please is not a project dependency.
"""

import json
import sys
import time

from newsplease import NewsPlease


def main() -> int:
    urls = json.load(sys.stdin)
    started = time.perf_counter()
    results = NewsPlease.from_urls(urls, request_args={"timeout": 30}, fetch_images=False)
    seconds = time.perf_counter() - started
    texts = {}
    for url in urls:
        article = results.get(url)
        text = getattr(article, "maintext", None) if article else None
        texts[url] = len(text or "")
    json.dump({"seconds": seconds, "maintext_chars": texts}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
