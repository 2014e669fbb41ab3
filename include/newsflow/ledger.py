"""The ledger of a batch: every input in exactly one of articles or rejects, nothing lost.

The rule is SQL (views ``v_batch_ledger`` and ``v_batch_ledger_summary``, migration 008),
so analysts can read it too; these functions are its Python face, used by the load
stage's log and by the fault suite.
"""

import logging
from dataclasses import dataclass
from typing import Any

LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class LedgerEntry:
    """What became of one input of a batch."""

    source_name: str
    input: str
    outcome: str  # article, reject, lost (no outcome) or duplicate (more than one)
    article_id: int | None
    reject_stage: str | None
    reject_reason: str | None


@dataclass(frozen=True)
class LedgerSummary:
    """Counts of a batch's inputs by outcome."""

    inputs: int = 0
    articles: int = 0
    rejects: int = 0
    lost: int = 0
    duplicates: int = 0

    @property
    def balanced(self) -> bool:
        """Inputs in = articles + rejects: nothing lost, nothing counted twice.

        Every input is counted under exactly one outcome, so that is no lost and no
        duplicate input.
        """
        return self.lost == 0 and self.duplicates == 0


def batch_ledger(conn: Any, batch_key: str) -> LedgerSummary:
    """The ledger counts of one batch (all zero for a batch that has no inputs).

    Args:
        conn: an open connection.
        batch_key: the batch.

    Returns:
        Its inputs, articles, rejects, lost and duplicates.
    """
    with conn.cursor() as cur:
        cur.execute(
            "SELECT inputs, articles, rejects, lost, duplicates FROM v_batch_ledger_summary"
            " WHERE batch_key = %s",
            (batch_key,),
        )
        row = cur.fetchone()
    return LedgerSummary(*row) if row else LedgerSummary()


def ledger_entries(conn: Any, batch_key: str) -> list[LedgerEntry]:
    """Every input of a batch with its outcome, in source and input order."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT source_name, input, outcome, article_id, reject_stage, reject_reason"
            " FROM v_batch_ledger WHERE batch_key = %s ORDER BY source_name, input",
            (batch_key,),
        )
        return [LedgerEntry(*row) for row in cur.fetchall()]
