"""Visible test vs self-check vs grade on every corpus answer (issue 26: one verdict).

    .venv/bin/python benchmarks/bench_verdicts.py [--chapter 05_cnn_cifar] [--workers 2] [--json out.json]

For every answer of every chapter's ``correct.py`` and ``wrong.py`` (``autograder/chapters/chNN_*/``) it computes the
notebook's visible test verdict, course-selfcheck's and course-grade's (machinery: ``tests/verdicts.py``), prints a
Markdown table of counts per chapter and every disagreeing answer, with the load average before and after.
A visible-vs-check disagreement listed in the chapter's ``NOT_VISIBLE`` (speed rules a visible test cannot time
fairly) is counted apart, as allowed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def summarise(rows: list[dict]) -> str:
    """Markdown: counts per chapter, then each disagreement."""
    lines = ["| chapter | answers (correct + wrong) | visible = self-check | allowed (NOT_VISIBLE) "
             "| visible != self-check | self-check != grade |", "|---|---|---|---|---|---|"]
    bad = []
    for chapter in sorted({r["chapter"] for r in rows}):
        mine = [r for r in rows if r["chapter"] == chapter]
        n_ok = sum(r["kind"] == "correct" for r in mine)
        agree = sum(r["visible"] == r["selfcheck"] for r in mine)
        allowed = sum(r["visible"] != r["selfcheck"] and bool(r["not_visible"]) for r in mine)
        differ = [r for r in mine if r["visible"] != r["selfcheck"] and not r["not_visible"]]
        split = [r for r in mine if r["selfcheck"] != r["grade"]]
        bad += differ + [r for r in split if r not in differ]
        lines.append(f"| {chapter} | {len(mine)} ({n_ok} + {len(mine) - n_ok}) | {agree} | {allowed} | {len(differ)} "
                     f"| {len(split)} |")
    if bad:
        lines += ["", "| chapter | function | answer (corpus) | visible | self-check | grade |",
                  "|---|---|---|---|---|---|"]
        word = {True: "pass", False: "FAIL"}
        lines += [f"| {r['chapter']} | {r['fn']} | {r['answer']} ({r['kind']}) | {word[r['visible']]} "
                  f"| {word[r['selfcheck']]} | {word[r['grade']]} |" for r in bad]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from tests.verdicts import answers, table

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chapter", action="append", help="only this chapter (repeatable)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write every row as JSON")
    args = parser.parse_args(argv)
    rows = [r for r in answers() if not args.chapter or r["chapter"] in args.chapter]
    load_start, t0 = os.getloadavg(), time.monotonic()
    result = table(rows, args.workers)
    seconds, load_end = time.monotonic() - t0, os.getloadavg()
    print(summarise(result))
    print(f"\n{len(result)} answers in {seconds:.0f} s with {args.workers} workers; load average (1/5/15 min) "
          f"{' '.join(f'{x:.2f}' for x in load_start)} before, {' '.join(f'{x:.2f}' for x in load_end)} after")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
