"""Build the student edition: a folder that is a ready git repository for a class, holding no solution.

``course-build --student-edition DIR`` (or ``python -m autograder.authoring.student_edition DIR``) writes::

    DIR/README.md          the student README: set-up command + docs/student-guide.md (self-learner parts removed)
    DIR/pyproject.toml     package ``course`` only (template authoring/edition/pyproject.toml.in), SPDX license
    DIR/environment.yml    Binder / hub image: pyproject's dependencies + nbgitpuller + nbgrader (Assignments tab)
    DIR/postBuild          installs the package; hides nbgrader's instructor panels
    DIR/.gitignore
    DIR/course/**.py       the package the notebooks import (never imports ``autograder``)
    DIR/course/locale/     the compiled message catalogs (course.mo), so messages read in the learner's language
    DIR/release/NN_name/   the release notebooks (nbgrader generate_assignment output, as committed)

and nothing else: no ``source/``, no ``autograder`` (references, checks, corpus, self-check), no hidden test.

Chapters are published in stages (``--chapters`` published so far, ``--closed`` those past their deadline; ``--through
NN`` is the weekly cadence: chapters up to NN, all before NN closed). A later chapter's given code holds earlier
chapters' solutions (chapter 5 gives its students a ReLU, chapter 3's exercise), so every release notebook declares
what it gives away in its metadata (``course.gives_away``: {chapter: what}, written in the chapter text's header),
and so does a ``course`` module (a ``GIVES_AWAY = {chapter: what}`` constant, read without importing it). A chapter
is published only once every chapter it gives away is closed; a module that gives away an open chapter is left out
(and a published notebook that imports it stops the build). tests/test_student_edition.py checks the declarations
against the solution lines each file really holds.

Before anything is written the content is scanned (``scan``) for nbgrader's solution/hidden-test markers and for
an import of ``autograder``; any hit stops the build. DIR is then a git repository with one new commit (the
instructor pushes it to the students' repository). Re-running on the same DIR replaces its files and commits the
difference, so the history students pull with nbgitpuller only grows.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from string import Template

from autograder.authoring import edition_lang
from autograder.notebook import cell_source
from autograder.paths import ROOT

TEMPLATES = Path(__file__).resolve().parent / "edition"
EDITION_NAME = "nn-from-scratch-student"  # an earlier edition is recognised by its pyproject's name
# Instructor tooling in the course's own dependency list that students do not need (nbgrader's generate/grade,
# the notebook execution the grader does). Everything else the course package needs is kept, so a dependency a
# chapter helper adds to pyproject.toml reaches the student edition without touching this module.
INSTRUCTOR_ONLY = {"nbgrader", "nbformat", "nbclient", "notebook", "latex2mathml"}
# What a student's hub image needs beyond the package: the class link and the Assignments tab.
# jupyterhub: the single-user server (jupyterhub-singleuser) a hub starts for each student, in any image not made
# by repo2docker (which adds it itself); keep its major version equal to the hub's.
HUB_EXTRAS = ["nbgitpuller>=1.2", "nbgrader==0.9.6", "jupyterhub>=5,<6"]
FORBIDDEN = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
# An import of the instructor's package anywhere (module code or a notebook cell) stops the build; the word alone in
# prose is caught by tests/test_student_edition.py, which names the lines.
IMPORTS_AUTOGRADER = re.compile(r"^\s*(?:from|import)\s+autograder\b|import_module\(\s*[\"']autograder", re.M)
SELF_LEARNER = re.compile(r"<!-- self-learner -->\n.*?<!-- /self-learner -->\n", re.S)
KEEP = {".git", ".venv"}  # a rebuild keeps the repository and a local install of it
GIT_ID = ["-c", "user.name=course-build", "-c", "user.email=course-build@localhost", "-c", "commit.gpgsign=false"]


class EditionError(RuntimeError):
    """The student edition could not be built (a leak found, or DIR holds something else)."""


def requirement_name(req: str) -> str:
    """The package name of a requirement (``numpy>=1.26`` -> ``numpy``), lower case."""
    return re.split(r"[\s<>=!~;\[]", req, maxsplit=1)[0].lower()


def student_dependencies(pyproject: dict) -> list[str]:
    """The course's dependencies minus the instructor's tools (same version constraints)."""
    deps = pyproject["project"]["dependencies"]
    return [d for d in deps if requirement_name(d) not in INSTRUCTOR_ONLY]


def student_readme(guide: str, version: str, template: Path | None = None) -> str:
    """README.md of the edition: the template's set-up section, then the student guide without its title and
    without the parts marked ``<!-- self-learner -->`` (they name commands the edition does not have)."""
    body = SELF_LEARNER.sub("", guide)
    body = re.sub(r"^<!-- en: [^\n]*-->\n", "", body, flags=re.M)  # a translation's record of the English it follows
    body = re.sub(r"\A# [^\n]*\n+", "", body)  # the guide's own title; the README has one
    body = re.sub(r"\n{3,}", "\n\n", body)
    if "<!-- self-learner" in body or "<!-- /self-learner" in body:
        raise EditionError("the student guide has an unmatched <!-- self-learner --> marker")
    template = template or TEMPLATES / "README.md.in"
    text = Template(template.read_text(encoding="utf-8")).substitute(guide=body.strip("\n"), version=version)
    return text.rstrip("\n") + "\n"


def module_gives_away(source: str) -> dict[str, str]:
    """A course module's ``GIVES_AWAY = {chapter: what}`` constant ({} without one), read with ast (not imported)."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "GIVES_AWAY" for t in node.targets):
            return dict(ast.literal_eval(node.value))
    return {}


