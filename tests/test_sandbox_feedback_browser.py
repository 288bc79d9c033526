"""Feedback pages run no student script (issue 18 item 5), proven in Chromium: a notebook whose outputs carry
<script>, an onerror handler and application/javascript is rendered the way feedback is (nbconvert's
SanitizeHTML + the course's Content-Security-Policy); the same page without them runs the script (control)."""

from __future__ import annotations

import nbformat
import pytest

from tests.lab_server import CHROMIUM, CHROMIUM_ARGS, need_chromium

pytestmark = [pytest.mark.browser, pytest.mark.slow]

EVIL_HTML = ('<script>document.title = "PWNED"</script>'
             '<img src="x" onerror="document.title = \'PWNED\'"><b>bold is fine</b>')


def _page(tmp_path, hardened: bool):
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors.sanitize import SanitizeHTML

    from autograder.grading.feedback import add_csp

    cell = nbformat.v4.new_code_cell("display(HTML(...))")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": EVIL_HTML, "text/plain": "x"}),
                    nbformat.v4.new_output("display_data", data={"application/javascript": 'document.title = "PWNED"',
                                                                 "text/plain": "y"})]
    nb = nbformat.v4.new_notebook(cells=[cell])
    exporter = HTMLExporter()
    if hardened:
        exporter.register_preprocessor(SanitizeHTML(), enabled=True)
    body, _ = exporter.from_notebook_node(nb)
    path = tmp_path / f"feedback-{hardened}.html"
    path.write_text(add_csp(body) if hardened else body, encoding="utf-8")
    return path


def test_feedback_page_runs_no_student_script(tmp_path):
    sync_playwright = need_chromium()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                     env={"HOME": str(tmp_path / "chromium-home")})
        try:
            titles = {}
            for hardened in (False, True):
                page = browser.new_page()
                page.goto(_page(tmp_path, hardened).as_uri())
                page.wait_for_timeout(1500)
                titles[hardened] = page.title()
                page.close()
        finally:
            browser.close()
    assert titles[False] == "PWNED", "control: the unhardened page should run the script"
    assert titles[True] != "PWNED"
