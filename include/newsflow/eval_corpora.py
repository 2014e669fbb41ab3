"""The corpora of the shared eval folder (``aeb``, ``fundus``, ``trafilatura``, ``wcxb``): their
pages and the ground truth the annotators give for each, read as ``make eval`` scores them.
"""

import ast
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LOGGER = logging.getLogger(__name__)

CORPORA = ("aeb", "fundus", "trafilatura", "wcxb")
PAGE_TYPES = ("article", "listing", "collection", "product", "forum", "documentation",
              "service", "other")


@dataclass(frozen=True)
class Page:
    """One evaluation page: where its HTML is and what the annotators expect."""

    corpus: str
    page_id: str
    path: Path
    url: str | None
    expected: dict[str, Any]



def load_pages(eval_dir: Path, corpora: Sequence[str] = CORPORA) -> list[Page]:
    """The pages of the chosen corpora with their ground truth.

    Args:
        eval_dir: the shared eval folder (see its README).
        corpora: which of ``aeb``, ``fundus``, ``trafilatura`` to load.

    Returns:
        The pages, corpus by corpus.
    """
    pages: list[Page] = []
    if "aeb" in corpora:
        truth = json.loads((eval_dir / "aeb" / "ground-truth.json").read_text(encoding="utf-8"))
        for page_id, item in sorted(truth.items()):
            pages.append(Page("aeb", page_id, eval_dir / "aeb" / "html" / f"{page_id}.html.gz",
                              item.get("url"), {"body": item["articleBody"]}))
    if "fundus" in corpora:
        data = json.loads((eval_dir / "fundus" / "expected.json").read_text(encoding="utf-8"))
        for item in data["items"]:
            expected = item["expected"]
            pages.append(Page("fundus", item["html"], eval_dir / "fundus" / item["html"],
                              item.get("url"), {
                                  "title": expected.get("title"),
                                  "authors": _literal(expected.get("authors"), []),
                                  "published": expected.get("publishing_date"),
                                  "body": _fundus_body(_literal(expected.get("body"), {})),
                              }))
    if "trafilatura" in corpora:
        data = json.loads(
            (eval_dir / "trafilatura" / "evaldata.json").read_text(encoding="utf-8")
        )
        for url, item in data.items():
            pages.append(Page("trafilatura", url,
                              eval_dir / "trafilatura" / "html" / f"{item['file']}.gz", url,
                              {"with": item.get("with", []), "without": item.get("without", [])}))
    if "wcxb" in corpora:
        truth = json.loads((eval_dir / "wcxb" / "ground-truth.json").read_text(encoding="utf-8"))
        for page_id, item in sorted(truth.items()):
            pages.append(Page("wcxb", page_id, eval_dir / "wcxb" / "html" / f"{page_id}.html.gz",
                              item.get("url"), {
                                  "page_type": item.get("page_type"),
                                  "title": item.get("title"),
                                  "author": item.get("author"),
                                  "published": item.get("publish_date"),
                                  "body": item.get("articleBody") or "",
                              }))
    return pages


def _literal(value: Any, default: Any) -> Any:
    """Fundus stores lists and dicts as their Python repr; read them back."""
    if isinstance(value, str):
        try:
            return ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return value
    return default if value is None else value


def _fundus_body(body: dict[str, Any]) -> str:
    """Summary, section headlines and paragraphs joined with newlines."""
    parts: list[str] = list(body.get("summary") or [])
    for section in body.get("sections") or []:
        parts.extend(section.get("headline") or [])
        parts.extend(section.get("paragraphs") or [])
    return "\n".join(parts)
