"""The hub walk of issue 28 in a real browser: JupyterHub (PAM login, local Unix users, configurable-http-proxy) on
127.0.0.1 with the course's nbgrader set-up, driven through Debian's Chromium (playwright).

The instructor guide is followed literally (the blocks tests/test_class_run.py runs, plus the formgrader's
``CourseDirectory.root`` block): the course directory locked, the exchange, ``/etc/jupyter/nbgrader_config.py`` (a
temporary stand-in on JUPYTER_CONFIG_PATH), ``nbgrader release_assignment``. A student logs in, opens *Nbgrader ->
Assignment List* (the Assignments tab), fetches the chapter, opens the fetched notebook from the tab, types the
solution of one of its two exercises into the cell, saves, and submits from the tab. The instructor collects and
grades with the guide's commands (``collect --update``, ``course-grade``, ``release_feedback``), then opens the
formgrader in its own tab, ``/user/<instructor>/formgrader``, whose submissions page must show the score
course-grade wrote (strictly between 0 and full: one exercise right, one untouched). The student fetches the
feedback from the Assignments tab; the page shows the same score.

Screenshots (test-artifacts/hub/; docs/images/ keeps the ones looked at): the student's Assignments tab after the
feedback came back, and the formgrader's submissions page. Needs root, Chromium, the playwright package,
jupyterhub and configurable-http-proxy (.ci/browser-deps, .ci/hub-deps); skips with the reason otherwise, fails in
CI (CI=true). Waits are for events with generous hang guards; every user, process and port is released after.
"""

from __future__ import annotations

import csv
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.notebook import grade_id, solution_cells
from autograder.paths import ROOT
from tests.lab_server import (
    CHROMIUM,
    CHROMIUM_ARGS,
    KERNEL_IDLE,
    free_port,
    need_chromium,
    pids_mentioning,
    wait_until_serving,
)
from tests.test_class_run import CHAPTER, GUIDE_COURSE, GUIDE_EXCHANGE, guide_blocks
from tests.unix_class import VENV_BIN, UnixClass, need_root_tools, run_locked

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = ROOT / "test-artifacts" / "hub"
COURSE_ID = "nn-from-scratch"
TYPED = "perceptron_predict"  # the exercise the student solves in the browser; perceptron_train stays a skeleton
WAIT_MS = 180_000  # hang guard for any one browser wait (a spawn, a fetch, a submit)
TOP = {"x": 0, "y": 0, "width": 1280, "height": 400}  # the formgrader's table (the rest of its page is blank)


def need_hub_deps() -> str:
    """The configurable-http-proxy command (skip outside CI when it or jupyterhub is missing)."""
    proxy = shutil.which("configurable-http-proxy")
    try:
        import jupyterhub  # noqa: F401
    except ImportError:
        proxy = None
    if proxy is None:
        if os.environ.get("CI") == "true":
            pytest.fail("jupyterhub or configurable-http-proxy is missing in CI: .ci/hub-deps should install them")
        pytest.skip("jupyterhub (pip) or configurable-http-proxy (npm) missing: run .ci/hub-deps as root")
    return proxy


def formgrader_block() -> str:
    """The instructor guide's ``<!-- hub-run: instructor-config -->`` block (~/.jupyter/nbgrader_config.py)."""
    text = (ROOT / "docs" / "instructor-guide.md").read_text()
    found = re.search(r"<!-- hub-run: instructor-config -->\n```python\n(.*?)```", text, re.S)
    assert found, "the instructor guide lost its formgrader block (<!-- hub-run: instructor-config -->)"
    return found.group(1)


