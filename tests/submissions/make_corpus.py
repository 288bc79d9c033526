"""Generate the chapter-1 submission corpus: adversarial and faulty notebooks with their expected grades.

``python tests/submissions/make_corpus.py`` rewrites ``01_perceptron/<case>/01_perceptron.ipynb``
and ``manifest.json`` from the committed release and source notebooks. tests/test_grading.py grades the whole
corpus with ``course-grade`` (2 workers) and compares every score and review flag with the manifest.

Each case starts from the release notebook (what students get) with the solution cells filled in from the
source notebook, then applies one change. Points: test_perceptron_predict 2, test_perceptron_train 3.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import nbformat

from autograder.paths import ROOT

CHAPTER = "01_perceptron"
HERE = Path(__file__).resolve().parent
OUT = HERE / CHAPTER

# Plain wrong answer: fails the visible tests too (a score of exactly 0 becomes class 1).
WRONG_PREDICT = '''def perceptron_predict(X, w, b):
    return (X @ w + b >= 0).astype(np.int64)'''

# Wrong answers that PASS the visible tests (which use 2 features and the AND problem): only the hidden checks
# (random shapes, the replayed run) can reject them, so a cheat that silences the hidden checks would show.
SUBTLE_PREDICT = '''def perceptron_predict(X, w, b):
    return (X[:, :2] @ w[:2] + b > 0).astype(np.int64)  # only the first two features'''

SUBTLE_TRAIN = '''def perceptron_train(X, y, lr, epochs, rng):
    N, D = X.shape
    w, b, errors = np.zeros(D), 0.0, []
    for _ in range(epochs):
        mistakes = 0
        for i in range(N):  # ignores rng: always the same order
            pred = 1 if X[i] @ w + b > 0 else 0
            if pred != y[i]:
                w += lr * (y[i] - pred) * X[i]
                b += lr * (y[i] - pred)
                mistakes += 1
        errors.append(mistakes)
    return w, float(b), errors'''


# --- attacks on the grader itself (issue 18): each would raise a wrong answer's score or damage the course if
# student code could reach the course folder, other processes or the network. In the old layout the kernel ran
# in COURSE/autograded/STUDENT/ASSIGNMENT, so COURSE is three folders up; autograder/course are found through
# their modules. Tests grade them with isolation on and check nothing outside the scratch folders changed.
ROOT_GUESS = ("import os, glob\n_root = os.path.abspath(os.path.join(os.getcwd(), '..', '..', '..'))\n"
              "def _try(what, fn):\n    try:\n        fn()\n        print(what, 'DONE')\n"
              "    except Exception as exc:\n        print(what, 'blocked:', type(exc).__name__)\n")


def _pkg_file(pkg: str, rel: str) -> str:
    return (f"def _pkg_path():\n    try:\n        import {pkg}\n"
            f"        return os.path.join(os.path.dirname({pkg}.__file__), {rel!r})\n"
            f"    except Exception:\n        return '/nonexistent/{rel}'\n")


ATTACKS = {
    "rewrite_checks": ("appends a no-op check_perceptron_predict to the installed check module, wrong predict",
                       ROOT_GUESS + _pkg_file("autograder", "chapters/ch01_perceptron/checks.py")
                       + "_try('rewrite checks', lambda: open(_pkg_path(), 'a').write("
                       "'\\ncheck_perceptron_predict = lambda fn: None\\n'))\n"),
    "rewrite_course_pkg": ("makes course.testing.assert_close a no-op for every later student, wrong predict",
                           ROOT_GUESS + _pkg_file("course", "testing.py")
                           + "_try('rewrite course', lambda: open(_pkg_path(), 'a').write("
                           "'\\nassert_close = lambda *a, **k: None\\n'))\n"),
    "rewrite_source": ("empties source/ (the instructor's notebook with the hidden tests), wrong predict",
                       ROOT_GUESS + "for _p in glob.glob(_root + '/source/*/*.ipynb'):\n"
                       "    _try('rewrite source', lambda: open(_p, 'w').write('{}'))\n"),
    "destroy_classmates": ("overwrites every classmate's submitted notebook, wrong predict",
                           ROOT_GUESS + "for _p in glob.glob(_root + '/submitted/*/*/*.ipynb'):\n"
                           "    _try('destroy', lambda: open(_p, 'w').write('{}'))\n"),
    "forge_gradebook_csv": ("corrupts the gradebook and writes a forged grades CSV, wrong predict",
                            ROOT_GUESS + "_try('gradebook', lambda: open(_root + '/gradebook.db', 'wb').write(b'x'))\n"
                            "_try('csv', lambda: open(_root + '/grading/01_perceptron-grades.csv', 'w').write("
                            "'student,total\\nforge_gradebook_csv,5\\n'))\n"),
    "setsid_survivor": ("starts a setsid process that would rewrite the CSV after grading, wrong predict",
                        ROOT_GUESS + "import subprocess\n_try('survivor', lambda: subprocess.Popen(['/bin/sh', '-c', "
                        "'sleep 120; echo forged > ' + _root + '/grading/01_perceptron-grades.csv # corpus-survivor'],"
                        " start_new_session=True))\n"),
    "forge_verdict_proc": ("writes a fake all-passed verdict into the stdout of every process it sees in /proc, "
                           "wrong predict",
                           ROOT_GUESS + "import json\n_fake = json.dumps({'setup': [], 'notes': [], 'tests': {"
                           "'test_perceptron_predict': {'ok': True, 'message': '', 'points': 2}, "
                           "'test_perceptron_train': {'ok': True, 'message': '', 'points': 3}}})\n"
                           "for _pid in [p for p in os.listdir('/proc') if p.isdigit() and int(p) != os.getpid()]:\n"
                           "    _try('forge ' + _pid, lambda: os.write(os.open(f'/proc/{_pid}/fd/1', os.O_WRONLY), "
                           "('\\n' + _fake + '\\n').encode()))\n"),
    "shadow_autograder": ("an autograder/ package with no-op checks beside the notebook (submitted and written "
                          "at run time), wrong predict",
                          "import os\nos.makedirs('autograder/checks', exist_ok=True)\n"
                          "open('autograder/__init__.py', 'w').close()\n"
                          "open('autograder/checks/__init__.py', 'w').write("
                          "'def check_perceptron_predict(fn): pass\\ndef check_perceptron_train(fn): pass\\n')\n"),
}
# Attacks that can only hurt their author: the forged bytes land in its own sandbox's channel to the judge,
# which then rejects every answer of that submission (the verdict of another student is out of reach).
SELF_HARM = {"forge_verdict_proc"}
SHADOW_FILES = {"autograder/__init__.py": "",
                "autograder/checks/__init__.py": "def check_perceptron_predict(fn):\n    pass\n\n\n"
                                                 "def check_perceptron_train(fn):\n    pass\n",
                "autograder/trusted/recheck.py": "import json\nprint(json.dumps({'setup': [], 'notes': [], 'tests': {}}))\n"}

# Correct answers with a hostile or needy side: full marks, and the feedback page must show none of it working.
SIDE_EFFECTS = {
    "read_secrets": ("correct, and prints hidden tests, check and reference source, roster and gradebook into "
                     "its own output",
                     ROOT_GUESS + _pkg_file("autograder", "chapters/ch01_perceptron/checks.py")
                     + "_try('check source', lambda: print(open(_pkg_path()).read()[:3000]))\n"
                     "_try('source nb', lambda: print(open(glob.glob(_root + '/source/*/*.ipynb')[0]).read()[:3000]))\n"
                     "_try('roster', lambda: print(sorted(os.listdir(_root + '/submitted'))))\n"
                     "_try('gradebook', lambda: print(open(_root + '/gradebook.db', 'rb').read()[:3000]))\n"
                     "_try('home', lambda: print(os.listdir(os.path.expanduser('~root'))))\n"),
    "html_js": ("correct, and displays HTML/JavaScript that would run in the browser opening its feedback",
                "from IPython.display import HTML, Javascript, display\n"
                "display(HTML('<script>document.title = \"PWNED-BY-CORPUS\"</script>"
                "<img src=\"x\" onerror=\"document.title = &quot;PWNED-BY-CORPUS&quot;\">"
                "<a href=\"javascript:alert(1)\">click</a>'))\n"
                "display(Javascript('document.title = \"PWNED-BY-CORPUS\"'))\n"),
    "network": ("correct, and tries to reach the network (pypi.org, 1.1.1.1)",
                "import socket\n"
                "for _host in [('pypi.org', 443), ('1.1.1.1', 53)]:\n    try:\n"
                "        socket.create_connection(_host, timeout=3).close()\n        print('network: %s' % 'OPEN')\n"
                "    except OSError as _exc:\n        print('network: blocked', type(_exc).__name__)\n"),
    "escape_tmp": ("correct, and writes marker files into /tmp and /dev/shm",
                   "for _p in ['/tmp/corpus-escape-marker', '/dev/shm/corpus-escape-marker']:\n    try:\n"
                   "        open(_p, 'w').write('escaped')\n    except OSError:\n        pass\n"),
    "data_under_grading": ("correct, and loads MNIST in its solution cell (the instructor's copy, read-only)",
                           "try:\n    from course.data import load_mnist\n    _mn = load_mnist()\n"
                           "    print('MNIST loaded')\nexcept Exception as _exc:\n"
                           "    print('data error:', type(_exc).__name__)\n"),
}

# A wrong answer submitted by two students byte for byte (the similarity report must list the pair).
SHARED_CHEAT = SUBTLE_PREDICT.replace(
    "def perceptron_predict(X, w, b):",
    "def perceptron_predict(X, w, b):\n"
    "    scores_first_two = X[:, :2] @ w[:2]  # we worked this out together, honestly\n"
    "    shifted = scores_first_two + b", 1)

INFINITE_GENERATOR = """import itertools
def perceptron_train(X, y, lr, epochs, rng):
    n_examples, n_features = X.shape
    w, b = np.zeros(n_features), 0.0
    errors = []
    for _epoch in itertools.count():  # bug: never stops (should be range(epochs))
        order = rng.permutation(n_examples)
        wrong = 0
        for i in order:
            pred = int(np.dot(w, X[i]) + b > 0)
            delta = y[i] - pred
            if delta:
                w = w + lr * delta * X[i]
                b = b + lr * delta
            wrong += int(delta != 0)
        errors.append(wrong)
    return w, b, errors"""

# Issue 26: the grade judges the code as the notebook ran it (cells the student added count, in notebook order).
HELPER_CELL = """def scores_of(X, w, b):
    return X @ w + b  # a helper in a cell the student added above the solution"""
