"""Build the course notebooks: ``autograder/notebooks/*.nbpy`` -> ``source/`` -> ``release/``.

Each chapter is written once, as a plain-text ``.nbpy`` file (easy to diff and review). This module turns it
into the nbgrader *source* notebook (solutions and hidden tests, outputs cleared) and then runs the real
``nbgrader generate_assignment`` in a throw-away course directory to produce the *release* notebook.

Cell headers in a ``.nbpy`` file (one line each, starting the cell)::

    # %% md                              markdown
    # %% code                            ordinary code (students may edit)
    # %% readonly                        code students cannot edit (locked)
    # %% solution id=perceptron_predict  graded answer cell (### BEGIN/END SOLUTION inside)
    # %% tests id=test_x points=2        autograded test cell (### BEGIN/END HIDDEN TESTS inside)
    # %% meta time_budget_seconds=90     no cell: notebook metadata ``course`` (the tests run the source notebook
                                         top to bottom and hold it to this budget)

Usage::

    python -m autograder.build            # rebuild source/ and release/ for every chapter
    python -m autograder.build --check    # exit 1 if source/ or release/ is out of date
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = Path(__file__).resolve().parent / "notebooks"
HEADER = re.compile(r"^# %% (md|code|readonly|solution|tests|meta)\b(.*)$")
KINDS = ("md", "code", "readonly", "solution", "tests", "meta")


class NbpyError(ValueError):
    """A malformed ``.nbpy`` chapter file."""


def _attrs(text: str, where: str) -> dict[str, str]:
    attrs = {}
    for token in text.split():
        if "=" not in token:
            raise NbpyError(f"{where}: expected key=value in cell header, got {token!r}")
        key, value = token.split("=", 1)
        attrs[key] = value
    return attrs


def parse_nbpy(text: str, name: str = "<nbpy>") -> list[dict]:
    """Split a ``.nbpy`` text into cells: ``[{"kind", "source", "attrs"}]``."""
    cells: list[dict] = []
    current = None
    for lineno, line in enumerate(text.splitlines(), 1):
        m = HEADER.match(line)
        if m:
            current = {"kind": m.group(1), "attrs": _attrs(m.group(2), f"{name}:{lineno}"), "lines": []}
            cells.append(current)
        elif current is None:
            if line.strip():
                raise NbpyError(f"{name}:{lineno}: text before the first '# %%' cell header")
        else:
            current["lines"].append(line)
    for cell in cells:
        cell["source"] = "\n".join(cell.pop("lines")).strip("\n")
    return cells


def to_notebook(cells: list[dict], name: str = "<nbpy>") -> nbformat.NotebookNode:
    """Turn parsed cells into an nbgrader source notebook (no outputs)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    seen_ids: set[str] = set()
    for cell in [c for c in cells if c["kind"] == "meta"]:
        if cell["source"].strip():
            raise NbpyError(f"{name}: a '# %% meta' header takes key=value pairs only, no body")
        course = nb.metadata.setdefault("course", {})
        course.update({k: int(v) if v.isdigit() else v for k, v in cell["attrs"].items()})
    cells = [c for c in cells if c["kind"] != "meta"]
    for i, cell in enumerate(cells):
        kind, src, attrs = cell["kind"], cell["source"], cell["attrs"]
        if kind == "md":
            nbcell = nbformat.v4.new_markdown_cell(src)
        else:
            nbcell = nbformat.v4.new_code_cell(src)
        meta = None
        if kind in ("solution", "tests", "readonly"):
            grade_id = attrs.get("id") or f"cell-{i:03d}"
            if grade_id in seen_ids:
                raise NbpyError(f"{name}: duplicate cell id {grade_id!r}")
            seen_ids.add(grade_id)
            meta = {"grade_id": grade_id, "schema_version": 3}
            if kind == "solution":
                if "### BEGIN SOLUTION" not in src:
                    raise NbpyError(f"{name}: solution cell {grade_id!r} has no ### BEGIN SOLUTION")
                meta.update(solution=True, grade=False, locked=False, task=False)
            elif kind == "tests":
                if "points" not in attrs:
                    raise NbpyError(f"{name}: tests cell {grade_id!r} needs points=N")
                meta.update(solution=False, grade=True, locked=True, task=False, points=int(attrs["points"]))
            else:
                meta.update(solution=False, grade=False, locked=True, task=False)
            nbcell.metadata["nbgrader"] = meta
        nbcell.id = f"c{i:03d}"
        nb.cells.append(nbcell)
    nbformat.validate(nb)
    return nb


def chapters() -> list[str]:
    """Names of all chapters (``NN_name``), from the ``.nbpy`` files."""
    return sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.nbpy"))


def source_path(chapter: str, root: Path = ROOT) -> Path:
    return root / "source" / chapter / f"{chapter}.ipynb"


def release_path(chapter: str, root: Path = ROOT) -> Path:
    return root / "release" / chapter / f"{chapter}.ipynb"


def render_source(chapter: str) -> str:
    """The source notebook text for a chapter, exactly as committed."""
    path = NOTEBOOKS / f"{chapter}.nbpy"
    nb = to_notebook(parse_nbpy(path.read_text(encoding="utf-8"), path.name), path.name)
    return nbformat.writes(nb) + "\n"


def tool_env(base: dict | None = None) -> dict:
    """Environment for running nbgrader/jupyter subprocesses: this interpreter's bin folder first on PATH
    (nbgrader calls ``alembic`` by name)."""
    env = dict(os.environ if base is None else base)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return env


def generate_release(source_dir: Path, chapter: str, out_dir: Path) -> Path:
    """Run the real ``nbgrader generate_assignment`` on ``source_dir/<chapter>`` into ``out_dir``."""
    with tempfile.TemporaryDirectory(prefix="nbgrader-gen-") as tmp:
        course = Path(tmp)
        shutil.copytree(source_dir / chapter, course / "source" / chapter)
        shutil.copy(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
        env = tool_env()
        for var in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR"):
            env[var] = str(course / ".jupyter" / var.lower())
        cmd = [sys.executable, "-m", "nbgrader", "generate_assignment", chapter, "--force",
               "--CourseDirectory.root=" + str(course), "--log-level=WARN"]
        proc = subprocess.run(cmd, cwd=course, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"nbgrader generate_assignment {chapter} failed:\n{proc.stdout}\n{proc.stderr}")
        target = out_dir / chapter
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(course / "release" / chapter, target)
        return target


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
            print(f"[build] {chapter}: release (nbgrader generate_assignment)", flush=True)
            generate_release(tmp_source, chapter, tmp_release)
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
    parser.add_argument("chapters", nargs="*", help="chapters to build (default: all)")
    args = parser.parse_args(argv)
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

