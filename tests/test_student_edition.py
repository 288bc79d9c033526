"""The student edition (``course-build --student-edition DIR``, autograder/student_edition.py) holds no solution:
no solution or hidden-test line of source/, no mention of ``autograder``, no self-check; ``course`` imports no
``autograder`` module; it installs in a fresh venv with its README's set-up command and every release notebook
runs there headless with only the skeletons' NotImplementedError.

A line counts as trivial (not searched) by rule: it carries no computation and no text, i.e. its Python tokens are
only names and ``= , : ( ) [ ] { }`` with no call or subscript (``return out``, ``grads = {}``, ``else:``,
``x, W, b = cache``). Every other solution/hidden-test line is searched in every file of the edition.
"""

from __future__ import annotations

import ast
import functools
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tokenize
import tomllib
import zipfile

import pytest

from autograder.authoring import student_edition as se
from autograder.chapters import chapter_names as chapters
from autograder.notebook import cell_source, grading_cells, load, solution_cells, strip_magics
from autograder.paths import ROOT
from tests.conftest import SHARED_DATA, compiled_on_install, fresh_install_env

REGIONS = ((solution_cells, r"### BEGIN SOLUTION\n(.*?)### END SOLUTION"),
           (grading_cells, r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS"))
STRUCTURE_OPS = {"=", ",", ":", "(", ")", "[", "]", "{", "}"}
SKIP_TOKENS = (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER, tokenize.INDENT, tokenize.DEDENT)


def trivial(line: str) -> bool:
    """True when ``line`` has no computation and no text (only names and structural punctuation)."""
    text = line.strip()
    if not text:
        return True
    try:
        tokens = [t for t in tokenize.generate_tokens(io.StringIO(text + "\n").readline) if t.type not in SKIP_TOKENS]
    except (tokenize.TokenError, SyntaxError):
        return False  # e.g. a line inside a multi-line string: text, searched
    prev = None
    for tok in tokens:
        if tok.type == tokenize.OP:
            if tok.string not in STRUCTURE_OPS or (tok.string in "([" and prev is not None
                                                   and prev.type == tokenize.NAME):
                return False  # an operator, a call or a subscript
        elif tok.type != tokenize.NAME:
            return False  # a number, a string, a comment
        prev = tok
    return True


def _regions(nb) -> tuple[list[tuple[str, str]], list[str]]:
    """([(kind, region text)], public text) of a source notebook: solution / hidden-test regions, and every cell
    with those regions cut out (the prose, signatures, docstrings and given code the release shows)."""
    regions, public = [], []
    for cell in nb["cells"]:
        text = cell_source(cell)
        for (select, pattern), kind in zip(REGIONS, ("solution", "hidden test")):
            if cell in select(nb):
                regions += [(kind, body) for body in re.findall(pattern, text, re.S)]
                text = re.sub(pattern, "", text, flags=re.S)
        public.append(text)
    return regions, public


@functools.cache
def secret_lines() -> dict[str, tuple[str, str]]:
    """{stripped non-trivial line: (chapter, "solution" | "hidden test")} over every source notebook.

    A solution line its own chapter states in the text it gives students (a docstring saying
    ``params[name] -= lr * grads[name]``) is not a secret: the release shows it anyway."""
    secret = {}
    for chapter in chapters():
        regions, public = _regions(load(ROOT / "source" / chapter / f"{chapter}.ipynb"))
        public_lines = [line for text in public for line in text.splitlines()]
        for kind, body in regions:
            for line in body.splitlines():
                if trivial(line) or (kind == "solution" and any(line.strip() in p for p in public_lines)):
                    continue
                secret.setdefault(line.strip(), (chapter, kind))
    return secret


@functools.cache
def stated_solution_lines() -> dict[str, str]:
    """The solution lines the rule above leaves out, {line: chapter} (printed by a test, to be looked at)."""
    out = {}
    for chapter in chapters():
        regions, public = _regions(load(ROOT / "source" / chapter / f"{chapter}.ipynb"))
        public_lines = [line for text in public for line in text.splitlines()]
        for kind, body in regions:
            out.update({line.strip(): chapter for line in body.splitlines() if kind == "solution"
                        and not trivial(line) and any(line.strip() in p for p in public_lines)})
    return out


def file_lines(name: str, data: bytes) -> set[str]:
    """Stripped lines of a file; for a notebook, of its cell sources and outputs."""
    if name.endswith(".ipynb"):
        nb = json.loads(data)
        text = "\n".join(cell_source(c) + "\n" + json.dumps(c.get("outputs", [])) for c in nb["cells"])
    else:
        text = data.decode("utf-8", errors="replace")
    return {line.strip() for line in text.splitlines()}


# The weekly stages a class goes through: chapters 01..k published, every chapter before k closed.
STAGES = [se.through(chapter) for chapter in chapters()]
LAST_STAGE = STAGES[-1]
EDITION = se.edition_files(chapters=LAST_STAGE[0], closed=LAST_STAGE[1])
NAMES_AUTOGRADER: dict[str, str] = {}


def test_trivial_rule():
    for line in ("", "return out", "grads = {}", "else:", "x, W, b = cache", "for name in params:", "return a, b"):
        assert trivial(line), line
    for line in ("return x @ w + b", "old = x[idx]", "out = np.maximum(0, x)", "return dout * (cache > 0)",
                 "# the mean over the batch", "check_relu_forward(relu_forward)", '"""Shapes: (N, D)."""'):
        assert not trivial(line), line
    assert len(secret_lines()) > 100, "expected solution and hidden-test lines to search for"


def test_stated_rule_leaves_out_only_what_the_release_states():
    stated = stated_solution_lines()
    print("solution lines stated by their own chapter's given text:", stated)
    assert stated.get("params[name] -= lr * grads[name]") == "04_softmax"
    solutions = sum(kind == "solution" for _, kind in secret_lines().values())
    assert len(stated) < 0.1 * solutions, f"the rule leaves out {len(stated)} of {solutions} lines: {stated}"
    for line, chapter in stated.items():
        release = (ROOT / "release" / chapter / f"{chapter}.ipynb").read_bytes()
        assert any(line in text for text in file_lines("x.ipynb", release)), f"{line!r} is not in release/{chapter}"


def test_edition_holds_exactly_the_student_files():
    expected = {"README.md", "pyproject.toml", "environment.yml", "postBuild", ".gitignore"}
    expected |= {p.relative_to(ROOT).as_posix() for p in (ROOT / "course").rglob("*.py")}
    expected |= {p.relative_to(ROOT).as_posix() for p in (ROOT / "course" / "locale").glob("*/LC_MESSAGES/course.mo")}
    expected |= {f"release/{c}/{c}.ipynb" for c in chapters()}
    assert "course/locale/zh_CN/LC_MESSAGES/course.mo" in expected  # the messages' translations ship (course.i18n)
    assert set(EDITION) == expected
    assert not any(n.startswith(("source/", "autograder/")) or "selfcheck" in n for n in EDITION)


@pytest.mark.parametrize("stage", STAGES, ids=[published[-1] for published, _ in STAGES])
def test_no_file_of_a_stage_holds_an_open_chapters_solution_or_any_hidden_test(stage):
    published, closed = stage
    files = se.edition_files(chapters=published, closed=closed)
    assert {f"release/{c}/{c}.ipynb" for c in published} <= set(files)
    secret = secret_lines()
    leaked = sorted(f"{name}: {secret[line][0]} {secret[line][1]}: {line}"
                    for name, data in files.items() for line in file_lines(name, data) & secret.keys()
                    if secret[line][1] == "hidden test" or secret[line][0] not in closed)
    assert not leaked, f"published {published}, closed {closed}: {len(leaked)} leaked lines: {leaked[:8]}"


def _given_functions(nb) -> set[str]:
    """Names of the functions a notebook defines outside its solution cells (given code)."""
    names = set()
    for cell in nb["cells"]:
        if cell["cell_type"] == "code" and cell not in solution_cells(nb):
            try:
                tree = ast.parse(strip_magics(cell_source(cell)))
            except SyntaxError:
                continue
            names |= {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    return names


def _graded_functions() -> dict[str, str]:
    """{graded function name: chapter}, from the references' __all__."""
    from autograder.chapters import all_chapters

    return {name: c.name for c in all_chapters() for name in c.module("reference").__all__}


def test_what_each_file_gives_away_is_declared():
    """Every release notebook and course module declares each chapter whose solution lines it holds, or whose
    graded function it defines as given code; nothing gives away its own chapter."""
    secret, graded = secret_lines(), _graded_functions()
    metadata = [load(ROOT / "source" / c / f"{c}.ipynb")["metadata"].get("course", {}) for c in chapters()]
    repeats = {f: c for meta in metadata for f, c in meta.get("repeats", {}).items()}
    assert repeats.get("init_mlp") == "03_activations"
    for path in sorted((ROOT / "course").rglob("*.py")) + [ROOT / "release" / c / f"{c}.ipynb" for c in chapters()]:
        name, data = path.relative_to(ROOT).as_posix(), path.read_bytes()
        holds = {secret[line][0] for line in file_lines(name, data) & secret.keys() if secret[line][1] == "solution"}
        if name.endswith(".ipynb"):
            own = path.parent.name
            declared = se.notebook_gives_away(data)
            # a graded function re-asked in a later chapter (metadata ``course.repeats``: {function: chapter}, e.g.
            # chapter 6's init_mlp is chapter 3's He initialisation) counts as the chapter it repeats
            holds |= {repeats.get(f, graded[f]) for f in _given_functions(json.loads(data))
                      if f in graded and graded[f] != own}
            for module in se.notebook_course_imports(data):
                if (ROOT / module).is_file():
                    holds |= set(se.module_gives_away((ROOT / module).read_text()))
            assert own not in holds, f"{name} gives away its own chapter's solutions"
        else:
            declared = se.module_gives_away(data.decode())
        assert holds <= set(declared), f"{name} gives away {sorted(holds - set(declared))} without declaring it"
        assert set(declared) <= set(chapters()), f"{name} declares unknown chapters {declared}"


def test_publishing_a_chapter_before_what_it_gives_away_is_closed_is_refused():
    with pytest.raises(se.EditionError) as err:
        se.edition_files(chapters=chapters(), closed=[])
    message = str(err.value)
    assert "release/05_cnn_cifar/05_cnn_cifar.ipynb gives away 03_activations" in message
    assert "--closed 02" in message and "release/01_perceptron" not in message
    stage2 = se.edition_files(chapters=["01", "02"], closed=["01"])
    assert "course/gradcheck.py" not in stage2, "chapter 2's numerical_gradient ships while chapter 2 is open"
    assert "course/gradcheck.py" in se.edition_files(chapters=["01", "02", "03"], closed=["01", "02"])
    with pytest.raises(se.EditionError, match="not published"):
        se.edition_files(chapters=["01"], closed=["02"])
    with pytest.raises(se.EditionError, match="no release/ folder for '07'"):
        se.edition_files(chapters=["07"])


def test_a_notebook_importing_a_module_left_out_is_refused(tmp_path):
    root = tmp_path / "root"
    for part in ("pyproject.toml", "docs/student-guide.md", "course"):
        (root / part).parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if (ROOT / part).is_dir() else shutil.copy)(ROOT / part, root / part)
    nb = {"cells": [{"cell_type": "code", "source": "from course.gradcheck import check_params\n", "metadata": {}}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (root / "release" / "01_x").mkdir(parents=True)
    (root / "release" / "01_x" / "01_x.ipynb").write_text(json.dumps(nb))
    with pytest.raises(se.EditionError, match="course/gradcheck.py"):
        se.edition_files(root)


@pytest.mark.parametrize("name", sorted(EDITION))
def test_edition_file_never_names_autograder(name):
    text = EDITION[name].decode("utf-8", errors="replace")
    hits = [f"{i}: {line.strip()}" for i, line in enumerate(text.splitlines(), 1) if "autograder" in line.lower()]
    assert not hits, f"{name} mentions autograder: {hits[:6]}"


def test_scan_stops_a_leaking_build(tmp_path):
    files = dict(EDITION)
    files["course/extra.py"] = b"from autograder.chapters.ch01_perceptron import reference\n"
    files["release/x.ipynb"] = b'{"cells": [{"source": ["### BEGIN SOLUTION\\n"]}]}'
    assert sorted(h.split(":")[0] for h in se.scan(files)) == ["course/extra.py", "release/x.ipynb"]


def test_course_modules_import_no_autograder_module():
    """In a fresh interpreter where autograder IS importable (the instructor repository), importing every
    course module loads no autograder module."""
    code = """
import pkgutil, importlib, sys, course
for info in pkgutil.walk_packages(course.__path__, "course."):
    importlib.import_module(info.name)
loaded = sorted(m for m in sys.modules if m == "autograder" or m.startswith("autograder."))
print(len([m for m in sys.modules if m.startswith("course.")]), loaded)
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}, check=True).stdout
    count, loaded = out.split(" ", 1)
    assert int(count) >= 10 and loaded.strip() == "[]", out


def test_edition_metadata_and_no_self_check():
    pyproject = tomllib.loads(EDITION["pyproject.toml"].decode())
    project = pyproject["project"]
    assert isinstance(project["license"], str) and "scripts" not in project, "no console script (no self-check)"
    assert pyproject["tool"]["setuptools"]["packages"]["find"]["include"] == ["course", "course.*"]
    main = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert set(project["dependencies"]) <= set(main["project"]["dependencies"])
    assert not {se.requirement_name(d) for d in project["dependencies"]} & se.INSTRUCTOR_ONLY
    env = EDITION["environment.yml"].decode()
    pip_lines = re.findall(r"^\s+- (.+)$", env.split("- pip:", 1)[1], re.M)
    assert pip_lines == project["dependencies"] + se.HUB_EXTRAS
    readme = EDITION["README.md"].decode()
    assert "self-learner -->" not in readme and "run.sh" not in readme and "selfcheck" not in readme
    assert "visible tests" in readme and "no hidden test" in readme
    assert not any("selfcheck" in name for name in EDITION), "no self-check module in the edition"


def test_project_license_is_spdx_and_setuptools_supports_it():
    main = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert main["project"]["license"] == "MIT"
    assert any(re.fullmatch(r"setuptools>=(\d+)", r) and int(r.split(">=")[1]) >= 77
               for r in main["build-system"]["requires"]), "SPDX license strings need setuptools>=77"


def test_build_is_a_git_repository_and_a_rebuild_commits_only_changes(tmp_path):
    dest = tmp_path / "edition"
    assert se.main([str(dest), "--through", "02"]) == 0
    assert se.main([str(dest), "--through", LAST_STAGE[0][-1]]) == 0  # the next chapter published: one more commit
    tracked = subprocess.run(["git", "ls-files"], cwd=dest, capture_output=True, text=True, check=True).stdout
    assert set(tracked.split()) == set(EDITION)
    assert se.build_edition(dest, chapters=LAST_STAGE[0], closed=LAST_STAGE[1]) == sorted(EDITION)  # no new commit
    log = subprocess.run(["git", "log", "--oneline"], cwd=dest, capture_output=True, text=True, check=True).stdout
    assert len(log.splitlines()) == 2
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(se.EditionError, match="not an earlier student edition"):
        se.build_edition(tmp_path / "other", chapters=LAST_STAGE[0], closed=LAST_STAGE[1])


# ---------------------------------------------------------------------------------------------------------------
# a fresh install with the README's set-up command, then every release notebook headless


def readme_setup_command(readme: str) -> str:
    block = re.search(r"## Set up.*?```bash\n(.*?)```", readme, re.S)
    assert block, "the student README needs a '## Set up' section with a bash block"
    lines = [line.split("#", 1)[0].strip() for line in block.group(1).splitlines() if "# set up" in line]
    assert len(lines) == 1, block.group(1)
    return lines[0]


@pytest.fixture(scope="module")
def installed_edition(tmp_path_factory):
    base = tmp_path_factory.mktemp("student-edition")
    dest = base / "edition"
    se.build_edition(dest, chapters=LAST_STAGE[0], closed=LAST_STAGE[1])
    command = readme_setup_command((dest / "README.md").read_text())
    start = time.monotonic()
    proc = subprocess.run(command, shell=True, cwd=dest, env=fresh_install_env(base), capture_output=True, text=True,
                          timeout=1200)
    seconds = time.monotonic() - start
    assert proc.returncode == 0, f"{command} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    assert not compiled_on_install(dest / ".venv", "jupyterlab"), "PIP_NO_COMPILE=0 no longer stops pip compiling"
    print(f"[student edition] {command}: {seconds:.0f} s, load {os.getloadavg()[0]:.1f}")
    return dest, proc.stdout + proc.stderr


@pytest.mark.slow
def test_fresh_install_holds_course_only(installed_edition, tmp_path):
    dest, output = installed_edition
    assert not re.search(r"(?i)deprecat|license", output), f"pip warned about the project:\n{output[-2000:]}"
    code = """
import importlib.util, importlib.metadata as md, course
files = [str(f) for f in md.files("nn-from-scratch-student")]
print(course.__file__, importlib.util.find_spec("autograder") is not None, sorted({f.split("/")[0] for f in files}))
"""
    py = dest / ".venv" / "bin" / "python"
    out = subprocess.run([str(py), "-c", code], cwd=tmp_path, env=fresh_install_env(tmp_path), capture_output=True,
                         text=True, check=True).stdout.split(" ", 2)
    assert "site-packages" in out[0], out  # the installed package (the wheel), not the folder
    assert out[1] == "False", "autograder is importable in the student edition's environment"
    tops = ast.literal_eval(out[2].strip())
    assert tops == ["course", "nn_from_scratch_student-" + tomllib.loads((dest / "pyproject.toml").read_text())[
        "project"]["version"] + ".dist-info"], f"the installed wheel holds more than course: {tops}"
    assert (dest / ".venv" / "bin" / "jupyter-lab").exists()


@pytest.mark.slow
def test_wheel_holds_course_only_and_its_build_warns_nothing_of_the_project(tmp_path):
    dest = tmp_path / "edition"
    se.build_edition(dest, chapters=LAST_STAGE[0], closed=LAST_STAGE[1], git=False)
    command = [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", str(dest), "-w", str(tmp_path / "dist")]
    proc = subprocess.run(command, capture_output=True, text=True, env=fresh_install_env(tmp_path), timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    warnings = [line for line in (proc.stdout + proc.stderr).splitlines()
                if re.search(r"BuildBackendWarning|(?i:deprecat)", line)]
    assert not warnings, warnings[:5]
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    tops = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert tops == {"course", wheel.name.split("-")[0] + "-" + wheel.name.split("-")[1] + ".dist-info"}, tops


def _assigned_names(source: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(strip_magics(source))):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
    return names


def unexpected_errors(nb: dict) -> list[str]:
    """Errors other than a skeleton's NotImplementedError (and NameErrors for what a stopped cell never defined)."""
    undefined: set[str] = set()
    unexpected = []
    for i, cell in enumerate(nb["cells"]):
        for err in [o for o in cell.get("outputs", []) if o["output_type"] == "error"]:
            missing = re.match(r"name '(\w+)' is not defined", err["evalue"])
            if err["ename"] in ("NotImplementedError", "NotImplementedYet") or (
                    err["ename"] == "NameError" and missing and missing.group(1) in undefined):
                undefined |= _assigned_names(cell_source(cell))
            else:
                unexpected.append(f"cell {i}: {err['ename']}: {err['evalue']}")
    return unexpected


EXECUTE = """
import sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True).execute()
nbformat.write(nb, sys.argv[2])
"""


@pytest.mark.slow
@pytest.mark.parametrize("chapter", chapters())
def test_release_notebook_runs_in_the_edition_with_only_skeleton_errors(installed_edition, chapter, tmp_path):
    dest, _ = installed_edition
    if not SHARED_DATA.is_dir():  # chapters 4-5 would try to download MNIST / CIFAR-10 (no network in tests)
        pytest.skip(f"offline fixtures not found at {SHARED_DATA}")
    notebook = dest / "release" / chapter / f"{chapter}.ipynb"
    out = tmp_path / "executed.ipynb"
    env = fresh_install_env(tmp_path, COURSE_QUICK="1", COURSE_DATA_FIXTURES=str(SHARED_DATA))
    env["PATH"] = str(dest / ".venv" / "bin") + os.pathsep + env["PATH"]
    subprocess.run([str(dest / ".venv" / "bin" / "python"), "-c", EXECUTE, str(notebook), str(out)], env=env,
                   cwd=notebook.parent, check=True, timeout=1200)
    nb = json.loads(out.read_text())
    assert any(o["output_type"] == "error" for c in nb["cells"] for o in c.get("outputs", [])), \
        "expected the skeletons to raise"
    unexpected = unexpected_errors(nb)
    assert not unexpected, f"release/{chapter} in the student edition raised: {unexpected}"