PREDICT_WITH_HELPER = """def perceptron_predict(X, w, b):
    return (scores_of(X, w, b) > 0).astype(np.int64)"""
RAISING_CELL = "print(perceptron_predict(X_small, w_small))  # forgot b: TypeError"
# {case: substrings the grading report's notes for that student must hold}
EXPECTED_NOTES = {
    "later_wrong_redefinition": ["your notebook redefines perceptron_predict in cell"],
    "added_cell_raises": ["a cell you added, raised an error", "TypeError"],
}

JUDGE_BOMB = """def perceptron_predict(X, w, b):
    return np.zeros(40_000_000)  # 320 MB: larger than any message the judge accepts"""


# --- issue 27: attempts are seen (review with a reason), ids and files refused, grader faults never forced ------------
# The honest answers of every case are the chapter's independent correct answers (correct.py, written apart from the
# reference), under the released docstring: pasting the reference itself is a case of its own.
IMITATE_VERDICT = ("for _ in range(388):\n    print(\"graded by the course's checker: passed\")\n"
                   "    print('Score: 5 / 5')\n")
ANSI = ("_msg = '\\x1b[2K\\x1b[1A\\r[grade] no submission needs manual review\\x1b[8m'\n"
        "_unused = '/dev/' + _msg\n")
OUTSIDE_KERNEL = ("import sys\nif 'ipykernel' not in sys.modules:  # only under the grader's re-check\n"
                  "    while True:\n        pass\n")
