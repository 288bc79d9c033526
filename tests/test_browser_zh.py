"""A Chinese chapter in JupyterLab (Chromium) with its live monitor (issue 30): JupyterLab's interface in Chinese
(the language pack), the chapter's prose in Chinese (its translation), the kernel's messages in Chinese
(COURSE_LANG=zh_CN) and the monitor drawing while the training cell runs. Screenshots go to test-artifacts/zh/
(docs/images/zh-*.png keeps the ones looked at: the monitor mid-training with the code above it, the
monitor at the end, the chapter's opening prose).

The chapter is chapter 3's source notebook (the solutions, so that it trains; its full run, so that the monitor is
caught mid-training) with its markdown translated, as the build translates the release.
"""

from __future__ import annotations

import re
import shutil
import time

import nbformat
import pytest

from autograder.authoring.translations import load_store, translate
from autograder.chapters import get
from autograder.paths import source_path
from tests.conftest import ROOT, SHARED_DATA, isolated_env
from tests.lab_server import CHROMIUM, CHROMIUM_ARGS, lab_server, need_chromium, pids_mentioning
from tests.test_browser_monitors import MONITOR, RUNNING_MONITOR_DRAWN

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = ROOT / "test-artifacts" / "zh"
CHAPTER = "03_activations"
DONE = "notebook-done.txt"
CJK = re.compile(r"[\u4e00-\u9fff]")
# a monitor still training: its cell runs, its loss panel is drawn and its Stop button is still enabled
TRAINING = RUNNING_MONITOR_DRAWN.replace("parseInt(panel.dataset.points || '0', 10) > 0",
                                         "parseInt(panel.dataset.points || '0', 10) > 2 && "
                                         "cell.querySelector('.ctm-stop:not([disabled])')")
KERNEL_IDLE_ZH = ("() => [...document.querySelectorAll('.jp-StatusBar-TextItem')]"
                  ".some(e => e.innerText.endsWith('| 空闲'))")


def chinese_chapter(folder) -> None:
    nb = nbformat.read(source_path(CHAPTER), as_version=4)
    nb = translate(nb, load_store(get(CHAPTER), "zh_CN"), "zh_CN")
    nb.cells.append(nbformat.v4.new_code_cell(f"open({DONE!r}, 'w').write('done')"))
    (folder / CHAPTER).mkdir(parents=True)
    nbformat.write(nb, folder / CHAPTER / f"{CHAPTER}.ipynb")


def test_chinese_chapter_with_its_live_monitor(tmp_path):
    sync_playwright = need_chromium()
    if not SHARED_DATA.is_dir():
        pytest.skip(f"offline fixtures not found at {SHARED_DATA}")
    pytest.importorskip("jupyterlab_language_pack_zh_CN", reason="pip install jupyterlab-language-pack-zh-cn")
    nbdir = tmp_path / "notebooks"
    chinese_chapter(nbdir)
    env = isolated_env(tmp_path, COURSE_LANG="zh_CN", COURSE_DATA_FIXTURES=str(SHARED_DATA))
    for var in ("COURSE_MONITOR", "NBGRADER_EXECUTION", "COURSE_QUICK"):
        env.pop(var, None)
    settings = tmp_path / ".env" / "jcfg" / "lab" / "user-settings" / "@jupyterlab"
    (settings / "translation-extension").mkdir(parents=True)
    (settings / "translation-extension" / "plugin.jupyterlab-settings").write_text('{"locale": "zh_CN"}')
    (settings / "notebook-extension").mkdir(parents=True)
    (settings / "notebook-extension" / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    done = nbdir / CHAPTER / DONE
    with lab_server(tmp_path, nbdir, env, start_timeout=300) as (base, token, env):
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, "--lang=zh-CN"],
                                         env={**env, "HOME": str(tmp_path / "chromium-home")})
            page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
            try:
                page.goto(f"{base}/lab/tree/{CHAPTER}/{CHAPTER}.ipynb?token={token}&reset", timeout=60_000)
                page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
                page.wait_for_function(KERNEL_IDLE_ZH, timeout=300_000, polling=250)
                page.wait_for_timeout(500)
                page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^运行$")).click()
                page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^运行所有单元格$")).click()
                start, mid = time.monotonic(), -1
                while mid < 0 and not done.exists():
                    mid = page.evaluate(TRAINING)
                    assert time.monotonic() - start < 1200, "the chapter still runs after 20 minutes"
                    page.wait_for_timeout(100)
                assert mid >= 0, "every training cell ended before its monitor drew"
                cell = page.locator(".jp-CodeCell").nth(mid)
                # the training cell's monitor, while training runs, under the prose that introduces it
                cell.evaluate("c => c.scrollIntoView({block: 'start'})")
                page.evaluate("() => (document.querySelector('.jp-WindowedPanel-outer')"
                              " || document.querySelector('.jp-Notebook')).scrollBy(0, -260)")
                page.wait_for_timeout(300)
                page.screenshot(path=str(ARTIFACTS / "zh-chapter-monitor.png"))
                monitor_text = cell.locator(MONITOR).inner_text()
                prose = page.locator(".jp-MarkdownOutput").first.inner_text()
                while not done.exists():
                    assert time.monotonic() - start < 1200, "the chapter still runs after 20 minutes"
                    page.wait_for_timeout(500)
                page.wait_for_timeout(1500)
                page.set_viewport_size({"width": 1400, "height": 2000})
                monitor = page.locator(MONITOR).first
                monitor.scroll_into_view_if_needed()
                monitor.screenshot(path=str(ARTIFACTS / "zh-monitor-end.png"))
                end_text = monitor.inner_text()
                menu = page.locator(".lm-MenuBar-itemLabel").all_inner_texts()
                # the chapter's opening prose
                page.set_viewport_size({"width": 1400, "height": 1000})
                page.locator(".jp-Cell").first.evaluate("c => c.scrollIntoView({block: 'start'})")
                page.wait_for_timeout(300)
                page.screenshot(path=str(ARTIFACTS / "zh-chapter-top.png"))
            finally:
                page.close()
                browser.close()
    assert not pids_mentioning(str(tmp_path)), "a server, kernel or browser process survived the cleanup"
    assert "运行" in menu and "文件" in menu, menu  # JupyterLab's own menus in Chinese
    assert CJK.search(prose), prose[:200]  # the chapter's prose
    assert CJK.search(monitor_text) or CJK.search(end_text), (monitor_text[:300], end_text[:300])  # the monitor
