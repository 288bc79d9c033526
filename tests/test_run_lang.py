"""``./run.sh course`` in a language (issue 30): ``--lang zh_CN`` (or ``COURSE_LANG=zh_CN``) starts JupyterLab on
release-zh_CN/ with the course's messages and JupyterLab's interface in Chinese; a language without notebooks is
refused. JupyterLab itself is replaced by a script that prints what it was started with."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.paths import ROOT

FAKE_JUPYTER = '#!/bin/sh\necho "COURSE_LANG=${COURSE_LANG:-}"\nfor a in "$@"; do echo "ARG $a"; done\n'


@pytest.fixture
def venv(tmp_path) -> Path:
    """A virtual environment run.sh takes as set up (its stamp is current) whose ``jupyter`` only reports."""
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python").symlink_to(sys.executable)
    (tmp_path / "bin" / "jupyter").write_text(FAKE_JUPYTER)
    (tmp_path / "bin" / "jupyter").chmod(0o755)
    stamp = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:16]
    (tmp_path / ".installed").write_text(stamp + "\n")
    return tmp_path


def run(venv: Path, *args: str, lang: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "COURSE_LANG"}
    env["COURSE_VENV"] = str(venv)
    if lang is not None:
        env["COURSE_LANG"] = lang
    return subprocess.run(["bash", str(ROOT / "run.sh"), "course", *args], env=env, capture_output=True, text=True,
                          timeout=60)


def test_english_by_default(venv):
    out = run(venv, "--no-browser").stdout
    assert "COURSE_LANG=\n" in out and "ARG --notebook-dir=release\n" in out and "ARG --no-browser" in out
    assert "user_settings_dir" not in out


@pytest.mark.parametrize("args, lang", [(("--lang", "zh_CN"), None), (("--lang=zh-CN",), None), ((), "zh_CN")])
def test_chinese_notebooks_messages_and_interface(venv, args, lang):
    proc = run(venv, *args, "--no-browser", lang=lang)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "COURSE_LANG=zh_CN\n" in out and "ARG --notebook-dir=release-zh_CN\n" in out and "ARG --no-browser" in out
    settings = venv / "share" / "course-lab-settings" / "zh_CN"
    assert f"ARG --LabApp.user_settings_dir={settings}\n" in out
    plugin = settings / "@jupyterlab" / "translation-extension" / "plugin.jupyterlab-settings"
    assert json.loads(plugin.read_text()) == {"locale": "zh_CN"}


def test_a_language_without_notebooks_is_refused_when_asked_for_and_english_when_it_is_the_environments(venv):
    proc = run(venv, "--lang", "fr_FR")
    assert proc.returncode == 2 and "release-fr_FR/ is missing" in proc.stderr and "zh_CN" in proc.stderr
    assert "ARG" not in proc.stdout
    for lang in ("fr_FR.UTF-8", "C"):  # COURSE_LANG the course falls back to English from: English notebooks
        proc = run(venv, lang=lang)
        assert proc.returncode == 0 and "ARG --notebook-dir=release\n" in proc.stdout, proc.stderr
        assert "English" in proc.stderr