def notebook_gives_away(data: bytes) -> dict[str, str]:
    """A release notebook's ``metadata.course.gives_away`` ({} without one)."""
    return dict(json.loads(data).get("metadata", {}).get("course", {}).get("gives_away", {}))


COURSE_IMPORT = re.compile(r"\b(?:from|import)\s+(course(?:\.\w+)+)")


def notebook_course_imports(data: bytes) -> set[str]:
    """Module files (``course/x.py``) that a notebook's code cells import (``from course.x import ...``)."""
    found = set()
    for cell in json.loads(data)["cells"]:
        if cell["cell_type"] == "code":
            found |= {m.replace(".", "/") for m in COURSE_IMPORT.findall(cell_source(cell))}
    return {name + ".py" for name in found} | {name + "/__init__.py" for name in found}


def released_chapters(root: Path = ROOT) -> list[str]:
    """The chapters with a release/ folder, in order."""
    return sorted(p.name for p in (root / "release").iterdir() if p.is_dir())


def resolve_chapters(names, released: list[str], what: str) -> list[str]:
    """Full chapter names for ``names`` (a full name or its ``NN`` prefix)."""
    out = []
    for name in names:
        match = [c for c in released if c == name or c.split("_", 1)[0] == name]
        if len(match) != 1:
            raise EditionError(f"{what}: no release/ folder for {name!r}; known: {released}")
        out.append(match[0])
    return sorted(set(out))


