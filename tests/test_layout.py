"""The shape of the code (issue 24): a chapter is one folder, the rooms of autograder/ stay apart, no module is
long, no import goes in a circle, no private name crosses a module, ``course`` never imports ``autograder``."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from autograder.chapters import all_chapters
from autograder.paths import ROOT

MAX_LINES = 450  # "no module over ~400 lines" (chapter texts are prose, not modules)
CHAPTER_FILES = ("__init__.py", "chapter.py", "reference.py", "checks.py", "wrong.py", "correct.py")
ROOMS = ("trusted", "grading", "authoring")
# what each room may import from the others: the grading run and the self-check use trusted checking; nothing
# imports the grading run or authoring (the chapter registry and the paths/notebook modules are shared)
MAY_IMPORT = {"trusted": set(), "grading": {"trusted"}, "authoring": set(), "selfcheck": {"trusted"}}


def modules(*tops: str) -> list[Path]:
    return sorted(p for top in tops for p in (ROOT / top).rglob("*.py")
                  if p.name != "chapter.py" and "__pycache__" not in p.parts)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def code_lines(path: Path) -> list[tuple[int, str]]:
    """(number, text) of the lines of ``path`` outside docstrings, without comments."""
    text = path.read_text(encoding="utf-8")
    docs = set()
    for node in ast.walk(ast.parse(text)):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            docs |= set(range(body[0].lineno, body[0].end_lineno + 1))
    return [(i, line.split("#", 1)[0]) for i, line in enumerate(text.splitlines(), 1) if i not in docs]


def imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, imported names) of every import statement in ``path``, at any depth (relative ones resolved)."""
    out = []
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            out.append((base, [a.name for a in node.names]))
    return out


def test_every_chapter_is_one_folder():
    chapters = all_chapters()
    assert len(chapters) == 6
    for c in chapters:
        missing = [f for f in CHAPTER_FILES if not (c.folder / f).is_file()]
        assert not missing, f"{c.folder} lacks {missing}"
        nn = c.name[:2]
        assert (c.folder / f"test_ch{nn}.py").is_file(), f"{c.folder} holds no test_ch{nn}.py of its own"


@pytest.mark.parametrize("chapter", [c.name for c in all_chapters()])
def test_a_chapter_is_named_only_in_its_folder_and_the_registries(chapter):
    """Outside its folder no autograder code names a chapter (docstring examples aside): tools find chapters
    through the registry."""
    pattern = re.compile(rf"\bch{chapter}\b|\b{chapter}\b")
    folder = ROOT / "autograder" / "chapters" / f"ch{chapter}"
    hits = [f"{p.relative_to(ROOT)}:{i}" for p in modules("autograder") if not p.is_relative_to(folder)
            for i, line in code_lines(p) if pattern.search(line)]
    assert not hits, f"{chapter} is named outside its folder: {hits}"


def test_no_module_is_long():
    long = {str(p.relative_to(ROOT)): n for p in modules("autograder", "course")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_course_never_imports_autograder():
    hits = [f"{p.relative_to(ROOT)}: {m}" for p in modules("course") for m, _ in imports(p)
            if m == "autograder" or m.startswith("autograder.")]
    assert not hits, hits


def test_no_private_name_crosses_a_module():
    ours = ("autograder", "course")
    hits = []
    for p in modules("autograder", "course", "tests", "benchmarks"):
        for module, names in imports(p):
            if module.split(".")[0] not in ours:
                continue
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            if private or any(part.startswith("_") and not part.startswith("__") for part in module.split(".")):
                hits.append(f"{p.relative_to(ROOT)}: from {module} import {', '.join(names)}")
    assert not hits, hits


def test_no_private_attribute_of_another_module_is_used():
    """``module._name`` on a project module imported under a name (e.g. ``ref._helper``) is a private name too."""
    project = {module_name(p) for p in modules("autograder", "course")}
    hits = []
    for p in modules("autograder", "course", "tests", "benchmarks"):
        tree = ast.parse(p.read_text(encoding="utf-8"))
        bound = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                bound |= {a.asname for a in node.names if a.asname and a.name in project}
            elif isinstance(node, ast.ImportFrom) and node.module:
                bound |= {a.asname or a.name for a in node.names if f"{node.module}.{a.name}" in project}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in bound
                    and node.attr.startswith("_") and not node.attr.startswith("__")):
                hits.append(f"{p.relative_to(ROOT)}:{node.lineno}: {node.value.id}.{node.attr}")
    assert not hits, hits


