"""The news-please side of the WARC benchmark: run inside news-please's own virtual environment.

Runs news-please's CC-NEWS extractor (``newsplease.crawler.commoncrawl_extractor``) on one
local WARC file, as its ``extract_from_commoncrawl`` does after the download: its own
record loop (warcio), ``NewsPlease.from_warc`` per response record, no host or date filter,
errors skipped. Its download step is left out (it asks S3 and the Common Crawl site first,
which this machine cannot reach), and the file is not deleted. Prints one JSON object:
seconds, CPU seconds, articles with a main text, records passed and total.
Imports nothing of newsflow: news-please is not a project dependency.
"""

import json
import logging
import sys
import time

# news-please 1.6.16's extractor and crawler modules import each other: imported from
# the extractor first, the cycle fails; from the crawler first, it resolves.
import newsplease.crawler.commoncrawl_crawler  # noqa: F401
from newsplease.crawler.commoncrawl_extractor import CommonCrawlExtractor


def main() -> int:
    path = sys.argv[1]
    articles = []
    counts = {}

    def on_article(article: object) -> None:
        articles.append(len(getattr(article, "maintext", None) or ""))

    def on_warc(warc_path: str, passed: int, discarded: int, errors: int, total: int) -> None:
        counts.update(passed=passed, discarded=discarded, errors=errors, total=total)

    extractor = CommonCrawlExtractor()
    # What extract_from_commoncrawl sets before its (download and) process step.
    settings = {
        "warc_path": path, "filter_valid_hosts": None, "filter_start_date": None,
        "filter_end_date": None, "filter_strict_date": True, "continue_after_error": True,
        "ignore_unicode_errors": False, "fetch_images": False,
        "callback_on_article_extracted": on_article, "callback_on_warc_completed": on_warc,
        "delete_warc_after_extraction": False, "log_pathname_fully_extracted_warcs": None,
        "log_level": logging.ERROR,
    }
    for name, value in settings.items():
        setattr(extractor, f"_CommonCrawlExtractor__{name}", value)
    extractor._CommonCrawlExtractor__setup()
    started, cpu = time.perf_counter(), time.process_time()
    extractor._CommonCrawlExtractor__process_warc_gz_file(path)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    json.dump({"seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2),
               "articles": sum(1 for chars in articles if chars), **counts}, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
