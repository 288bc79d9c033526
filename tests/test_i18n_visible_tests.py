"""Issue 30: a chapter's visible tests speak the learner's language. Their text runs in the learner's kernel, so it
goes through the course catalog: a case description handed to course.testing's assert_* helpers is a literal (the
catalog extracts it) or a gettext call; an assert's message is a gettext call; nothing prints English prose (the
last line is ``passed(NAME)``). The catalog test (test_i18n.py) then fails on any of them left untranslated."""

from __future__ import annotations

import ast

import nbformat
import pytest

from autograder.authoring.catalog import ALSO, DOMAIN
from autograder.chapters import chapter_names
from autograder.paths import release_path
from tests.test_i18n_messages import WRAPPERS, is_text

HELPERS = {"assert_close": 2, "assert_shape": 2, "assert_returns_tuple": 2}  # index of the case description


def visible_test_sources(chapter: str) -> list[str]:
    """The code of the chapter's visible-test cells as a student gets them (hidden tests stripped)."""
    nb = nbformat.read(release_path(chapter), as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")]


def untranslated(source: str) -> list[str]:
    """Each piece of English prose in ``source`` that would reach the learner without the catalog."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assert) and node.msg is not None and is_text(node.msg):
            found.append(f"line {node.lineno}: assert message {ast.unparse(node.msg)[:70]}")
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        if name == "print":
            found += [f"line {node.lineno}: print {ast.unparse(a)[:70]}" for a in node.args if is_text(a)]
        if name in HELPERS:
            what = node.args[HELPERS[name]:HELPERS[name] + 1] + [k.value for k in node.keywords if k.arg == "what"]
            # a literal is extracted by the catalog's keywords; a built string cannot be
            found += [f"line {node.lineno}: {name} description {ast.unparse(w)[:70]}" for w in what
                      if is_text(w) and not isinstance(w, ast.Constant)]
    return found


def translated_chapters() -> set[str]:
    """The chapters whose visible tests the catalog reads (autograder/authoring/catalog.py's ALSO[course])."""
    return {p.parent.name.removeprefix("ch") for p in ALSO[DOMAIN]}


def test_the_catalog_reads_every_chapters_visible_tests():
    assert translated_chapters() == set(chapter_names())


@pytest.mark.parametrize("chapter", chapter_names())
def test_visible_tests_speak_through_the_catalog(chapter):
    found = [f"cell {i}: {f}" for i, src in enumerate(visible_test_sources(chapter)) for f in untranslated(src)]
    assert not found, f"{chapter}: wrap these in gettext (course.i18n) and translate them:\n" + "\n".join(found)


@pytest.mark.parametrize("code, count", [
    ('assert x.dtype == np.float32, f"returned dtype {x.dtype}: keep the input dtype"', 1),
    ('assert x.dtype == np.float32, gettext("returned dtype {dtype}: keep the input dtype", dtype=x.dtype)', 0),
    ('print("softmax: visible tests passed")', 1),
    ('passed("softmax")', 0),
    ('assert_close(a, b, f"gradient of {k} in the network")', 1),
    ('assert_close(a, b, "the gradient of W1 in the network")', 0),
    ('assert_shape(a, (2, 3), what=f"output of layer {k}")', 1),
    ('assert_shape(a, (2, 3), gettext("output of layer {k}", k=k))', 0),
])
def test_the_scan_finds_english_in_a_test_cell(code, count):
    assert len(untranslated(code)) == count, untranslated(code)
    assert WRAPPERS >= {"gettext"}
