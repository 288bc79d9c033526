"""Build the course notebooks: each chapter's text -> ``source/`` -> ``release/``.

Each chapter is written once, as a jupytext percent-format text file, ``autograder/chapters/chNN_<topic>/chapter.py``
(easy to diff and review, and a notebook when opened in JupyterLab with jupytext: right-click, *Open With >
Notebook*; nbgrader's *Create Assignment* panel edits its cells, and saving writes the text file back). The format
and its nbgrader cell headers: :mod:`autograder.chapters.text`. This module turns a chapter into the nbgrader
*source* notebook (solutions and hidden tests, outputs cleared, cell ids ``cNNN``) and then runs the real
``nbgrader generate_assignment`` in a throw-away course directory to produce the *release* notebook. A chapter
whose translation is complete also gets ``release-<lang>/<chapter>/<chapter>.ipynb``: the same notebook with its
markdown translated (same assignment, code cells and grade ids; :mod:`autograder.authoring.translations`).

Usage::

    python -m autograder.build            # rebuild source/ and release/ for every chapter
    python -m autograder.build --check    # exit 1 if source/, release/, release-<lang>/ or a .mo is out of date
    python -m autograder.build --student-edition DIR --through NN  # the class's repository (no solutions)
    python -m autograder.build --student-edition DIR --lang zh_CN  # the same in Simplified Chinese
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from autograder.authoring.translations import translated_releases
from autograder.chapters import chapter_names, get
from autograder.chapters.text import render_source
from autograder.paths import ROOT, release_path, source_path, tool_env


def generate_release(source_dir: Path, chapter: str | list[str], out_dir: Path) -> Path:
    """Run the real ``nbgrader generate_assignment`` on ``source_dir/<chapter>`` into ``out_dir/<chapter>``; given a
    list of chapters, one nbgrader run does them all (its start-up is most of the cost). Returns ``out_dir`` /
    the (last) chapter."""
    names = [chapter] if isinstance(chapter, str) else list(chapter)
    with tempfile.TemporaryDirectory(prefix="nbgrader-gen-") as tmp:
        course = Path(tmp)
        for name in names:
            shutil.copytree(source_dir / name, course / "source" / name)
        shutil.copy(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
        env = tool_env()
        for var in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR"):
            env[var] = str(course / ".jupyter" / var.lower())
        # a glob: the course holds only the chapters copied above
        cmd = [sys.executable, "-m", "nbgrader", "generate_assignment", "*", "--force",
               "--CourseDirectory.root=" + str(course), "--log-level=WARN"]
        proc = subprocess.run(cmd, cwd=course, env=env, capture_output=True, text=True)
        missing = [n for n in names if not (course / "release" / n).is_dir()]
        if proc.returncode != 0 or missing or "ERROR" in proc.stderr:
            raise RuntimeError(f"nbgrader generate_assignment {' '.join(names)} failed:\n{proc.stdout}\n{proc.stderr}")
        for name in names:
            target = out_dir / name
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(course / "release" / name, target)
        return out_dir / names[-1]


def translated_release_files(chapter: str, tmp_release: Path, check: bool) -> list[str]:
    """Write (or compare) ``release-<lang>/<chapter>/``: the fresh English release with its markdown translated
    (:mod:`autograder.authoring.translations`), only for a chapter whose translation is complete."""
    problems = []
    for lang, text in translated_releases(get(chapter), release_path(chapter, tmp_release.parent)).items():
        committed = release_path(chapter, ROOT, lang)
        if check and text is None and committed.exists():
            problems.append(f"{committed.relative_to(ROOT)} exists but its translation is incomplete")
        elif check and (text is None or committed.exists() and committed.read_text(encoding="utf-8") == text):
            continue
        elif check:
            problems.append(f"{committed.relative_to(ROOT)} is out of date")
        elif text is None:
            shutil.rmtree(committed.parent, ignore_errors=True)
        else:
            committed.parent.mkdir(parents=True, exist_ok=True)
            committed.write_text(text, encoding="utf-8")
    return problems


def build(check: bool = False, only: list[str] | None = None) -> list[str]:
    """Rebuild (or, with ``check``, compare) source/ and release/; return a list of problems."""
    problems = []
    names = only or chapter_names()
    with tempfile.TemporaryDirectory(prefix="course-build-") as tmp:
        tmp_source = Path(tmp) / "source"
        tmp_release = Path(tmp) / "release"
        tmp_release.mkdir(parents=True)
        for chapter in names:
            print(f"[build] {chapter}: source", flush=True)
            text = render_source(chapter)
            # Extra files (data, images) that live beside the committed source notebook are kept.
            committed_dir = ROOT / "source" / chapter
            if committed_dir.exists():
                shutil.copytree(committed_dir, tmp_source / chapter,
                                ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
            (tmp_source / chapter).mkdir(parents=True, exist_ok=True)
            source_path(chapter, Path(tmp)).write_text(text, encoding="utf-8")
        print(f"[build] release of {', '.join(names)} (nbgrader generate_assignment)", flush=True)
        generate_release(tmp_source, names, tmp_release)
        for chapter in names:
            pairs = [(source_path(chapter, Path(tmp)), source_path(chapter))]
            pairs += [(p, ROOT / "release" / chapter / p.relative_to(tmp_release / chapter))
                      for p in sorted((tmp_release / chapter).rglob("*")) if p.is_file()]
            for fresh, committed in pairs:
                if check:
                    if not committed.exists() or committed.read_bytes() != fresh.read_bytes():
                        problems.append(f"{committed.relative_to(ROOT)} is out of date")
                else:
                    committed.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(fresh, committed)
            problems += translated_release_files(chapter, tmp_release, check)
            if not check:
                # Drop release files that no longer come out of generate_assignment.
                fresh_names = {p.relative_to(tmp_release / chapter) for p in (tmp_release / chapter).rglob("*")}
                for p in sorted((ROOT / "release" / chapter).rglob("*"), reverse=True):
                    if p.relative_to(ROOT / "release" / chapter) not in fresh_names:
                        p.unlink() if p.is_file() else p.rmdir()
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report out-of-date files")
    parser.add_argument("--student-edition", metavar="DIR",
                        help="write the student edition (release/ + course package, no solution) into DIR as a git "
                             "repository, from the committed release/ (see autograder/authoring/student_edition.py); "
                             "the "
                             "chapters given are those published so far")
    parser.add_argument("--closed", nargs="+", default=[], metavar="NN",
                        help="with --student-edition: published chapters past their deadline")
    parser.add_argument("--through", metavar="NN",
                        help="with --student-edition: publish chapters up to NN, all before NN closed")
    parser.add_argument("--lang", help="with --student-edition: the edition's language (en, zh_CN)")
    parser.add_argument("chapters", nargs="*", help="chapters to build (default: all)")
    args = parser.parse_args(argv)
    if args.student_edition:
        from autograder.authoring.student_edition import main as edition_main

        return edition_main([args.student_edition] + (["--chapters", *args.chapters] if args.chapters else [])
                            + (["--closed", *args.closed] if args.closed else [])
                            + (["--through", args.through] if args.through else [])
                            + (["--lang", args.lang] if args.lang else []))
    if args.closed or args.through or args.lang:
        parser.error("--closed, --through and --lang go with --student-edition")
    unknown = sorted(set(args.chapters) - set(chapter_names()))
    if unknown:
        parser.error(f"unknown chapter(s) {unknown}; known: {chapter_names()}")
    problems = build(check=args.check, only=args.chapters or None)
    from autograder.authoring import catalog  # Babel: a dev dependency, not needed for --student-edition

    problems += catalog.sync(check=args.check)  # course/locale/*/LC_MESSAGES/course.mo from its .po
    for p in problems:
        print("OUT OF DATE:", p)
    if problems:
        print("Run `python -m autograder.build` and commit source/, release/, release-<lang>/ and course/locale/.")
        return 1
    print("[build] done" if not args.check else "[build] source/ and release/ are in sync")
    return 0


if __name__ == "__main__":
    sys.exit(main())