def hub_config(k: UnixClass, hub_dir: Path, proxy: str, port: int) -> str:
    env = {key: value for key, value in k.env().items() if key != "PATH"}
    return f"""\
c = get_config()
c.JupyterHub.bind_url = "http://127.0.0.1:{port}"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{free_port()}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{free_port()}"
c.ConfigurableHTTPProxy.command = [{proxy!r}]
c.ConfigurableHTTPProxy.pid_file = {str(hub_dir / "proxy.pid")!r}
c.JupyterHub.pid_file = {str(hub_dir / "hub.pid")!r}
c.JupyterHub.db_url = "sqlite:///{hub_dir / "jupyterhub.sqlite"}"
c.JupyterHub.cookie_secret_file = {str(hub_dir / "cookie_secret")!r}
c.JupyterHub.authenticator_class = "pam"
c.Authenticator.allowed_users = {set([k.instructor, *k.students])!r}
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [{str(VENV_BIN / "jupyterhub-singleuser")!r}]
c.Spawner.default_url = "/lab"
c.Spawner.environment = {env!r}
c.Spawner.start_timeout = 300
c.Spawner.http_timeout = 300
c.JupyterHub.cleanup_servers = True
"""


class Hub:
    """JupyterHub as root in the class's mount namespace (the users' servers inherit it); :meth:`stop` ends it,
    its proxy and the users' servers."""

    def __init__(self, k: UnixClass, proxy: str):
        self.dir = k.tmp / "hub"
        self.dir.mkdir(mode=0o700)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        (self.dir / "jupyterhub_config.py").write_text(hub_config(k, self.dir, proxy, self.port))
        env = {"PATH": f"{VENV_BIN}:{Path(proxy).parent}:/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
        self.log = self.dir / "hub.log"
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(
                [*k.prefix, sys.executable, "-m", "jupyterhub", "-f", str(self.dir / "jupyterhub_config.py")],
                cwd=self.dir, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_until_serving(f"{self.url}/hub/api", self.proc, 180, self.log, "JupyterHub")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # the hub stops the users' servers and its proxy
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        pid_file = self.dir / "proxy.pid"
        if pid_file.exists():  # a proxy left behind by a hub that died
            try:
                os.kill(int(pid_file.read_text().strip()), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass


def typed_solution() -> str:
    source = json.loads((ROOT / "source" / CHAPTER / f"{CHAPTER}.ipynb").read_text())
    cells = [c for c in solution_cells(source) if grade_id(c) == TYPED]
    assert len(cells) == 1, [grade_id(c) for c in solution_cells(source)]
    return "".join(cells[0]["source"])


def set_up_course(k: UnixClass):
    """The instructor guide's class set-up, literally (exchange and /etc/jupyter swapped for temporary ones)."""
    inst = k.instructor
    course = k.home(inst) / "nn-course"

    def swap(code: str) -> str:
        return code.replace(GUIDE_EXCHANGE, str(k.tmp / "exchange")).replace(GUIDE_COURSE, str(course))

    course.mkdir()
    shutil.copy2(ROOT / "nbgrader_config.py", course)
    for folder in ("source", "release"):
        shutil.copytree(ROOT / folder / CHAPTER, course / folder / CHAPTER)
    (lock, root, config, release, grade) = [code for _, code in guide_blocks()]
    jupyter = k.home(inst) / ".jupyter"
    jupyter.mkdir()
    (jupyter / "nbgrader_config.py").write_text(
        formgrader_block().replace("/home/<instructor>/nn-course", str(course)))
    subprocess.run(["chown", "-R", f"{inst}:{inst}", str(course), str(jupyter)], check=True)
    k.run(inst, swap(lock))
    subprocess.run(["bash", "-e", "-c", swap(root)], check=True)
    (k.config_dir / "nbgrader_config.py").write_text(swap(config))
    k.run(inst, swap(lock) + "\n" + swap(release))
    return course, swap(lock) + "\n" + swap(grade)


def quiet_lab(k: UnixClass, user: str):
    """No "get Jupyter news?" toast in the user's JupyterLab (it would cover the screenshots)."""
    folder = k.home(user) / ".jupyter" / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    subprocess.run(["chown", "-R", f"{user}:{user}", str(k.home(user) / ".jupyter")], check=True)


def log_in(browser, hub: Hub, user: str, password: str):
    """A new browser context logged in as ``user`` (the hub then spawns their server)."""
    context = browser.new_context(viewport={"width": 1280, "height": 760})
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    page.goto(f"{hub.url}/hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", password)
    page.click("#login_submit")
    return page


def wait_for_lab(page, hub: Hub, user: str):
    page.wait_for_url(re.compile(rf"/user/{user}/lab"), timeout=WAIT_MS)
    page.wait_for_selector("#jp-main-dock-panel", timeout=WAIT_MS)
    page.locator("#jp-menu-panel .lm-MenuBar-itemLabel", has_text=re.compile(r"^Nbgrader$")).wait_for()


def list_rows(page, name: str):
    return page.locator(f"#{name}_assignments_list > .list_item")


def open_assignments_tab(page):
    page.locator("#jp-menu-panel .lm-MenuBar-itemLabel", has_text=re.compile(r"^Nbgrader$")).click()
    page.locator('#jp-mainmenu-nbgrader li[data-command="nbgrader:open-assignment-list"]').click()
    page.locator("#released_assignments_list").wait_for()


def student_fetches_and_edits(page, solution: str):
    open_assignments_tab(page)
    released = list_rows(page, "released").filter(has_text=CHAPTER)
    released.locator(".item_status button", has_text="Fetch").click()
    fetched = list_rows(page, "fetched").filter(has_text=CHAPTER)
    fetched.wait_for()
    # open the fetched notebook from the tab: expand the chapter, click its notebook
    fetched.locator("a.assignment-notebooks-link").click()
    fetched.locator('a[href="#"]', has_text=CHAPTER).click()
    cell = page.locator(".jp-NotebookPanel:visible .jp-CodeCell").filter(
        has_text=f"def {TYPED}(").filter(has_text="NotImplementedError")
    handle = cell.element_handle()  # the filters no longer match once the text is typed
    # the kernel's first connection rewrites the notebook's metadata (a change to save): let it come first
    page.wait_for_function(KERNEL_IDLE, polling=250, timeout=WAIT_MS)
    cell.locator(".cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(solution)
    page.wait_for_function("(cell) => !cell.innerText.includes('NotImplementedError')", arg=handle)
    dirty = page.locator(".lm-TabBar-tab.jp-mod-current.jp-mod-dirty")
    dirty.wait_for()
    page.keyboard.press("Control+S")
    dirty.wait_for(state="detached")


def student_submits(page):
    page.locator(".lm-TabBar-tab", has_text=re.compile(r"^Assignments$")).click()
    fetched = list_rows(page, "fetched").filter(has_text=CHAPTER)
    fetched.locator(".item_status button", has_text=re.compile(r"^Submit$")).first.click()
    list_rows(page, "submitted").filter(has_text=CHAPTER).wait_for()


def student_fetches_feedback(page):
    page.locator("#refresh_assignments_list").click()
    submitted = list_rows(page, "submitted").filter(has_text=CHAPTER)
    submitted.locator("button", has_text="Fetch Feedback").click()
    submitted.locator("a", has_text="view feedback").wait_for()
    # for the picture: the downloaded chapter unfolded (its notebook and Validate button)
    fetched = list_rows(page, "fetched").filter(has_text=CHAPTER)
    fetched.locator("a.assignment-notebooks-link").click()
    fetched.locator("button", has_text=re.compile(r"^Validate$")).wait_for()


@pytest.fixture(scope="module")
def klass():
    need_root_tools()
    need_chromium()  # skip (or fail in CI) before creating any user
    need_hub_deps()
    k = UnixClass(1)
    try:
        k.create()
        yield k
    finally:
        k.remove()


def test_hub_walk_login_assignments_submit_formgrader(klass):
    sync_playwright = need_chromium()
    proxy = need_hub_deps()
    k = klass
    inst, student = k.instructor, k.students[0]
    passwords = {user: secrets.token_urlsafe(12) for user in (inst, student)}
    run_locked(["chpasswd"], input="".join(f"{u}:{p}\n" for u, p in passwords.items()))
    course, grade_script = set_up_course(k)
    for user in (inst, student):
        quiet_lab(k, user)
    if ARTIFACTS.exists():
        shutil.rmtree(ARTIFACTS)
    ARTIFACTS.mkdir(parents=True)

    hub = Hub(k, proxy)
    browser_home = k.tmp / "chromium-home"
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                         env={"HOME": str(browser_home)})
            pages = {}
            try:
                pages[inst] = log_in(browser, hub, inst, passwords[inst])  # its server spawns meanwhile
                pages[student] = page = log_in(browser, hub, student, passwords[student])
                wait_for_lab(page, hub, student)
                solution = typed_solution()
                student_fetches_and_edits(page, solution)
                saved = json.loads((k.home(student) / CHAPTER / f"{CHAPTER}.ipynb").read_text())
                typed = {grade_id(c): "".join(c["source"]) for c in solution_cells(saved)}
                assert typed[TYPED].strip() == solution.strip(), typed[TYPED]  # the browser saved what was typed
                assert "NotImplementedError" in typed["perceptron_train"]
                student_submits(page)

                out = k.run(inst, grade_script, timeout=900)  # collect --update, course-grade, release_feedback
                (ARTIFACTS / "course-grade.log").write_text(out.stdout + out.stderr)
                grades = course / "grading" / f"{CHAPTER}-grades.csv"
                shutil.copy2(grades, ARTIFACTS)
                for page_file in (course / "feedback").rglob("*.html"):
                    shutil.copy2(page_file, ARTIFACTS / "feedback.html")
                rows = {r["student"]: r for r in csv.DictReader(open(grades))}
                assert set(rows) == {student}, rows
                total, full = float(rows[student]["total"]), float(rows[student]["max"])
                assert 0 < total < full, (rows[student], out.stdout[-2000:])

                student_fetches_feedback(page)
                page.screenshot(path=str(ARTIFACTS / "assignments-tab.png"))
                feedback = list((k.home(student) / CHAPTER / "feedback").rglob(f"{CHAPTER}.html"))
                assert len(feedback) == 1, feedback
                html = feedback[0].read_text()
                shown = re.search(rf"{CHAPTER} \(Score: ([0-9.]+) / ([0-9.]+)\)", html)
                assert shown and [float(x) for x in shown.groups()] == [total, full], re.findall(r"Score:[^<]*", html)

                page = pages[inst]
                wait_for_lab(page, hub, inst)
                page.goto(f"{hub.url}/user/{inst}/formgrader")  # its own tab, as the guide says
                page.locator("text=Manage Assignments").first.wait_for()
                page.goto(f"{hub.url}/user/{inst}/formgrader/manage_submissions/{CHAPTER}")
                row = page.locator("tr", has=page.locator("td.student-id", has_text=student))
                score = row.locator("td.score")
                score.filter(has_text="/").wait_for()
                shown = [float(x) for x in score.inner_text().split("/")]
                assert shown == pytest.approx([total, full], abs=0.01), score.inner_text()
                page.screenshot(path=str(ARTIFACTS / "formgrader.png"), clip=TOP)
            except Exception:
                for user, p in pages.items():
                    try:
                        p.screenshot(path=str(ARTIFACTS / f"failure-{'instructor' if user == inst else 'student'}.png"))
                    except Exception:
                        pass
                raise
            finally:
                browser.close()
    finally:
        hub.stop()
        shutil.copy2(hub.log, ARTIFACTS / "hub.log")
        k.remove()
    assert not pids_mentioning(str(k.tmp)), "a hub, proxy or browser process survived the cleanup"
