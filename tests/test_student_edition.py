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
import subprocess
import sys
import time
import tokenize
import tomllib
import zipfile
from pathlib import Path

import pytest

from autograder import student_edition as se
from autograder.build import ROOT, chapters
from autograder.notebook_tools import cell_source, grading_cells, load, solution_cells, strip_magics
from tests.conftest import SHARED_DATA, isolated_env

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


@functools.cache
def secret_lines() -> dict[str, str]:
    """{stripped non-trivial line: "chapter (solution|hidden test)"} over every source notebook."""
    secret = {}
    for chapter in chapters():
        nb = load(ROOT / "source" / chapter / f"{chapter}.ipynb")
        for (select, pattern), kind in zip(REGIONS, ("solution", "hidden test")):
            for cell in select(nb):
                for body in re.findall(pattern, cell_source(cell), re.S):
                    for line in body.splitlines():
                        if not trivial(line):
                            secret.setdefault(line.strip(), f"{chapter} {kind}")
    return secret


def file_lines(name: str, data: bytes) -> set[str]:
    """Stripped lines of a file; for a notebook, of its cell sources and outputs."""
    if name.endswith(".ipynb"):
        nb = json.loads(data)
        text = "\n".join(cell_source(c) + "\n" + json.dumps(c.get("outputs", [])) for c in nb["cells"])
    else:
        text = data.decode("utf-8", errors="replace")
    return {line.strip() for line in text.splitlines()}


EDITION = se.edition_files()
# Known leaks, reported to the lead (each is a course-design decision outside the edition builder); strict, so
# the mark must go as soon as one is fixed.
KNOWN_LEAKS = {
    "course/gradcheck.py": "ships chapter 2's numerical_gradient and relative_error (chapters 3 and 6 import it)",
    "course/data/photos.py": "box_downsample is chapter 6's downsample_box solution",
    "release/02_dense_backprop/02_dense_backprop.ipynb": "its training demo is chapter 4's sgd_step body",
    "release/03_activations/03_activations.ipynb": "its training demo is chapter 4's sgd_step body",
    "release/05_cnn_cifar/05_cnn_cifar.ipynb": "a provided ReLU backward is chapter 3's relu_backward body",
}
NAMES_AUTOGRADER: dict[str, str] = {}


def _params(known: dict[str, str]):
    return [pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=known[name])) if name in known
            else name for name in sorted(EDITION)]


def test_trivial_rule():
    for line in ("", "return out", "grads = {}", "else:", "x, W, b = cache", "for name in params:", "return a, b"):
        assert trivial(line), line
    for line in ("return x @ w + b", "old = x[idx]", "out = np.maximum(0, x)", "return dout * (cache > 0)",
                 "# the mean over the batch", "check_relu_forward(relu_forward)", '"""Shapes: (N, D)."""'):
        assert not trivial(line), line
    assert len(secret_lines()) > 100, "expected solution and hidden-test lines to search for"


def test_edition_holds_exactly_the_student_files():
    expected = {"README.md", "pyproject.toml", "environment.yml", "postBuild", ".gitignore"}
    expected |= {p.relative_to(ROOT).as_posix() for p in (ROOT / "course").rglob("*.py")}
    expected |= {f"release/{c}/{c}.ipynb" for c in chapters()}
    assert set(EDITION) == expected
    assert not any(n.startswith(("source/", "autograder/")) or "selfcheck" in n for n in EDITION)


@pytest.mark.parametrize("name", _params(KNOWN_LEAKS))
def test_edition_file_holds_no_solution_or_hidden_test_line(name):
    secret = secret_lines()
    leaked = sorted(f"{secret[line]}: {line}" for line in file_lines(name, EDITION[name]) & secret.keys())
    assert not leaked, f"{name} holds solution / hidden-test lines of source/: {leaked[:6]}"


@pytest.mark.parametrize("name", _params(NAMES_AUTOGRADER))
def test_edition_file_never_names_autograder(name):
    text = EDITION[name].decode("utf-8", errors="replace")
    hits = [f"{i}: {line.strip()}" for i, line in enumerate(text.splitlines(), 1) if "autograder" in line.lower()]
    assert not hits, f"{name} mentions autograder: {hits[:6]}"


def test_scan_stops_a_leaking_build(tmp_path):
    files = dict(EDITION)
    files["course/extra.py"] = b"from autograder.reference import ch01_perceptron\n"
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
    assert not {se._requirement_name(d) for d in project["dependencies"]} & se.INSTRUCTOR_ONLY
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
    assert se.main([str(dest)]) == 0
    tracked = subprocess.run(["git", "ls-files"], cwd=dest, capture_output=True, text=True, check=True).stdout
    assert set(tracked.split()) == set(EDITION)
    assert se.build_edition(dest) == sorted(EDITION)  # a rebuild with nothing new adds no commit
    log = subprocess.run(["git", "log", "--oneline"], cwd=dest, capture_output=True, text=True, check=True).stdout
    assert len(log.splitlines()) == 1
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(se.EditionError, match="not an earlier student edition"):
        se.build_edition(tmp_path / "other")


# ---------------------------------------------------------------------------------------------------------------
# a fresh install with the README's set-up command, then every release notebook headless


def readme_setup_command(readme: str) -> str:
    block = re.search(r"## Set up.*?```bash\n(.*?)```", readme, re.S)
    assert block, "the student README needs a '## Set up' section with a bash block"
    lines = [line.split("#", 1)[0].strip() for line in block.group(1).splitlines() if "# set up" in line]
    assert len(lines) == 1, block.group(1)
    return lines[0]


def clean_env(tmp: Path, **extra) -> dict:
    """No trace of the instructor repository: its venv off PATH, nothing on PYTHONPATH."""
    env = isolated_env(tmp, **extra)
    env["HOME"] = os.environ.get("HOME", env["HOME"])  # keep pip's cache: the install is what is tested
    env.pop("VIRTUAL_ENV", None)
    env["PYTHONPATH"] = ""
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if not p.startswith(str(ROOT)))
    return env


@pytest.fixture(scope="module")
def installed_edition(tmp_path_factory):
    base = tmp_path_factory.mktemp("student-edition")
    dest = base / "edition"
    se.build_edition(dest)
    command = readme_setup_command((dest / "README.md").read_text())
    start = time.monotonic()
    proc = subprocess.run(command, shell=True, cwd=dest, env=clean_env(base), capture_output=True, text=True,
                          timeout=1200)
    seconds = time.monotonic() - start
    assert proc.returncode == 0, f"{command} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
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
    out = subprocess.run([str(py), "-c", code], cwd=tmp_path, env=clean_env(tmp_path), capture_output=True,
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
    se.build_edition(dest, git=False)
    command = [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", str(dest), "-w", str(tmp_path / "dist")]
    proc = subprocess.run(command, capture_output=True, text=True, env=clean_env(tmp_path), timeout=600)
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
    env = clean_env(tmp_path, COURSE_QUICK="1", COURSE_DATA_FIXTURES=str(SHARED_DATA))
    env["PATH"] = str(dest / ".venv" / "bin") + os.pathsep + env["PATH"]
    subprocess.run([str(dest / ".venv" / "bin" / "python"), "-c", EXECUTE, str(notebook), str(out)], env=env,
                   cwd=notebook.parent, check=True, timeout=1200)
    nb = json.loads(out.read_text())
    assert any(o["output_type"] == "error" for c in nb["cells"] for o in c.get("outputs", [])), \
        "expected the skeletons to raise"
    unexpected = unexpected_errors(nb)
    assert not unexpected, f"release/{chapter} in the student edition raised: {unexpected}"