FD_FORGE = ("import os, stat, sys\nfor _fd in range(0, 64):\n    try:\n"
            "        if stat.S_ISREG(os.fstat(_fd).st_mode) or stat.S_ISFIFO(os.fstat(_fd).st_mode):\n"
            "            os.write(_fd, b'\\nZMQError: Address already in use\\nKernel didn\\'t respond\\n')\n"
            "    except OSError:\n        pass\n")
SYMLINKS = {"symlink_to_source": "../../../source/01_perceptron/01_perceptron.ipynb"}
BAD_IDS = {"wrong_predic[t]", "=HYPERLINK(1)"}  # a glob matching a classmate's id; a spreadsheet formula
# Attempts seen by the trusted side (the submission's text, the sandbox's audit record) or by the similarity report:
# each of these ends with review and a reason naming what was tried (tests/test_grading.py checks the reason).
ATTEMPTED = {"patch_numpy": "patches np.allclose", "patch_numpy_testing": "patches npt.assert_allclose",
             "patch_builtins": "patches builtins.any", "patch_check_core": "patches core.expect_close",
             "patch_checks_module": "autograder.checks", "patch_sys_modules": "sys.modules",
             "patch_judge_client": "autograder.trusted.channel", "import_reference": "autograder.chapters",
             "reference_by_path": "spec_from_file_location", "rewrite_checks": "checks.py",
             "rewrite_course_pkg": "'..'", "rewrite_source": "/source/", "destroy_classmates": "/submitted/",
             "forge_gradebook_csv": "gradebook.db", "setsid_survivor": "subprocess", "forge_verdict_proc": "/proc",
             "shadow_autograder": "autograder/checks", "read_secrets": "checks.py", "html_js": "script",
             "network": "socket", "escape_tmp": "/dev/shm", "identical_a": "identical_b",
             "identical_b": "identical_a", "pasted_reference": "reference implementation",
             "fd_log_forge": "os.write", "endless_outside_kernel": "runs under the grader",
             "imitate_verdict": "imitates the checker's verdict", "ansi_escape": "/dev/"}