def edition_files(root: Path = ROOT, chapters: list[str] | None = None,
                  closed: list[str] | None = None, lang: str | None = None) -> dict[str, bytes]:
    """Every file of the edition, {relative posix path: content}, built in memory from ``root``.

    chapters: the published chapters (default all); closed: those past their deadline, whose solutions later
    chapters may give away (default none); lang: the edition's language (default English;
    :mod:`autograder.authoring.edition_lang`). Raises EditionError when a published chapter gives away an open one.
    """
    pyproject = tomllib.loads((root / "pyproject.toml").read_text())
    project = pyproject["project"]
    license_ = project.get("license")
    if not isinstance(license_, str):
        raise EditionError("pyproject.toml's project.license must be an SPDX string (e.g. \"MIT\")")
    deps = student_dependencies(pyproject)
    python = re.fullmatch(r">=\s*(\d+\.\d+)", project["requires-python"])
    if not python:
        raise EditionError(f"requires-python {project['requires-python']!r}: expected '>=X.Y'")
    files: dict[str, bytes] = {}
    files["pyproject.toml"] = Template((TEMPLATES / "pyproject.toml.in").read_text()).substitute(
        version=project["version"], requires_python=project["requires-python"], license=license_,
        dependencies="\n".join(f'    "{d}",' for d in deps)).encode()
    files["environment.yml"] = Template((TEMPLATES / "environment.yml.in").read_text()).substitute(
        python=python.group(1), pip_lines="\n".join(f"      - {d}" for d in deps + HUB_EXTRAS)).encode()
    files["postBuild"] = (TEMPLATES / "postBuild").read_bytes()
    files[".gitignore"] = (TEMPLATES / "gitignore").read_bytes()
    files["README.md"] = student_readme((root / "docs" / "student-guide.md").read_text(),
                                        project["version"]).encode()
    lang = edition_lang.check_language(lang)
    guide, template = edition_lang.guide_path(root, lang), edition_lang.readme_template(TEMPLATES, lang)
    if guide.is_file() and template.is_file():
        files["README.md"] = student_readme(guide.read_text(encoding="utf-8"), project["version"], template).encode()
    released = released_chapters(root)
    wanted = released if chapters is None else resolve_chapters(chapters, released, "--chapters")
    done = set(resolve_chapters(closed or [], released, "--closed"))
    if done - set(wanted):
        raise EditionError(f"closed chapters {sorted(done - set(wanted))} are not published (--chapters)")
    dropped = {}
    for path in sorted((root / "course").rglob("*.py")):
        name, data = path.relative_to(root).as_posix(), path.read_bytes()
        open_ = {c: why for c, why in module_gives_away(data.decode()).items() if c not in done}
        if open_:
            dropped[name] = open_
        else:
            files[name] = data
    for path in sorted((root / "course" / "locale").glob("*/LC_MESSAGES/course.mo")):
        files[path.relative_to(root).as_posix()] = path.read_bytes()  # the messages' translations (course.i18n)
    problems = []
    for chapter in wanted:
        for path in sorted((root / "release" / chapter).rglob("*")):
            if path.is_file() and ".ipynb_checkpoints" not in path.parts and "__pycache__" not in path.parts:
                name, data = path.relative_to(root).as_posix(), path.read_bytes()
                files[name] = data
                if name.endswith(".ipynb"):
                    needs = {c: why for c, why in notebook_gives_away(data).items() if c not in done}
                    needs.update({c: f"{mod}: {why}" for mod in sorted(notebook_course_imports(data) & dropped.keys())
                                  for c, why in dropped[mod].items()})
                    problems += [f"{name} gives away {c}'s solutions ({why}): publish {chapter} once {c} is "
                                 f"closed (--closed {c.split('_', 1)[0]})" for c, why in sorted(needs.items())]
    if lang != edition_lang.ENGLISH:
        translated, english = edition_lang.language_files(root, lang, wanted, files["postBuild"])
        files.update(translated)
        for chapter in english:
            print(f"[student-edition] warning: {chapter} has no {lang} translation yet: it stays English "
                  f"(python -m autograder.authoring.translations status {chapter})", file=sys.stderr)
    if problems:
        raise EditionError("a published chapter would give away an open chapter's solutions:\n  "
                           + "\n  ".join(problems) + "\n(a class publishes in stages: --through NN publishes the "
                           "chapters up to NN with the earlier ones closed)")
    return files


def through(chapter: str, root: Path = ROOT) -> tuple[list[str], list[str]]:
    """The weekly stage ``--through NN``: (chapters up to NN, every chapter before NN)."""
    released = released_chapters(root)
    (last,) = resolve_chapters([chapter], released, "--through")
    published = [c for c in released if c <= last]
    return published, published[:-1]


def scan(files: dict[str, bytes]) -> list[str]:
    """Files holding a solution/hidden-test marker or importing ``autograder``: ``["path: 'marker'"]``."""
    hits = []
    for name, data in files.items():
        text = data.decode("utf-8", errors="replace")
        hits += [f"{name}: {marker!r}" for marker in FORBIDDEN if marker in text]
        if name.endswith(".ipynb"):  # code lines are JSON strings there: '    "from autograder ...\n",'
            text = "\n".join(re.sub(r'^\s*"', "", line) for line in text.splitlines())
        hits += [f"{name}: imports {m.group(0).strip()!r}" for m in IMPORTS_AUTOGRADER.finditer(text)]
    return hits


