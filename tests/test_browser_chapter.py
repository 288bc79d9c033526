"""An instructor edits a chapter in JupyterLab: the jupytext text opens as a notebook, nbgrader's Create Assignment
panel shows its cell types, a change made there is saved back into the text file, and release/ regenerates from it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import jupytext
import pytest

from autograder.authoring.build import generate_release
from autograder.chapters import get as get_chapter
from autograder.chapters.text import read_chapter
from tests.conftest import ROOT
from tests.lab_server import CHROMIUM, CHROMIUM_ARGS, lab_server, need_chromium, pids_mentioning

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHAPTER = "01_perceptron"
ARTIFACTS = ROOT / "test-artifacts"
SET_POINTS = """([id, value]) => {
  for (const w of document.querySelectorAll('.nbgrader-CellWidget')) {
    const gid = w.querySelector('.nbgrader-CellId input');
    const pts = w.querySelector('.nbgrader-CellPoints input');
    if (gid && pts && gid.value === id) {
      pts.value = value;
      pts.dispatchEvent(new Event('change'));
      return true;
    }
  }
  return false;
}"""
CELL_TYPES = ("() => [...document.querySelectorAll('.nbgrader-CellType select')]"
              ".map(s => s.options[s.selectedIndex].text)")


def _points(text: str, grade_id: str):
    for cell in jupytext.reads(text, fmt="py:percent").cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade_id") == grade_id:
            return meta.get("points")
    return None


def test_chapter_text_opens_edits_and_saves_as_an_nbgrader_notebook(tmp_path):
    sync_playwright = need_chromium()
    work = tmp_path / "chapters"
    work.mkdir()
    ARTIFACTS.mkdir(exist_ok=True)
    text_file = work / f"{CHAPTER}.py"
    shutil.copyfile(get_chapter(CHAPTER).text, text_file)
    original = text_file.read_text(encoding="utf-8")
    assert _points(original, "test_perceptron_predict") == 2

    with lab_server(tmp_path, work) as (base, token, env):
        # What the instructor guide tells instructors to run once: .py files open as notebooks on double click.
        subprocess.run([sys.executable, "-m", "jupytext_config", "set-default-viewer", "python"], env=env,
                       check=True, capture_output=True)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                         env={**env, "HOME": str(tmp_path / "chromium-home")})
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1200})
                page.goto(f"{base}/lab/tree/{CHAPTER}.py?token={token}&reset", timeout=90_000)
                page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
                page.locator(".lm-TabBar-tab", has_text=re.compile("Create Assignment")).first.click()
                page.wait_for_selector(".nbgrader-CellType select", timeout=60_000)
                types = page.evaluate(CELL_TYPES)
                for wanted in ("Read-only", "Autograded answer", "Autograded tests"):
                    assert wanted in types, f"nbgrader shows no {wanted!r} cell: {types}"
                page.screenshot(path=str(ARTIFACTS / "browser_create_assignment.png"))

                # Give the first test cell 4 points in the panel, then save (Ctrl+S).
                assert page.evaluate(SET_POINTS, ["test_perceptron_predict", "4"]), "no points field for the cell"
                page.locator(".jp-Notebook").first.click()
                page.keyboard.press("Control+s")
                for _ in range(60):
                    if _points(text_file.read_text(encoding="utf-8"), "test_perceptron_predict") == 4:
                        break
                    page.wait_for_timeout(500)
            finally:
                browser.close()

    saved = text_file.read_text(encoding="utf-8")
    assert _points(saved, "test_perceptron_predict") == 4, "the points set in Create Assignment were not saved"
    # Nothing else changed: the same cells with the same nbgrader roles.
    before, after = read_chapter(original), read_chapter(saved)
    assert [c.source for c in after.cells] == [c.source for c in before.cells]
    roles = [({k: v for k, v in c.metadata.get("nbgrader", {}).items() if k != "points"}) for c in after.cells]
    assert roles == [({k: v for k, v in c.metadata.get("nbgrader", {}).items() if k != "points"})
                     for c in before.cells]

    # The saved text builds: source notebook, then the real nbgrader generate_assignment.
    src = tmp_path / "source" / CHAPTER
    src.mkdir(parents=True)
    import nbformat

    nbformat.write(after, src / f"{CHAPTER}.ipynb")
    release = generate_release(tmp_path / "source", CHAPTER, tmp_path / "release")
    released = nbformat.read(release / f"{CHAPTER}.ipynb", as_version=4)
    pts = [c.metadata["nbgrader"].get("points") for c in released.cells
           if c.metadata.get("nbgrader", {}).get("grade_id") == "test_perceptron_predict"]
    assert pts == [4]
    assert not pids_mentioning(str(tmp_path)), "a server, kernel or browser process survived"
