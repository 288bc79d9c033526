"""Attempts are seen (autograder/trusted/attempts.py, audit.py) and answers that match another's are flagged
(autograder/grading/similarity.py), while honest answers never are: the false-flag measurement over every chapter's
independent correct answers (correct.py) and source solutions is part of this file (printed, asserted zero)."""

from __future__ import annotations

import inspect
import os

import nbformat
import pytest

from autograder.chapters import all_chapters
from autograder.grading.similarity import (
    REFERENCE,
    lines_of,
    outside_solution,
    reference_match,
    similar_pairs,
    without_docstring,
)
from autograder.paths import ROOT
from autograder.trusted.attempts import AttemptPipe, parse_line, scan_notebook, scan_source
from autograder.trusted.audit import classify


def honest_answers() -> list[tuple[str, str, str]]:
    """(chapter, function, source) of every independent correct answer and every source solution cell."""
    out = []
    for ch in all_chapters():
        for fn_name, fns in ch.module("correct").CORRECT.items():
            out += [(ch.name, fn_name, inspect.getsource(f)) for f in fns]
        src = nbformat.read(str(ROOT / "source" / ch.name / f"{ch.name}.ipynb"), as_version=4)
        out += [(ch.name, c.metadata["nbgrader"]["grade_id"], c.source) for c in src.cells
                if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")]
    return out


def test_no_honest_answer_is_flagged_as_an_attempt():
    answers = honest_answers()
    flagged = [(ch, fn, scan_source(text)) for ch, fn, text in answers if scan_source(text)]
    print(f"\nattempt scan: {len(flagged)} false flags over {len(answers)} honest answers (6 chapters)")
    assert len(answers) > 60 and flagged == []


@pytest.mark.parametrize("text, phrase", [
    ("import autograder.checks as c\nc.check_x = lambda f: None", "autograder.checks"),
    ("import numpy as np\nnp.allclose = lambda *a, **k: True", "patches np.allclose"),
    ("import sys\nsys.modules['autograder.checks'] = None", "sys.modules"),
    ("import gc\nobjs = gc.get_referrers(1)", "get_referrers"),
    ("import sys\nf = sys._getframe(1).f_back", "_getframe"),
    ("import os\nopen(os.path.join(os.getcwd(), '..', '..', 'source', 'x.ipynb'))", "'..'"),
    ("open('/proc/1/fd/1', 'w')", "/proc"),
    ("import shutil\nshutil.copy('../../alice/01_perceptron/01_perceptron.ipynb', 'mine.ipynb')", ".ipynb"),
    ("!jupyter nbconvert --execute ../../../source/01_perceptron/01_perceptron.ipynb", "shell command"),
    ("exec(__import__('base64').b64decode('cHJpbnQoMSk='))", "exec"),
    ("import subprocess\nsubprocess.run(['ls'])", "subprocess"),
    ("print(\"graded by the course's checker: passed\")", "imitates"),
    ("import sys\nif 'ipykernel' not in sys.modules:\n    pass", "runs under the grader"),
])
def test_each_attempt_class_is_named(text, phrase):
    reasons = scan_source(text)
    assert any(phrase in r for r in reasons), reasons


def test_only_the_students_own_cells_are_scanned():
    """Unchanged chapter cells (test cells import autograder.checks) are not the student's."""
    src = nbformat.read(str(ROOT / "source" / "01_perceptron" / "01_perceptron.ipynb"), as_version=4)
    release = nbformat.read(str(ROOT / "release" / "01_perceptron" / "01_perceptron.ipynb"), as_version=4)
    assert scan_notebook(src, release) == []
    release.cells.append(nbformat.v4.new_code_cell("import autograder.checks"))
    assert any("autograder.checks" in r for r in scan_notebook(src, release))


def test_audit_classifies_what_the_sandbox_hides_and_nothing_honest():
    hidden, allowed, scratch = ("/work/course", "/rt/autograder/chapters"), ("/work/course/.venv",), "/tmp/b/s"
    def c(event, *args):
        return classify(event, args, scratch, hidden, 7, allowed)
    assert c("open", "/proc/1/fd/1", "w", 0)[0] == "proc"
    assert c("os.listdir", "/proc") == ("list", "/proc")
    assert c("open", "/work/course/source/a.ipynb", "r", 0)[0] == "read"
    assert c("open", "/dev/shm/x", "w", 0)[0] == "write"
    assert c("import", "autograder.chapters.ch01_perceptron.reference")[0] == "import"
    assert c("subprocess.Popen", "/bin/sh", ["/bin/sh", "-c", "x"], None, None)[0] == "exec"
    assert c("open", "/work/course/.venv/lib/numpy/core.py", "r", 0) is None
    assert c("open", "out.npy", "wb", 0) is None  # its scratch folder
    assert c("open", "/tmp/mpl/cache", "w", 0) is None
    assert c("open", "/proc/self/status", "r", 0) is None and c("open", "/proc/7/status", "r", 0) is None
    assert c("import", "numpy.linalg") is None
    assert c("open", "/work/course/.venv/lib/x/__pycache__/m.cpython-311.pyc.123", "wb", 0) is None


def test_attempt_lines_are_validated_and_forgeries_named():
    assert parse_line(b"read\t/work/course/source") == "tried to open /work/course/source, which the sandbox hides"
    for forged in (b"passed\tall", b"read\tx\x1b[2K", b"read\t" + b"a" * 500, "read\t\u00e9".encode()):
        assert parse_line(forged).startswith("wrote text the sandbox never writes"), forged


def test_attempt_pipe_reads_until_the_writer_closes():
    sink: list[str] = []
    pipe = AttemptPipe(sink)
    writer = os.dup(pipe.child_fd)
    pipe.started()
    os.write(writer, b"exec\t/bin/sh -c id\nnonsense\n")
    os.close(writer)
    pipe.wait()
    assert sink[0] == "tried to start a program: /bin/sh -c id" and "never writes" in sink[1]


def test_sandbox_records_attempts_that_the_text_hides():
    """Built at run time (no path in the text): the audit hook inside the sandbox still reports it."""
    from autograder.trusted.isolation import bwrap_path
    from autograder.trusted.recheck import verify_cells

    if bwrap_path() is None:
        pytest.skip("bubblewrap is not installed")
    attack = ("import os\n_p = ''.join(map(chr, [47, 112, 114, 111, 99]))\n"
              "for _d in os.listdir(_p):\n    try:\n        open(_p + '/' + _d + '/fd/1', 'w')\n"
              "    except Exception:\n        pass\n"
              "def perceptron_predict(X, w, b):\n    return (X @ w + b > 0).astype(np.int64)")
    tests = [{"id": "t", "points": 2.0, "checks": [["check_perceptron_predict", "perceptron_predict"]]}]
    out = verify_cells([{"name": "setup s", "source": "import numpy as np"},
                        {"name": "solution perceptron_predict", "source": attack}], tests, timeout=20)
    assert out["tests"]["t"]["ok"]
    assert "tried to list /proc" in out["attempts"]
    assert any(a.startswith("tried to reach another process through /proc/1") for a in out["attempts"])
    honest = verify_cells([{"name": "setup s", "source": "import numpy as np\nimport matplotlib.pyplot as plt"},
                           {"name": "solution perceptron_predict",
                            "source": "def perceptron_predict(X, w, b):\n    return (X @ w + b > 0).astype(np.int64)"}],
                          tests, timeout=20)
    assert honest["attempts"] == [] and honest["tests"]["t"]["ok"]


# --------------------------------------------------------------------------------------------- similarity
def _class_of_honest_answers():
    """Per chapter function: {student: {cell: source}} where each student is one independent correct answer."""
    for ch in all_chapters():
        ref = ch.module("reference")
        src = nbformat.read(str(ROOT / "source" / ch.name / f"{ch.name}.ipynb"), as_version=4)
        solution = {c.metadata["nbgrader"]["grade_id"]: c.source for c in src.cells
                    if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")}
        for fn_name, fns in ch.module("correct").CORRECT.items():
            if fn_name not in solution:
                continue
            yield ch.name, fn_name, fns, solution[fn_name], without_docstring(inspect.getsource(getattr(ref, fn_name)))


def test_honest_answers_are_never_flagged_similar_nor_as_the_reference():
    """Leave-one-out: each independent answer is judged with the *other* answers as the independent set, against
    the reference (reference.py and the source solution) and against the other honest answers."""
    checked, false_flags = 0, []
    for chapter, fn_name, fns, solution, reference in _class_of_honest_answers():
        texts = [inspect.getsource(f) for f in fns]
        skeleton = outside_solution(solution)
        skel = {" ".join(ln.split()) for ln in skeleton.splitlines() if ln.strip()}
        for i, text in enumerate(texts):
            others = {" ".join(ln.split()) for j, t in enumerate(texts) if j != i for ln in t.splitlines()}
            for ref in (reference, solution):
                flag, _ = reference_match(lines_of(text, skel), lines_of(ref, skel), others)
                checked += 1
                if flag:
                    false_flags.append((chapter, fn_name, i, "reference"))
        students = {f"s{i}": {fn_name: t} for i, t in enumerate(texts)}
        rows = similar_pairs(students, {fn_name: skeleton})
        false_flags += [(chapter, fn_name, r["a"], r["b"]) for r in rows if r["flag"]]
        checked += len(texts) * (len(texts) - 1) // 2
    print(f"\nsimilarity: {len(false_flags)} false flags over {checked} honest comparisons (6 chapters)")
    assert checked > 100 and false_flags == []


def test_twins_and_a_pasted_reference_are_flagged_with_the_matching_lines():
    solution = ('def f(X, w):\n    """Doc."""\n    ### BEGIN SOLUTION\n    N, D = X.shape\n'
                "    acc = np.zeros(D)  # running total, kept apart for the plot\n"
                "    for i in range(N):\n        acc += X[i] * w\n    return acc / max(N, 1)\n    ### END SOLUTION")
    skeleton = 'def f(X, w):\n    """Doc."""\n    raise NotImplementedError()'
    twin = ('def f(X, w):\n    """Doc."""\n    total = X.T @ w  # we did this one together at the library\n'
            "    total = total * 1.0000001  # the odd factor that makes it pass\n    return total\n")
    honest = [f'def f(X, w):\n    """Doc."""\n    return (X * w).sum(axis={k}) / len(X)\n' for k in range(12)]
    students = {"twin_a": {"f": twin}, "twin_b": {"f": twin}, "paster": {"f": solution},
                **{f"h{k}": {"f": t} for k, t in enumerate(honest)}}
    rows = similar_pairs(students, {"f": skeleton}, {"f": set()}, {"f": solution})
    flagged = {(r["a"], r["b"]): r for r in rows if r["flag"]}
    assert set(flagged) == {("twin_a", "twin_b"), ("paster", REFERENCE)}, flagged
    assert "library" in flagged[("twin_a", "twin_b")]["lines"]
    assert rows[0]["flag"] == "yes"  # ranked first
