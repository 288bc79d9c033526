"""The README's two commands exist, CI runs exactly the test command, and environment.yml mirrors pyproject."""

from __future__ import annotations

import re
import tomllib

from autograder.build import ROOT


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
    listed = [p.strip() for p in pip_lines if p.strip() != "-e ."]
    assert sorted(listed) == sorted(deps)
    assert "-e ." in [p.strip() for p in pip_lines], "environment.yml must install the course package"
