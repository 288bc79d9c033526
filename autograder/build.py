"""Build the course notebooks: ``autograder/notebooks/*.py`` -> ``source/`` -> ``release/``.

Each chapter is written once, as a jupytext percent-format text file (easy to diff and review, and a notebook
when opened in JupyterLab with jupytext: right-click, *Open With > Notebook*; nbgrader's *Create Assignment*
panel edits its cells, and saving writes the text file back). Cell headers carry the nbgrader metadata::

    # %% [markdown]                                   markdown
    # %%                                              ordinary code (students may edit)
    # %% nbgrader={"grade_id": "setup", "locked": true, ...}           read-only code
    # %% nbgrader={"grade_id": "fn", "solution": true, ...}            graded answer (### BEGIN/END SOLUTION)
    # %% nbgrader={"grade_id": "test_fn", "grade": true, "points": 2, ...}   autograded tests (hidden region)

The header's ``course`` metadata (``time_budget_seconds``) goes to the notebook metadata. This module turns a
chapter into the nbgrader *source* notebook (solutions and hidden tests, outputs cleared, cell ids ``cNNN``)
and then runs the real ``nbgrader generate_assignment`` in a throw-away course directory to produce the
*release* notebook.

Usage::

    python -m autograder.build            # rebuild source/ and release/ for every chapter
    python -m autograder.build --check    # exit 1 if source/ or release/ is out of date
    python -m autograder.build --student-edition DIR --through NN  # the class's repository (no solutions)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = Path(__file__).resolve().parent / "notebooks"
FORMAT = "py:percent"
# What a chapter text keeps of the notebook metadata: the course's own keys and the kernel, not the jupytext
# version (so that saving from another jupytext release changes nothing).
JUPYTEXT_META = {"notebook_metadata_filter": "course,-jupytext.text_representation.jupytext_version",
                 "cell_metadata_filter": "nbgrader,-all"}
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


class ChapterError(ValueError):
    """A malformed chapter text file."""


def chapter_file(chapter: str) -> Path:
    return NOTEBOOKS / f"{chapter}.py"


def read_chapter(text: str, name: str = "<chapter>") -> nbformat.NotebookNode:
    """A chapter text (jupytext percent format) as the nbgrader source notebook: validated, no outputs."""
    try:
        parsed = jupytext.reads(text, fmt=FORMAT)
    except Exception as exc:
        raise ChapterError(f"{name}: not a jupytext percent-format file: {exc}") from exc
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}}
    if parsed.metadata.get("course"):
        nb.metadata["course"] = dict(parsed.metadata["course"])
    seen: set[str] = set()
    for i, cell in enumerate(parsed.cells):
        if cell.cell_type == "markdown":
            new = nbformat.v4.new_markdown_cell(cell.source)
        elif cell.cell_type == "code":
            new = nbformat.v4.new_code_cell(cell.source)
        else:
            raise ChapterError(f"{name}: cell {i} is a {cell.cell_type} cell; use markdown or code")
        meta = cell.metadata.get("nbgrader")
        if meta:
            gid = meta.get("grade_id")
            if not gid or gid in seen:
                raise ChapterError(f"{name}: cell {i}: nbgrader cell without a grade_id, or a duplicate {gid!r}")
            seen.add(gid)
            if meta.get("solution") and "### BEGIN SOLUTION" not in cell.source:
                raise ChapterError(f"{name}: solution cell {gid!r} has no ### BEGIN SOLUTION")
            if meta.get("grade") and "points" not in meta:
                raise ChapterError(f"{name}: tests cell {gid!r} needs points")
            new.metadata["nbgrader"] = dict(meta)
        new.id = f"c{i:03d}"
        nb.cells.append(new)
    nbformat.validate(nb)
    return nb


def write_chapter(nb: nbformat.NotebookNode) -> str:
    """The chapter text of a notebook (inverse of :func:`read_chapter` for the metadata it keeps)."""
    nb = nbformat.from_dict(nb)
    nb.metadata = {"jupytext": dict(JUPYTEXT_META), "kernelspec": dict(KERNELSPEC),
                   **({"course": nb.metadata["course"]} if nb.metadata.get("course") else {})}
    return jupytext.writes(nb, fmt=FORMAT)


def chapters() -> list[str]:
    """Names of all chapters (``NN_name``), from the chapter text files."""
    return sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.py"))


def source_path(chapter: str, root: Path = ROOT) -> Path:
    return root / "source" / chapter / f"{chapter}.ipynb"


def release_path(chapter: str, root: Path = ROOT) -> Path:
    return root / "release" / chapter / f"{chapter}.ipynb"


def render_source(chapter: str) -> str:
    """The source notebook text for a chapter, exactly as committed."""
    path = chapter_file(chapter)
    return nbformat.writes(read_chapter(path.read_text(encoding="utf-8"), path.name)) + "\n"


def tool_env(base: dict | None = None) -> dict:
    """Environment for running nbgrader/jupyter subprocesses: this interpreter's bin folder first on PATH
    (nbgrader calls ``alembic`` by name)."""
    env = dict(os.environ if base is None else base)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return env


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


def build(check: bool = False, only: list[str] | None = None) -> list[str]:
    """Rebuild (or, with ``check``, compare) source/ and release/; return a list of problems."""
    problems = []
    names = only or chapters()
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
                             "repository, from the committed release/ (see autograder/student_edition.py); the "
                             "chapters given are those published so far")
    parser.add_argument("--closed", nargs="+", default=[], metavar="NN",
                        help="with --student-edition: published chapters past their deadline")
    parser.add_argument("--through", metavar="NN",
                        help="with --student-edition: publish chapters up to NN, all before NN closed")
    parser.add_argument("chapters", nargs="*", help="chapters to build (default: all)")
    args = parser.parse_args(argv)
    if args.student_edition:
        from autograder.student_edition import main as edition_main

        return edition_main([args.student_edition] + (["--chapters", *args.chapters] if args.chapters else [])
                            + (["--closed", *args.closed] if args.closed else [])
                            + (["--through", args.through] if args.through else []))
    if args.closed or args.through:
        parser.error("--closed and --through go with --student-edition")
    unknown = sorted(set(args.chapters) - set(chapters()))
    if unknown:
        parser.error(f"unknown chapter(s) {unknown}; known: {chapters()}")
    problems = build(check=args.check, only=args.chapters or None)
    for p in problems:
        print("OUT OF DATE:", p)
    if problems:
        print("Run `python -m autograder.build` and commit source/ and release/.")
        return 1
    print("[build] done" if not args.check else "[build] source/ and release/ are in sync")
    return 0


if __name__ == "__main__":
    sys.exit(main())

