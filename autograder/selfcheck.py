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

from autograder.chapters import chapter_names
from autograder.paths import ROOT, source_path
from course.hints import hint_for
from course.i18n import gettext as _
from course.i18n import join, using


def chapter_of(path: Path, chapter: str | None) -> str:
    known = chapter_names()
    if chapter:
        if chapter not in known:
            raise SystemExit(_("unknown chapter {chapter!r}; known: {known}", chapter=chapter, known=join(known)))
        return chapter
    for name in known:
        if path.stem.startswith(name) or name in path.parts:
            return name
    raise SystemExit(_("cannot tell the chapter of {path}; pass --chapter (one of {known})", path=path,
                       known=join(known)))


def source_notebook(chapter: str):
    """The chapter's source notebook: the committed ``source/`` one in a checkout of the course, else (an installed
    course) rendered from the chapter text."""
    import nbformat

    committed = source_path(chapter, ROOT)
    if committed.is_file():
        return nbformat.read(str(committed), as_version=4)
    from autograder.chapters.text import render_source

    return nbformat.reads(render_source(chapter), as_version=4)


def selfcheck(path: Path, chapter: str | None = None, timeout: float | None = None, mem_mb: int | None = None,
              out=sys.stdout, only: set[str] | None = None, lang: str | None = None) -> int:
    """Print the report of ``path`` to ``out`` (``only``: these test ids only; ``lang``: the report's language,
    default COURSE_LANG, else the locale); the exit code."""
    if lang is None:  # the language of the notebook checked (a release-zh_CN notebook says so), else the usual
        lang = declared_language(path)
    with using(lang):
        return report(path, chapter, timeout, mem_mb, out, only)


def declared_language(path: Path) -> str | None:
    """The language ``path`` declares in its metadata (None when it declares none or cannot be read)."""
    from autograder.notebook import load, notebook_language

    try:
        return notebook_language(load(path), default=None)
    except (OSError, ValueError, RecursionError):
        return None


def report(path: Path, chapter: str | None, timeout: float | None, mem_mb: int | None, out, only) -> int:
    """:func:`selfcheck` in the current message language."""
    import nbformat

    from autograder.trusted.recheck import DEFAULT_MEM_MB, DEFAULT_TIMEOUT, check_notebook

    chapter = chapter_of(path, chapter)
    try:
        learner = nbformat.read(str(path), as_version=4)
    except Exception as exc:
        print(_("{path} cannot be read as a notebook: {error_type}: {error}", path=path,
                error_type=type(exc).__name__, error=str(exc)[:200]), file=out)
        return 2
    print(_("Checking {path} against chapter {chapter}...", path=path, chapter=chapter), file=out, flush=True)
    # the function course-grade scores with, with the same defaults: one verdict
    result = check_notebook(source_notebook(chapter), learner, timeout or DEFAULT_TIMEOUT, mem_mb or DEFAULT_MEM_MB,
                            only=only)
    plan = result["plan"]
    notes = result["notes"]
    for note in notes:
        print("  " + _("note: {note}", note=note), file=out)
    for err in result["setup"]:
        print("  " + _("note: a cell raised an error when run: {error}", error=err), file=out)
    got = total = 0.0
    for test in plan["tests"]:
        verdict = result["tests"][test["id"]]
        names = ", ".join(fn for _, fn in test["checks"]) or test["id"]
        total += test["points"]
        if verdict["ok"]:
            got += test["points"]
            print("  " + _("[PASS] {names} ({got:g}/{points:g} points)", names=names, got=test["points"],
                           points=test["points"]), file=out)
        else:
            print("  " + _("[FAIL] {names} (0/{points:g} points)", names=names, points=test["points"]), file=out)
            for line in verdict["message"].splitlines():
                print(f"         {line}", file=out)
            print("         " + _("hint: {hint}", hint=hint_for(verdict["message"], verdict.get("hint"))), file=out)
        if verdict.get("note"):
            print("         " + _("note: {note}", note=verdict["note"]), file=out)
    print(_("Score: {got:g}/{total:g}", got=got, total=total), file=out)
    return 0 if got == total else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="course-selfcheck", description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--chapter", help="chapter name (default: from the notebook's file name)")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per check (default: course-grade's)")
    parser.add_argument("--lang", default=None, help="language of the report, e.g. zh_CN (default: COURSE_LANG, "
                                                     "else the locale, else English)")
    args = parser.parse_args(argv)
    return selfcheck(args.notebook, args.chapter, args.timeout, lang=args.lang)


if __name__ == "__main__":
    sys.exit(main())