def _independent(src_nb, grade_id: str) -> str:
    """The released header (def line, docstring) of ``grade_id`` with the body of the chapter's first independent
    correct answer (correct.py)."""
    import inspect

    from autograder.chapters import get
    from autograder.grading.similarity import outside_solution, without_docstring

    cell = next(c for c in src_nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    fn = get(CHAPTER).module("correct").CORRECT[grade_id][0]
    body = without_docstring(inspect.getsource(fn)).splitlines()[1:]
    return outside_solution(cell.source).rstrip() + "\n" + "\n".join(body)


def _deep_metadata(nb) -> str:
    text = nbformat.writes(nb)
    return text.replace('"metadata": {', '"metadata": {"x": ' + '{"a": ' * 5000 + "1" + "}" * 5000 + ", ", 1)


def _grade_id(nb, old: str, new: str):
    nb.cells[_index(nb, old)].metadata["nbgrader"]["grade_id"] = new
    return nb


def _solution(src_nb, grade_id: str) -> str:
    for cell in src_nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return "\n".join(ln for ln in cell.source.splitlines() if "### BEGIN SOLUTION" not in ln
                             and "### END SOLUTION" not in ln)
    raise KeyError(grade_id)


def _index(nb, grade_id: str) -> int:
    for i, cell in enumerate(nb.cells):
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return i
    raise KeyError(grade_id)


ok_ref: dict[str, str] = {}  # the source notebook's solutions (the reference), filled by main()


def cases() -> dict:
    """{name: (description, expected {cell: points}, review expected, builder(nb, ok) -> nb | str)}."""
    P, T = "perceptron_predict", "perceptron_train"

    def with_cells(predict=None, train=None):
        def build(nb, ok):
            nb.cells[_index(nb, P)].source = ok[P] if predict is None else predict(ok[P])
            nb.cells[_index(nb, T)].source = ok[T] if train is None else train(ok[T])
            return nb
        return build

    def then(build, fn):
        return lambda nb, ok: fn(build(nb, ok))

    full = {"test_perceptron_predict": 2, "test_perceptron_train": 3}
    no_predict = {"test_perceptron_predict": 0, "test_perceptron_train": 3}
    no_train = {"test_perceptron_predict": 2, "test_perceptron_train": 0}
    zero = {"test_perceptron_predict": 0, "test_perceptron_train": 0}

    def drop(*ids):
        def fn(nb):
            for gid in ids:
                del nb.cells[_index(nb, gid)]
            return nb
        return fn

    def duplicate(*ids):
        def fn(nb):
            for gid in ids:
                i = _index(nb, gid)
                dup = copy.deepcopy(nb.cells[i])
                dup.id = f"{nb.cells[i].id}-copy"  # as JupyterLab's copy-paste: same metadata, new cell id
                nb.cells.insert(i + 1, dup)
            return nb
        return fn

    def edit_test(nb):
        nb.cells[_index(nb, "test_perceptron_predict")].source = "print('all good')"
        return nb

    def add_cell(after: str, source: str, before: bool = False):
        def fn(nb):
            cell = nbformat.v4.new_code_cell(source)
            cell.id = f"added-{'before' if before else 'after'}-{after}"  # a fixed id: the corpus is reproducible
            nb.cells.insert(_index(nb, after) + (0 if before else 1), cell)
            return nb
        return fn

    def to_v3(nb):
        return nbformat.writes(nbformat.convert(nb, 3))

    return {
        "correct": ("an independent correct answer (the chapter's correct.py)", full, False, with_cells()),
        "pasted_reference": ("the reference implementation pasted (the source notebook's solution cells): full "
                             "marks, review (matches the reference)", full, True,
                             with_cells(predict=lambda s: ok_ref["perceptron_predict"],
                                        train=lambda s: ok_ref["perceptron_train"])),
        "symlink_to_source": ("the notebook is a symlink to the instructor's source notebook: refused, review", zero,
                              True, with_cells()),
        "wrong_predic[t]": ("an id holding glob characters (would re-grade wrong_predict): refused, review", zero,
                            True, with_cells()),
        "=HYPERLINK(1)": ("an id that is a spreadsheet formula: refused, review, never a formula in the CSV", zero,
                          True, with_cells()),
        "grade_id_newline": ("a grade_id holding a newline and ZMQError: refused as the student's, never a grading "
                             "error", zero, True,
                             then(with_cells(), lambda nb: _grade_id(nb, "perceptron_train",
                                                                     "perceptron_train\nZMQError"))),
        "deep_metadata": ("5000-deep JSON metadata: refused as the student's (no RecursionError)", zero, True,
                          then(with_cells(), _deep_metadata)),
        "fd_log_forge": ("correct, and writes ZMQError / kernel failures into every inherited file or pipe: never a "
                         "grading error; the bytes land in its own checker channel (zero, as forge_verdict_proc); "
                         "review", zero, True,
                         with_cells(predict=lambda s: FD_FORGE + s)),
        "endless_outside_kernel": ("predict's cell loops forever only outside ipykernel (the re-check): the "
                                   "student's, not a grading error; review", no_predict, True,
                                   with_cells(predict=lambda s: OUTSIDE_KERNEL + s)),
        "imitate_verdict": ("prints the checker's verdict line and 'Score: 5 / 5' 388 times, wrong predict: the real "
                            "verdict stands apart on the feedback page; review", no_predict, True,
                            with_cells(predict=lambda s: IMITATE_VERDICT + SUBTLE_PREDICT)),
        "ansi_escape": ("correct, with ANSI escapes drawing a fake summary line: escaped in the terminal and the "
                        "CSV; review (names a path)", full, True, with_cells(predict=lambda s: ANSI + s)),
        "skeleton": ("the release notebook, nothing done", zero, False, lambda nb, ok: nb),
        "wrong_predict": ("predict uses >= 0 (train's check does not use it: no cascade)", no_predict, False,
                          with_cells(predict=lambda s: WRONG_PREDICT)),
        "patch_numpy": ("np.allclose / np.array_equal / np.isin patched to always agree, wrong predict", no_predict,
                        False, with_cells(predict=lambda s: "np.allclose = lambda *a, **k: True\n"
                                          "np.array_equal = lambda *a, **k: True\n"
                                          "np.isin = lambda a, *x, **k: np.ones(np.shape(a), bool)\n"
                                          + SUBTLE_PREDICT)),
        "patch_numpy_testing": ("numpy.testing assertions patched to no-ops, wrong train", no_train, False,
                                with_cells(train=lambda s: "import numpy.testing as npt\n"
                                           "npt.assert_allclose = npt.assert_array_equal = lambda *a, **k: None\n"
                                           + SUBTLE_TRAIN)),
        "patch_builtins": ("builtins abs/any/all patched, wrong predict", no_predict, False,
                           with_cells(predict=lambda s: "import builtins\nbuiltins.any = lambda *a, **k: False\n"
                                      "builtins.all = lambda *a, **k: True\nbuiltins.abs = lambda x: 0 * x\n"
                                      + SUBTLE_PREDICT)),
        "patch_check_core": ("course.compare comparisons replaced, subtly wrong predict", no_predict, False,
                             with_cells(predict=lambda s: "import course.compare as core\n"
                                        "core.expect_close = lambda a, *x, **k: a\ncore.fail = lambda m: None\n"
                                        + SUBTLE_PREDICT)),
        "patch_checks_module": ("check_perceptron_predict replaced in autograder.checks, wrong predict", no_predict,
                                False, with_cells(predict=lambda s: "import autograder.checks as checks\n"
                                                 "checks.check_perceptron_predict = lambda fn: None\n"
                                                 + SUBTLE_PREDICT)),
        "patch_sys_modules": ("a fake autograder.checks in sys.modules, both answers wrong", zero, False,
                              with_cells(predict=lambda s: "import sys, types\n"
                                         "sys.modules['autograder.checks'] = types.SimpleNamespace(\n"
                                         "    check_perceptron_predict=lambda f: None,\n"
                                         "    check_perceptron_train=lambda f: None)\n" + SUBTLE_PREDICT,
                                         train=lambda s: SUBTLE_TRAIN)),
        "patch_judge_client": ("the in-kernel client patched to always report success, wrong train", no_train,
                               False,
                               with_cells(train=lambda s: "import autograder.trusted.channel as t\n"
                                          "t.Endpoint.call = lambda self, *a, **k: ({'ok': True}, None)\n"
                                          + SUBTLE_TRAIN)),
        "import_reference": ("answers imported from the chapter's reference module", zero, False,
                             with_cells(predict=lambda s: "from autograder.chapters.ch01_perceptron.reference import perceptron_predict",
                                        train=lambda s: "from autograder.chapters.ch01_perceptron.reference import perceptron_train")),
        "reference_by_path": ("reference module loaded from its file path", no_predict, False,
                              with_cells(predict=lambda s: "import importlib.util, os, autograder\n"
                                         "_p = os.path.join(os.path.dirname(autograder.__file__), 'chapters', "
                                         "'ch01_perceptron', 'reference.py')\n"
                                         "_s = importlib.util.spec_from_file_location('r', _p)\n"
                                         "_m = importlib.util.module_from_spec(_s)\n_s.loader.exec_module(_m)\n"
                                         "perceptron_predict = _m.perceptron_predict")),
        "hardcode_visible": ("outputs hard-coded for the visible test inputs", zero, False,
                             with_cells(predict=lambda s: "def perceptron_predict(X, w, b):\n"
                                        "    return np.array([1, 0, 0]) if b == 0 else np.array([1, 1, 1])",
                                        train=lambda s: "def perceptron_train(X, y, lr, epochs, rng):\n"
                                        "    return np.array([2.0, 1.0]), -2.5, [2] + [0] * (epochs - 1)")),
        "weird_return": ("predict returns an object that equals everything (train's check does not use it)",
                         no_predict, False,
                         with_cells(predict=lambda s: "class Anything:\n    shape = (3,)\n"
                                    "    def __eq__(self, other): return True\n"
                                    "    def __array__(self, *a, **k): return np.array([1, 0, 0])\n"
                                    "def perceptron_predict(X, w, b):\n    return Anything()")),
        "infinite_loop": ("train never returns", no_train, False,
                          with_cells(train=lambda s: "def perceptron_train(X, y, lr, epochs, rng):\n"
                                     "    while True:\n        pass")),
        "memory_bomb": ("train allocates until memory runs out", no_train, False,
                        with_cells(train=lambda s: "def perceptron_train(X, y, lr, epochs, rng):\n"
                                   "    blocks = []\n    while True:\n"
                                   "        blocks.append(np.ones(10**7))")),
        "kernel_death": ("train kills its own process (os._exit): nbgrader aborts; the checks decide each cell",
                         no_train, True,
                         with_cells(train=lambda s: "import os\ndef perceptron_train(X, y, lr, epochs, rng):\n"
                                    "    os._exit(1)")),
        "sys_exit": ("train calls sys.exit()", no_train, False,
                     with_cells(train=lambda s: "import sys\ndef perceptron_train(X, y, lr, epochs, rng):\n"
                                "    sys.exit(0)")),
        "huge_output": ("correct, but prints a 10 MB line", full, False,
                        with_cells(predict=lambda s: "print('x' * 10_000_000)\n" + s)),
        "stderr_warning": ("correct, but warns on stderr every call", full, False,
                           with_cells(predict=lambda s: s.replace(
                               '    """\n', '    """\n    import sys, warnings\n'
                               '    warnings.warn("this is only a warning", DeprecationWarning, stacklevel=1)\n'
                               '    print("note: on stderr", file=sys.stderr)\n', 1))),
        "deleted_test_cell": ("correct, test_perceptron_train cell deleted", full, False,
                              then(with_cells(), drop("test_perceptron_train"))),
        "deleted_solution_and_test": ("predict's solution and test cells deleted", no_predict, False,
                                      then(with_cells(), drop("perceptron_predict", "test_perceptron_predict"))),
        "duplicated_cells": ("correct, predict's solution and test cells duplicated", full, False,
                             then(with_cells(), duplicate("perceptron_predict", "test_perceptron_predict"))),
        "edited_test_cell": ("visible test cell replaced by a print, wrong predict", no_predict, True,
                             then(with_cells(predict=lambda s: SUBTLE_PREDICT), edit_test)),
        "nbformat3": ("correct, saved as nbformat 3", full, False, then(with_cells(), to_v3)),
        "bad_json": ("truncated file: not valid JSON", zero, True,
                     then(with_cells(), lambda nb: nbformat.writes(nb)[:5000])),
        "not_a_notebook": ("valid JSON but not a notebook", zero, True, lambda nb, ok: '{"hello": "world"}\n'),
        **{name: (desc, zero if name in SELF_HARM else no_predict, False,
                  with_cells(predict=lambda s, code=code: code + SUBTLE_PREDICT))
           for name, (desc, code) in ATTACKS.items()},
        **{name: (desc, full, False, with_cells(predict=lambda s, code=code: code + s))
           for name, (desc, code) in SIDE_EFFECTS.items()},
        "identical_a": ("byte-identical to identical_b, wrong predict (listed as similar, not penalised)",
                        no_predict, False, with_cells(predict=lambda s: SHARED_CHEAT)),
        "identical_b": ("byte-identical to identical_a, wrong predict (listed as similar, not penalised)",
                        no_predict, False, with_cells(predict=lambda s: SHARED_CHEAT)),
        "infinite_generator": ("train loops over itertools.count(): costs that test cell only", no_train, False,
                               with_cells(train=lambda s: INFINITE_GENERATOR)),
        "helper_in_added_cell": ("correct predict calling a helper defined in a cell the student added above it",
                                 full, False, then(with_cells(predict=lambda s: PREDICT_WITH_HELPER),
                                                   add_cell("perceptron_predict", HELPER_CELL, before=True))),
        "later_wrong_redefinition": ("correct predict, then a cell added below its test redefines it wrongly (>= 0): "
                                     "the last definition is graded, as the notebook runs it, with a note",
                                     no_predict, False,
                                     then(with_cells(), add_cell("test_perceptron_train", WRONG_PREDICT))),
        "added_cell_raises": ("correct, and a cell the student added raises TypeError: graded normally, with a note",
                              full, False, then(with_cells(), add_cell("test_perceptron_predict", RAISING_CELL))),
        "judge_memory_bomb": ("predict returns a 320 MB array (the judge's memory and message limits)", no_predict,
                              False, with_cells(predict=lambda s: JUDGE_BOMB)),
    }


def main() -> int:
    release = nbformat.read(str(ROOT / "release" / CHAPTER / f"{CHAPTER}.ipynb"), as_version=4)
    source = nbformat.read(str(ROOT / "source" / CHAPTER / f"{CHAPTER}.ipynb"), as_version=4)
    ok = {gid: _independent(source, gid) for gid in ("perceptron_predict", "perceptron_train")}
    ok_ref.update({gid: _solution(source, gid) for gid in ("perceptron_predict", "perceptron_train")})
    if OUT.exists():
        shutil.rmtree(OUT)
    manifest = {}
    for name, (desc, expected, review, build) in cases().items():
        result = build(copy.deepcopy(release), ok)
        text = result if isinstance(result, str) else nbformat.writes(result) + "\n"
        path = OUT / name / f"{CHAPTER}.ipynb"
        path.parent.mkdir(parents=True)
        path.write_text(text, encoding="utf-8")
        if name in SYMLINKS:
            path.unlink()
            path.symlink_to(SYMLINKS[name])
        for rel, content in (SHADOW_FILES.items() if name == "shadow_autograder" else ()):
            (path.parent / rel).parent.mkdir(parents=True, exist_ok=True)
            (path.parent / rel).write_text(content, encoding="utf-8")
        manifest[name] = {"description": desc, "expected": expected, "total": sum(expected.values()),
                          "review": review or name in ATTEMPTED, "reason": ATTEMPTED.get(name, ""), "notes": EXPECTED_NOTES.get(name, [])}
    (HERE / "manifest.json").write_text(json.dumps({"chapter": CHAPTER, "cases": manifest}, indent=1) + "\n")
    print(f"wrote {len(manifest)} submissions to {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
