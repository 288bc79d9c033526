"""The instructor package as pip builds it: the wheel holds every chapter's folder (text, checks, references) and
the edition templates, not the test corpus; a self-check run from the installed package (no source/ beside it)
renders the chapter from its text and gives the same verdict."""

from __future__ import annotations

import subprocess
import sys
import zipfile

import pytest

from autograder.chapters import all_chapters
from autograder.paths import ROOT, release_path
from tests.conftest import fresh_install_env


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(ROOT), "-w", str(tmp / "dist")],
                          capture_output=True, text=True, env=fresh_install_env(tmp), timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (path,) = (tmp / "dist").glob("*.whl")
    return path


@pytest.mark.slow
def test_wheel_holds_every_chapter_folder_and_no_test_corpus(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for c in all_chapters():
        for part in ("chapter.py", "reference.py", "checks.py"):
            assert f"autograder/chapters/{c.package}/{part}" in names, (c.package, part)
    for template in ("README.md.in", "environment.yml.in", "gitignore", "postBuild", "pyproject.toml.in"):
        assert f"autograder/authoring/edition/{template}" in names, template
    assert not [n for n in names if n.startswith("tests/") or "/submissions/" in n or "corpus" in n]


@pytest.mark.slow
def test_selfcheck_of_the_installed_package_renders_the_chapter_text(wheel, tmp_path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    assert not (site / "source").exists()
    env = fresh_install_env(tmp_path)
    env["PYTHONPATH"] = str(site)
    code = ("import sys; from autograder import paths; assert paths.ROOT == __import__('pathlib').Path(sys.argv[2]), "
            "paths.ROOT; from autograder.selfcheck import main; sys.exit(main([sys.argv[1]]))")
    proc = subprocess.run([sys.executable, "-c", code, str(release_path("01_perceptron")), str(site)], cwd=tmp_path,
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "[FAIL] perceptron_predict" in proc.stdout and "Score: 0/5" in proc.stdout, proc.stdout
