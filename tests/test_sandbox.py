"""The sandbox every execution of student code runs in (autograder/trusted/isolation.py), the per-check deadline
with respawn (autograder/trusted/recheck.py), feedback hardening, similarity report and LMS export. Fast: no
nbgrader run."""

from __future__ import annotations

import csv
import io
import json
import subprocess

import pytest

from autograder.paths import ROOT
from autograder.trusted.isolation import bwrap_path, sandbox_env, wrap
from autograder.trusted.recheck import verify_cells

pytestmark = pytest.mark.skipif(bwrap_path() is None, reason="bubblewrap (bwrap) is not installed")

PROBE = r"""
import json, os, socket
out = {"cwd": os.getcwd(), "pids": sorted(p for p in os.listdir("/proc") if p.isdigit()),
       "repo_autograder": os.path.exists(%(repo)r + "/autograder"), "source": os.path.exists(%(repo)r + "/source"),
       "home": os.path.exists(os.path.expanduser("~root") + "/.bashrc") or os.path.exists("/root/.bashrc")}
try:
    open(%(course)r + "/testing.py", "a").close(); out["course_writable"] = True
except OSError:
    out["course_writable"] = False
try:
    socket.create_connection(("1.1.1.1", 53), timeout=2); out["network"] = True
except OSError:
    out["network"] = False
open("scratch-file", "w").write("ok"); out["scratch_writable"] = True
print(json.dumps(out))
"""


def test_bwrap_sandbox_sees_only_the_allowlist(tmp_path):
    import course

    course_dir = str(__import__("pathlib").Path(course.__file__).parent)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    code = PROBE % {"repo": str(ROOT), "course": course_dir}
    cmd, env = wrap(["python3", "-I", "-c", code], "bwrap", [scratch], scratch, sandbox_env())
    out = json.loads(subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120).stdout)
    assert out["cwd"] == str(scratch) and out["scratch_writable"] and (scratch / "scratch-file").exists()
    assert not out["repo_autograder"] and not out["source"] and not out["home"]
    assert not out["course_writable"] and not out["network"]
    assert len(out["pids"]) <= 3, out["pids"]  # its own PID namespace: none of the grader's processes


def test_data_folder_reached_through_a_symlink_is_readable_inside(tmp_path, monkeypatch):
    """An instructor's COURSE_DATA_DIR may be a symlink (or lie below one): the sandbox binds the real folder, and
    the variable it passes must name where it is bound, not a path that does not exist inside."""
    real = tmp_path / "disk" / "data"
    real.mkdir(parents=True)
    (real / "train.bin").write_text("pixels")
    (tmp_path / "link").symlink_to(tmp_path / "disk")
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "link" / "data"))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    code = "import os; print(open(os.path.join(os.environ['COURSE_DATA_DIR'], 'train.bin')).read())"
    cmd, env = wrap(["python3", "-I", "-c", code], "bwrap", [scratch], scratch, sandbox_env())
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip() == "pixels", proc.stderr[-1000:]


def test_sandboxes_reuse_one_font_list_built_outside(tmp_path, monkeypatch):
    """Each sandbox has a fresh MPLCONFIGDIR: without the font list bound in, every kernel and every judge's rebuild
    that imports pyplot would scan the fonts again (matplotlib logs "generated new fontManager")."""
    from autograder.trusted.isolation import font_list

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    font_list.cache_clear()
    try:
        fonts = font_list()
        assert fonts is not None and fonts.is_relative_to(tmp_path / "cache"), fonts
        scratch = tmp_path / "scratch"
        scratch.mkdir()
        code = ("import logging; logging.basicConfig(level=logging.INFO)\n"
                "import matplotlib.pyplot as plt\n"
                "plt.title('text needs a font'); plt.savefig('out.png')")
        cmd, env = wrap(["python3", "-I", "-c", code], "bwrap", [scratch], scratch, sandbox_env())
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0 and (scratch / "out.png").stat().st_size > 0, proc.stderr[-2000:]
        assert "generated new fontManager" not in proc.stderr and "findfont" not in proc.stderr, proc.stderr[-2000:]
    finally:
        font_list.cache_clear()


SETUP = "import numpy as np"
TESTS = [{"id": "t1", "points": 2.0, "checks": [["check_perceptron_predict", "perceptron_predict"]]},
         {"id": "t2", "points": 3.0, "checks": [["check_perceptron_train", "perceptron_train"]]}]
RIGHT_PREDICT = "def perceptron_predict(X, w, b):\n    return (X @ w + b > 0).astype(np.int64)"
ENDLESS_TRAIN = ("def perceptron_train(X, y, lr, epochs, rng):\n    import itertools\n"
                 "    for _ in itertools.count():\n        pass")


def test_a_hang_costs_one_test_cell_and_the_sandbox_is_respawned():
    cells = [{"name": "setup s", "source": SETUP}, {"name": "solution perceptron_train", "source": ENDLESS_TRAIN},
             {"name": "solution perceptron_predict", "source": RIGHT_PREDICT}]
    out = verify_cells(cells, [TESTS[1], TESTS[0]], timeout=4)
    assert not out["tests"]["t2"]["ok"] and "did not finish within 4 s" in out["tests"]["t2"]["message"]
    assert out["tests"]["t1"]["ok"], out["tests"]["t1"]  # checked in a fresh sandbox after the hang
    assert out["isolation"] == "bwrap"


