"""The README's two commands exist, CI runs exactly the test command, and environment.yml mirrors pyproject."""

from __future__ import annotations

import re
import tomllib

from autograder.paths import ROOT


def test_readme_gives_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    assert "./run.sh course" in readme and "./run.sh test" in readme


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    commands = [line for line in ci.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert commands[-1].strip() == "exec ./run.sh test"


def test_environment_yml_lists_exactly_the_pyproject_dependencies():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    env = (ROOT / "environment.yml").read_text()
    pip_lines = re.findall(r"^\s+- (.+)$", env.split("- pip:", 1)[1], re.M)
    assert sorted(p.strip() for p in pip_lines) == sorted(deps)
    python = re.search(r"^\s+- python=(\S+)$", env, re.M)
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert python and requires == f">={python.group(1)}", "environment.yml's python must be pyproject's minimum"


def test_binder_postbuild_installs_the_course_package():
    post = ROOT / "postBuild"
    assert post.is_file() and post.stat().st_mode & 0o111, "postBuild must exist and be executable"
    commands = [line for line in post.read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert any(re.search(r"pip install .*--no-deps.* -e \.$", c) for c in commands), commands


def test_readme_links_the_guides_and_every_local_link_exists():
    readme = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(([^)\s]+)\)", readme)
    local = [t.split("#")[0] for t in targets if not re.match(r"[a-z]+://", t) and t.split("#")[0]]
    missing = [t for t in local if not (ROOT / t).exists()]
    assert not missing, f"README links to files that do not exist: {missing}"
    for doc in ("docs/student-guide.md", "docs/instructor-guide.md", "docs/grading.md", "benchmarks/RESULTS.md"):
        assert doc in local, f"README must link {doc}"
    assert any(t.startswith("docs/images/") and t.endswith(".png") for t in local), "README needs a monitor screenshot"


def test_importing_nbformat_compiles_no_iri_grammar():
    """Every grading step (nbgrader, the judge) imports nbformat; rfc3987_syntax would add ~2.4 s to each."""
    import subprocess
    import sys

    code = "import nbformat, nbformat.validator, sys; print('rfc3987_syntax' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False", "jsonschema imports rfc3987_syntax: keep pyproject's jsonschema<4.24 pin"
