"""Where the benchmarks keep their files (``.bench/``), where they read the eval corpora, and
how they show progress.
"""

import sys
import time

from newsflow import settings

ROOT = settings.PROJECT_ROOT
WORK = ROOT / ".bench"
DEFAULT_EVAL_DIR = ROOT.parent / "shared" / "eval"


def log(message: str) -> None:
    """A progress line on the terminal."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
