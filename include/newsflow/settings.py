"""newsflow settings: every tunable in one place, each overridable from the environment."""

import os
from pathlib import Path

# The project root, used to find the bundled demo sources and the embedded database.
PROJECT_ROOT = Path(__file__).resolve().parents[2]

# YAML list of sources; the default is the offline demo bundled with the project.
DEFAULT_SOURCES_FILE = PROJECT_ROOT / "include" / "sources.yaml"


def sources_file() -> Path:
    """The sources file in force: ``$NEWSFLOW_SOURCES``, read at call time, or the default."""
    return Path(os.environ.get("NEWSFLOW_SOURCES") or DEFAULT_SOURCES_FILE)


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