def test_shadow_autograder_module_cannot_replace_the_checks(tmp_path):
    attack = ("import os, sys\nos.makedirs('autograder/checks', exist_ok=True)\n"
              "open('autograder/__init__.py', 'w').close()\n"
              "open('autograder/checks/__init__.py', 'w').write('def check_perceptron_predict(fn): pass')\n"
              "sys.path.insert(0, os.getcwd())\n" + RIGHT_PREDICT.replace("> 0", ">= 0"))
    out = verify_cells([{"name": "setup s", "source": SETUP}, {"name": "solution perceptron_predict",
                                                             "source": attack}], TESTS[:1], timeout=20)
    assert not out["tests"]["t1"]["ok"]


def test_strip_hidden_tests_and_csp():
    import nbformat

    from autograder.grading.feedback import CSP, add_csp
    from autograder.grading.preprocessors.hidden_tests import StripHiddenTests

    cell = nbformat.v4.new_code_cell("x = 1\n### BEGIN HIDDEN TESTS\nfrom autograder.checks import c\n"
                                     "### END HIDDEN TESTS")
    cell, _ = StripHiddenTests().preprocess_cell(cell, {}, 0)
    assert cell.source == "x = 1"
    page = add_csp("<html><head><title>t</title></head><body></body></html>")
    assert page.index(CSP) < page.index("<title>") and add_csp(page) == page
    assert "script-src" not in CSP or "'none'" in CSP


def test_similarity_ignores_skeleton_and_lists_identical_and_near_identical():
    from autograder.grading.similarity import similar_pairs

    body = ("def f(x):\n    total = 0\n    for v in x:\n        total += v * v  # squares\n"
            "    assert total >= 0, \"a sum of squares is never negative\"\n    return total ** 0.5\n")
    subs = {"a": {"f": body}, "b": {"f": body}, "c": {"f": body.replace("total", "acc")},
            "d": {"f": "def f(x):\n    raise NotImplementedError()"},
            "e": {"f": "import numpy as np\ndef f(x):\n    return np.linalg.norm(x)"}}
    rows = similar_pairs(subs, {"f": "def f(x):\n    raise NotImplementedError()"})
    pairs = {(r["a"], r["b"]): r["similarity"] for r in rows}
    assert pairs.get(("a", "b")) == "identical"
    assert ("d", "e") not in pairs and not any("d" in p for p in pairs)


@pytest.mark.parametrize("fmt", ["canvas", "moodle"])
def test_export_columns_match_the_documented_format(fmt, tmp_path):
    from autograder.grading.export import COLUMNS, export

    results = [{"student": "s1", "total": 4.0, "status": "graded"},
               {"student": "s2", "total": 0.0, "status": "grading error"}]
    export(fmt, tmp_path / "out.csv", results, {"nb": {"a": 2.0, "b": 3.0}}, "01_perceptron")
    text = (tmp_path / "out.csv").read_text()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == [*COLUMNS[fmt], "01_perceptron"]
    documented = (ROOT / "docs" / "grading.md").read_text()
    assert all(f"`{c}" in documented or f" {c}," in documented or f"{c}`" in documented for c in COLUMNS[fmt])
    grades = {r.get("SIS Login ID") or r.get("Username"): r["01_perceptron"] for r in rows}
    assert grades["s1"] == "4" and grades["s2"] == ""  # a grader fault is never uploaded as a zero
    if fmt == "canvas":
        assert rows[0]["Student"] == "Points Possible" and rows[0]["01_perceptron"] == "5"


def test_tmp_and_scratch_are_size_limited_in_memory_and_no_capability_survives(tmp_path):
    """/tmp and the scratch folder are tmpfs of TMPFS_MB each (bwrap --size): writing more fails inside, nothing
    reaches the host's disk, and the sandbox holds no capability even when the grader runs as root."""
    from autograder.trusted.isolation import TMPFS_MB

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (scratch / "nb.ipynb").write_text("{}")
    code = ("import json, os\nout = {}\nfor path in ('/tmp/fill', 'fill'):\n    try:\n"
            "        with open(path, 'wb') as fh:\n            for _ in range(%d):\n"
            "                fh.write(b'x' * (1 << 20))\n        out[path] = 'fit'\n"
            "    except OSError as exc:\n        out[path] = exc.errno\n"
            "out['nb'] = open('nb.ipynb').read()\n"
            "out['cap'] = [l for l in open('/proc/self/status') if l.startswith('CapEff')][0].split()[1]\n"
            "print(json.dumps(out))\n") % (TMPFS_MB + 16)
    cmd, env = wrap(["python3", "-I", "-c", code], "bwrap", [], scratch, sandbox_env(), private=[scratch])
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    out = json.loads(proc.stdout)
    assert out["/tmp/fill"] == 28 and out["fill"] == 28, out  # ENOSPC
    assert out["nb"] == "{}" and int(out["cap"], 16) == 0
    assert sorted(p.name for p in scratch.iterdir()) == ["nb.ipynb"]  # nothing written to the host


def test_process_limit_stops_a_fork_bomb_inside_its_unit():
    """A pids cgroup per grading unit (autograder/trusted/limits.py): RLIMIT_NPROC would count the whole machine's
    processes of the user (and root is exempt)."""
    from autograder.trusted.limits import limits, process_limit_available

    if not process_limit_available():
        pytest.skip("no writable pids cgroup on this machine (no process limit: docs/grading.md)")
    code = ("import os, time\nstarted = 0\nfor _ in range(200):\n    try:\n        if os.fork() == 0:\n"
            "            time.sleep(5)\n            os._exit(0)\n        started += 1\n    except OSError:\n"
            "        break\nprint(started)\n")
    cmd, env = wrap(["python3", "-I", "-c", code], "bwrap", [], ROOT, sandbox_env())
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True, preexec_fn=limits(None, None, True, 40))
    try:
        started = int(proc.communicate(timeout=60)[0])
    finally:
        import os
        import signal

        from autograder.trusted.limits import release_pids_cgroup
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
        release_pids_cgroup(proc.pid)
    assert 0 < started < 40
