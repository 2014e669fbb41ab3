"""The benchmark's peer: news-please, installed in its own virtual environment under
``.bench/`` (not a project dependency), run over a sample of the bench URLs.
"""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from newsflow.bench_workspace import ROOT, WORK, log

NEWSPLEASE_VERSION = "1.6.16"
NEWSPLEASE_VENV = WORK / "newsplease-venv"


def newsplease_python() -> Path:
    """The Python of news-please's own venv, made (from PyPI) on first use."""
    python = NEWSPLEASE_VENV / "bin" / "python"
    if not python.exists() or subprocess.run(
        [str(python), "-c", "import newsplease"], capture_output=True).returncode:
        log(f"installing news-please {NEWSPLEASE_VERSION} into {NEWSPLEASE_VENV}"
            " (from PyPI, once)")
        subprocess.run([sys.executable, "-m", "venv", str(NEWSPLEASE_VENV)], check=True)
        uv = Path(sys.executable).parent / "uv"
        installer = ([str(uv), "pip", "install", "--quiet", "--python", str(python)]
                     if uv.exists() else [str(python), "-m", "pip", "install", "--quiet"])
        subprocess.run([*installer, f"news-please=={NEWSPLEASE_VERSION}"], check=True)
    return python


def newsplease_peer(urls: list[str]) -> dict[str, Any]:
    """news-please ``from_urls`` over ``urls``, installed in its own venv on first use."""
    python = newsplease_python()
    log(f"news-please {NEWSPLEASE_VERSION}: from_urls over {len(urls)} URLs")
    result = subprocess.run(
        [str(python), str(ROOT / "scripts" / "newsplease_peer.py")], input=json.dumps(urls),
        capture_output=True, text=True, check=False)
    if result.returncode:
        raise SystemExit(f"news-please failed:\n{result.stderr[-3000:]}")
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    articles = sum(1 for chars in figures["maintext_chars"].values() if chars)
    return {"urls": len(urls), "articles": articles, "seconds": round(figures["seconds"], 2),
            "articles_per_s": round(articles / figures["seconds"], 2)}