def _git(dest: Path, *args: str) -> str:
    proc = subprocess.run(["git", *GIT_ID, *args], cwd=dest, capture_output=True, text=True)
    if proc.returncode != 0:
        raise EditionError(f"git {' '.join(args)} failed in {dest}:\n{proc.stdout}{proc.stderr}")
    return proc.stdout


def _is_edition(dest: Path) -> bool:
    try:
        return tomllib.loads((dest / "pyproject.toml").read_text())["project"]["name"] == EDITION_NAME
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return False


def build_edition(dest: str | Path, *, root: Path = ROOT, chapters: list[str] | None = None,
                  closed: list[str] | None = None, git: bool = True, message: str | None = None,
                  lang: str | None = None) -> list[str]:
    """Write the student edition into ``dest`` (new, empty, or an earlier edition); returns the written paths.

    An earlier edition's files are replaced (its ``.git`` and ``.venv`` are kept); with ``git`` the result is committed
    (``git init -b main`` first when ``dest`` is not yet a repository). Raises EditionError on any leak.
    """
    dest = Path(dest)
    files = edition_files(root, chapters, closed, lang)
    hits = scan(files)
    if hits:
        raise EditionError("the student edition would leak instructor material:\n  " + "\n  ".join(hits))
    if dest.exists() and any(p.name not in KEEP for p in dest.iterdir()) and not _is_edition(dest):
        raise EditionError(f"{dest} is not empty and is not an earlier student edition; choose a new folder")
    dest.mkdir(parents=True, exist_ok=True)
    for item in dest.iterdir():
        if item.name not in KEEP:
            shutil.rmtree(item) if item.is_dir() and not item.is_symlink() else item.unlink()
    for name, data in files.items():
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    for script in ("postBuild", "start"):
        if script in files:
            (dest / script).chmod(0o755)
    if git and shutil.which("git"):
        if not (dest / ".git").exists():
            _git(dest, "init", "-q", "-b", "main")
        _git(dest, "add", "-A")
        if _git(dest, "status", "--porcelain").strip():
            version = tomllib.loads(files["pyproject.toml"].decode())["project"]["version"]
            _git(dest, "commit", "-q", "-m", message or f"Student edition {version}")
    return sorted(files)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the student edition (no solutions) into DIR.")
    parser.add_argument("dest", metavar="DIR")
    parser.add_argument("--chapters", nargs="+", metavar="NN", help="the chapters published so far (default: all)")
    parser.add_argument("--closed", nargs="+", metavar="NN", default=[],
                        help="published chapters past their deadline: later chapters may give their solutions away")
    parser.add_argument("--through", metavar="NN",
                        help="weekly stage: publish chapters up to NN, all before NN closed (instead of the two above)")
    parser.add_argument("--no-git", action="store_true", help="write the files only (no git init / commit)")
    parser.add_argument("-m", "--message", help="commit message (default: 'Student edition VERSION')")
    parser.add_argument("--lang", default=edition_lang.ENGLISH,
                        help="the edition's language: en (default) or zh_CN (release-zh_CN notebooks, COURSE_LANG, "
                             "a CJK font, JupyterLab in Chinese)")
    args = parser.parse_args(argv)
    try:
        if args.through:
            if args.chapters or args.closed:
                parser.error("--through replaces --chapters and --closed")
            args.chapters, args.closed = through(args.through)
        written = build_edition(args.dest, chapters=args.chapters, closed=args.closed, git=not args.no_git,
                                message=args.message, lang=args.lang)
    except (EditionError, ValueError) as exc:
        print(f"[student-edition] {exc}", file=sys.stderr)
        return 1
    print(f"[student-edition] {len(written)} files in {args.dest}"
          + ("" if args.no_git else " (committed; push it to the students' repository)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
