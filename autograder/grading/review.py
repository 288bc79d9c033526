"""Review reasons course-grade adds for what a submission tried and for answers that match another's.

* :func:`attempt_reasons`: the trusted judge's record of attempts (:mod:`autograder.trusted.attempts`) turned into
  review reasons. The record comes from the judge's stdout (a pipe only course-grade holds); it is still checked
  here to be a list of short strings and shown escaped.
* :func:`similarity_reasons`: the top pairs of the similarity report (:mod:`autograder.grading.similarity`) as
  review reasons of both students, with the matching lines.
"""

from __future__ import annotations

from autograder.grading.safe_text import visible

ATTEMPT = "attempt: {what}"
SIMILAR = ("{cell} matches {other} in ways independent answers do not (score {score}): {lines}")
MAX_REASONS = 13
MAX_CHARS = 240


def attempt_reasons(verdict: dict) -> list[str]:
    """One review reason per recorded attempt of the judge's ``verdict`` (malformed records are named as such)."""
    found = verdict.get("attempts", [])
    if not isinstance(found, list) or not all(isinstance(a, str) for a in found):
        return [ATTEMPT.format(what="the checker's attempt record was malformed")]
    return [ATTEMPT.format(what=visible(a)[:MAX_CHARS]) for a in found[:MAX_REASONS]]


def similarity_reasons(rows: list[dict], student: str) -> list[str]:
    """Review reasons of ``student`` from the flagged similarity rows (those with ``flag`` set)."""
    out = []
    for row in rows:
        if not row.get("flag") or student not in (row["a"], row["b"]):
            continue
        other = row["b"] if row["a"] == student else row["a"]
        out.append(SIMILAR.format(cell=visible(row["cell"]), other=visible(other), score=row["score"],
                                  lines=visible(row["lines"])[:MAX_CHARS]))
    return out
