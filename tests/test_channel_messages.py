"""The channel's and the sandbox's messages in the learner's language (issue 30): the process running student code
sends a key and values, the trusted side words them from the key (never from the text it was sent), and a verdict's
hint comes from the key, whatever the language."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from autograder.trusted import wording
from autograder.trusted.channel import Endpoint
from autograder.trusted.errors import MESSAGES, RemoteDied, StudentError, english, key_of
from autograder.trusted.judge import run_check
from autograder.trusted.proxies import RemoteFunction
from course.i18n import using
from tests.student_process import spawn

STUDENT = textwrap.dedent('''
    import os, time

    def returns_a_set(x):
        return {1, 2}

    def forges_a_key(x):
        exc = ValueError("my own text")
        exc.message_key, exc.message_names = "uncomparable_type", {"type_name": ["not", "plain"]}
        raise exc

    def forges_a_trusted_key(x):
        exc = ValueError("my own text")
        exc.message_key, exc.message_names = "timeout", {"seconds": 1}
        raise exc

    def exits(x):
        os._exit(3)

    def sleeps(x):
        time.sleep(30)
''')


@pytest.fixture
def student(tmp_path):
    """``student(name, timeout)``: a function of a fresh student process, called through a trusted Endpoint that
    words its messages with :func:`autograder.trusted.wording.render`."""
    # the student side's own language is English: the trusted side words the message
    proc = spawn(tmp_path, STUDENT, drop_env=("COURSE_LANG",))
    ep = Endpoint(proc.stdout.fileno(), proc.stdin.fileno(), None, timeout=60, peer=proc, render=wording.render)
    yield lambda name, timeout=60: (setattr(ep, "timeout", timeout), RemoteFunction(ep, f"fn:{name}", name))[1]
    proc.kill()
    proc.wait(timeout=10)


def test_every_message_has_a_chinese_translation_with_its_placeholders():
    names = {"seconds": 2.5, "code": 3, "error": "E", "size": 300.0, "limit": 256, "type_name": "set", "name": "f",
             "errors": "solution a: ValueError: x"}
    with using("zh_CN"):
        for key in MESSAGES:
            text = wording.render(key, names)
            assert text != english(key, names) and text.english == english(key, names), key
            assert not any(word in text for word in ("your code", "process", "returned")), text


def test_an_uncomparable_return_is_worded_on_the_trusted_side(student):
    with using("zh_CN"), pytest.raises(StudentError) as info:
        student("returns_a_set")(np.zeros(2))
    assert key_of(info.value) == "uncomparable_type" and info.value.ename == "TypeError"
    assert str(info.value) == "返回了一个 set 对象，检查无法比较它；请返回 NumPy 数组、数，或由它们组成的元组/列表/字典"
    with using("en"), pytest.raises(StudentError) as info:
        student("returns_a_set")(np.zeros(2))
    assert str(info.value).startswith("returned a set object, which the checks cannot compare")


@pytest.mark.parametrize("name", ["forges_a_key", "forges_a_trusted_key"])
def test_a_key_with_values_that_are_not_plain_or_a_trusted_sides_key_is_not_worded(student, name):
    """What the student's process sends is data: only its own keys with plain values are worded; else its text."""
    with using("zh_CN"), pytest.raises(StudentError) as info:
        student(name)(np.zeros(2))
    assert str(info.value) == "my own text" and key_of(info.value) is None


def test_a_crash_in_chinese_with_its_exit_code_and_hint(student):
    def check(fn):
        fn(np.zeros(2))

    with using("zh_CN"):
        verdict = run_check(check, student("exits"))
    assert verdict["hint"] == "crashed"
    assert verdict["message"] == "运行你的代码的 Python 进程结束了（退出码 3）：它崩溃了、调用了 os._exit，或者内存耗尽"


def test_a_time_out_in_chinese_with_its_hint_then_the_dead_process(student):
    def check(fn):
        fn(np.zeros(2))

    fn = student("sleeps", timeout=0.5)
    with using("zh_CN"):
        verdict = run_check(check, fn)
        assert verdict == {"ok": False, "hint": "timeout",
                           "message": "你的代码没有在 0.5 秒内结束（死循环？还是太慢了？）"}
        with pytest.raises(RemoteDied) as info:
            fn(np.zeros(2))
    assert key_of(info.value) == "dead_timeout" and "已被停止" in str(info.value)


def test_not_defined_and_not_their_own_function_from_the_sandbox_in_chinese():
    """The real sandbox (no isolation: this is about the words): a graded function that is missing, one that is not
    the student's own; each verdict worded in Chinese with the hint of its key."""
    from autograder.trusted.recheck import verify_cells

    cells = [{"name": "solution s1", "kind": "solution", "source": "from math import floor as perceptron_train\n"}]
    tests = [{"id": "t1", "points": 1, "checks": [["check_perceptron_predict", "perceptron_predict"]]},
             {"id": "t2", "points": 1, "checks": [["check_perceptron_train", "perceptron_train"]]}]
    with using("zh_CN"):
        out = verify_cells(cells, tests, timeout=60, isolation="none")["tests"]
    assert out["t1"]["hint"] == "not_defined" and out["t2"]["hint"] == "not_own_function", out
    assert out["t1"]["message"] == ("perceptron_predict 没有定义：你是不是删除了它的练习单元格或改了名字？"
                                    "（没有单元格运行出错。）")
    assert out["t2"]["message"].startswith("perceptron_train 必须是在你的笔记本中"), out["t2"]


def test_the_judges_notes_are_in_the_learners_language_and_in_english_for_the_csv(tmp_path, capsys):
    """A redefinition note: in the submission's language for the pages and the self-check, in English for the
    instructor's CSV (course-grade reads ``notes_en``)."""
    import json

    import nbformat

    from autograder.paths import release_path, source_path
    from autograder.trusted.recheck import main

    nb = nbformat.read(str(release_path("01_perceptron")), as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("def perceptron_predict(X, w, b):\n    return X @ w"))
    nbformat.write(nb, str(tmp_path / "01_perceptron.ipynb"))
    with using("zh_CN"):
        main(["verify", str(source_path("01_perceptron")), str(tmp_path / "01_perceptron.ipynb"), "--isolation",
              "none", "--test", "test_perceptron_predict"])
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert len(out["notes"]) == len(out["notes_en"]) == 1
    assert out["notes"][0].startswith("你的笔记本在可见测试 test_perceptron_predict 之后的单元格")
    assert out["notes_en"][0].startswith("your notebook redefines perceptron_predict in cell")
    assert out["tests"]["test_perceptron_predict"]["note"] == out["notes"][0]
