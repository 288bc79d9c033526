"""The CSV files course-grade writes (grades, exports, similarity): written atomically, one line per row."""

from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path

from autograder.grading.safe_text import csv_cell

CSV_MODE = 0o644  # group and others may read the grades (the course folder's own permissions still apply)


def one_line(text) -> str:
    """``text`` on one physical line (CSV cells never hold raw newlines)."""
    return " ".join(str(text).split())


def read_rows(path: Path, header: list[str]) -> list[dict]:
    """The rows of ``path`` when it exists with exactly ``header`` as its columns, else []."""
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return list(reader) if reader.fieldnames == header else []


def write_csv_atomic(path: Path, header: list[str], rows: list[dict]):
    """Write ``rows`` under ``header`` via a temporary file in the same folder and ``os.replace`` (never
    half-written), mode :data:`CSV_MODE`, every cell on one line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, CSV_MODE)
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=header)
            w.writeheader()
            for row in rows:
                w.writerow({k: csv_cell(v) for k, v in row.items()})  # one line, no formula, no escape codes
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


HEADER_TAIL = ["needs_review", "reasons", "notes", "isolation"]


def csv_rows(results: list[dict], columns: list[str]) -> list[dict]:
    """The grades CSV's rows of ``results`` (``columns``: the test cells, ``nb:cell``)."""
    return [{"student": r["student"], "total": f"{r['total']:g}", "max": f"{r['max']:g}", "status": r["status"],
             **{c: f"{r['scores'].get(c, 0):g}" for c in columns}, "needs_review": "yes" if r["review"] else "no",
             "reasons": " | ".join(r["review"]), "notes": " | ".join(r["notes"]),
             "isolation": r.get("isolation", "bwrap")} for r in results]


def write_grades_csv(path: Path, rows: list[dict], columns: list[str]):
    """The grades CSV, written atomically (:func:`write_csv_atomic`); rows of students
    not in ``rows`` already in the file are kept (a partial run)."""
    header = ["student", "total", "max", "status", *columns, *HEADER_TAIL]
    merged = {row["student"]: row for row in read_rows(path, header)}
    merged.update({row["student"]: row for row in rows})
    write_csv_atomic(path, header, [merged[s] for s in sorted(merged)])