def test_no_import_circles_in_autograder():
    graph: dict[str, set[str]] = {}
    names = {module_name(p) for p in modules("autograder")}
    for p in modules("autograder"):
        targets = set()
        for module, imported in imports(p):
            for cand in [module] + [f"{module}.{n}" for n in imported]:
                if cand in names:
                    targets.add(cand)
        graph[module_name(p)] = targets - {module_name(p)}
    # a package's __init__ is imported with any of its submodules: count that edge too
    for name in names:
        parent = name.rpartition(".")[0]
        while parent:
            if parent in graph and parent != name:
                graph[name].add(parent)
            parent = parent.rpartition(".")[0]
    state: dict[str, int] = {}

    def visit(node, path):
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if nxt.startswith(node + "."):  # a package importing its own submodule is not a circle
                continue
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt):] + [nxt] if nxt in path else [node, nxt]
                raise AssertionError(f"import circle: {' -> '.join(cycle)}")
            if not state.get(nxt):
                visit(nxt, path + [nxt])
        state[node] = 2

    for node in sorted(graph):
        if not state.get(node):
            visit(node, [node])


def room_of(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) > 1 and parts[0] == "autograder":
        if parts[1] in ROOMS:
            return parts[1]
        if parts[1] == "selfcheck":
            return "selfcheck"
    return None


def test_the_rooms_stay_apart():
    """The grading run and the self-check borrow no helper from a sibling room: only trusted checking is shared."""
    hits = []
    for p in modules("autograder"):
        room = room_of(module_name(p))
        if room is None:
            continue
        for module, _ in imports(p):
            other = room_of(module)
            if other and other != room and other not in MAY_IMPORT[room]:
                hits.append(f"{p.relative_to(ROOT)} ({room}) imports {module} ({other})")
    assert not hits, hits


def test_no_import_time_name_swapping_in_the_checks_facade():
    """autograder.checks makes its clients on demand; it never imports real checks under names it then replaces."""
    tree = ast.parse((ROOT / "autograder" / "checks" / "__init__.py").read_text(encoding="utf-8"))
    module_level = [n for n in tree.body if isinstance(n, (ast.For, ast.Assign))
                    and "globals" in ast.dump(n)]
    assert not module_level, "autograder.checks rewrites its own names at import time"


def test_an_older_nbgrader_config_keeps_working_with_a_deprecation_message():
    """A course directory may hold a copy of nbgrader_config.py from before the move (it imported the
    preprocessors from autograder.nbgrader_ext): for one release that still configures the same classes."""
    import importlib
    import sys
    import warnings

    from autograder.grading.preprocessors.cap_output import CapOutput
    from autograder.grading.preprocessors.sandboxed_execute import SandboxedExecute

    sys.modules.pop("autograder.nbgrader_ext", None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old = importlib.import_module("autograder.nbgrader_ext")
    assert old.CapOutput is CapOutput and old.SandboxedExecute is SandboxedExecute
    assert set(old.__all__) == {"CapOutput", "CourseDeduplicateIds", "CourseOverwriteCells", "HideHiddenTests",
                                "SandboxedExecute", "StripHiddenTests"}
    messages = [str(w.message) for w in caught if issubclass(w.category, FutureWarning)]
    assert messages and "nbgrader_config.py" in messages[0], messages
