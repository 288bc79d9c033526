"""``course-selfcheck``: grade your own notebook offline, with the same checks as the instructor.

    course-selfcheck release/01_perceptron/01_perceptron.ipynb

Your solution cells run in a fresh Python process (with the chapter's setup cell), and every hidden check of
the chapter runs against them from a separate process, exactly as ``course-grade`` does. The report lists
each exercise with its points, what is wrong, and a hint. Check code is never printed: messages say what
your function returned and what was expected.

Exit code: 0 when every exercise passes, 1 otherwise, 2 when the notebook cannot be read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HINTS = [
    ("not implemented", "Replace `raise NotImplementedError()` in the exercise cell with your code, run the cell, "
                        "then run the visible tests below it."),
    ("is not defined", "Define the function in its exercise cell under its original name (did you rename it, "
                       "delete the cell, or does the cell raise an error?)."),
    ("must be a function written", "Write the function yourself in its exercise cell; imported or assigned "
                                   "functions are not accepted."),
    ("did not finish within", "Your code is far too slow or never stops: look for a loop whose condition never "
                              "changes, and use NumPy operations instead of Python loops over elements."),
    ("crashed", "Your code ended the Python process (os._exit, a crash, or running out of memory)."),
    ("has shape", "Check the shape of what you return against the docstring (batch-first: one row per "
                  "example); watch for missing or extra axes, e.g. (N, 1) instead of (N,)."),
    ("should return a tuple", "Return exactly the values the docstring lists, as a tuple."),
    ("nan or inf", "Something overflows or divides by zero: look at exp/log of large values and at divisions."),
    ("modified its input", "Work on copies: don't change the arrays you are given (no `x += ...` on inputs)."),
    ("raised", "Your function raised an error on one of the test inputs (random shapes and values): try your "
               "function on other shapes than the visible tests use."),
    ("is wrong", "The values differ from the expected ones: re-read the exercise text and compare your result "
                 "with a small example worked out by hand."),
]


def hint_for(message: str) -> str:
    for pattern, hint in HINTS:
        if pattern in message:
            return hint
    return "Re-read the exercise text and the docstring, then run the visible tests."


def chapter_of(path: Path, chapter: str | None) -> str:
    from autograder.build import chapters

    known = chapters()
    if chapter:
        if chapter not in known:
            raise SystemExit(f"unknown chapter {chapter!r}; known: {', '.join(known)}")
        return chapter
    for name in known:
        if path.stem.startswith(name) or name in path.parts:
            return name
    raise SystemExit(f"cannot tell the chapter of {path}; pass --chapter (one of {', '.join(known)})")


def selfcheck(path: Path, chapter: str | None = None, timeout: float = 60.0, mem_mb: int | None = 4096,
              out=sys.stdout) -> int:
    import nbformat

    from autograder.build import render_source
    from autograder.verify import plan_from_notebook, submission_cells, verify_cells

    chapter = chapter_of(path, chapter)
    try:
        learner = nbformat.read(str(path), as_version=4)
    except Exception as exc:
        print(f"{path} cannot be read as a notebook: {type(exc).__name__}: {str(exc)[:200]}", file=out)
        return 2
    plan = plan_from_notebook(nbformat.reads(render_source(chapter), as_version=4))
    cells, notes = submission_cells(plan, learner)
    print(f"Checking {path} against chapter {chapter} ({len(plan['tests'])} exercises)...", file=out, flush=True)
    result = verify_cells(cells, plan["tests"], path.parent.resolve(), timeout=timeout, mem_mb=mem_mb)
    for note in notes:
        print(f"  note: {note}", file=out)
    for err in result["setup"]:
        print(f"  note: a cell raised an error when run: {err}", file=out)
    got = total = 0.0
    for test in plan["tests"]:
        verdict = result["tests"][test["id"]]
        names = ", ".join(fn for _, fn in test["checks"]) or test["id"]
        total += test["points"]
        if verdict["ok"]:
            got += test["points"]
            print(f"  [PASS] {names} ({test['points']:g}/{test['points']:g} points)", file=out)
        else:
            print(f"  [FAIL] {names} (0/{test['points']:g} points)", file=out)
            for line in verdict["message"].splitlines():
                print(f"         {line}", file=out)
            print(f"         hint: {hint_for(verdict['message'])}", file=out)
    print(f"Score: {got:g}/{total:g}", file=out)
    return 0 if got == total else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="course-selfcheck", description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--chapter", help="chapter name (default: from the notebook's file name)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per check")
    args = parser.parse_args(argv)
    return selfcheck(args.notebook, args.chapter, args.timeout)


if __name__ == "__main__":
    sys.exit(main())
