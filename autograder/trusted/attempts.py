"""What a submission tried: every attempt to reach what the sandbox hides, recorded by the trusted side.

Two records, both kept in the judge's process (student code never writes them, so it can neither forge nor
suppress them):

1. **the submission's own text** (:func:`scan_notebook`): the cells the student wrote (solution cells, cells they
   added or edited) are parsed here, never run: imports of the grader's package or of notebook tooling, paths of
   the course (``source/``, ``submitted/``, the gradebook, ``/proc``, ``..`` out of the working folder, absolute
   paths outside it), patches of library modules or ``sys.modules``, frame and ``gc`` tricks, shell commands and
   ``exec``/``eval``, script in HTML. What the text says is what it is: obfuscating it is itself listed.
2. **the sandbox's report** (:class:`AttemptPipe`): an audit hook inside the sandbox (:mod:`autograder.trusted.audit`)
   writes one line per refused or suspicious action (refused import, open of a hidden path or of another process's
   ``/proc``, write outside the scratch folder, subprocess, network) to a pipe only the judge reads. Every line is
   validated here (:func:`parse_line`): anything else on that pipe is recorded as a forged report.

Each attempt becomes one line naming what was tried (printable ASCII, bounded); course-grade flags the submission
for review with it. Honest answers never trigger a rule: measured over every chapter's ``correct.py`` answers and
source solutions (tests/test_attempts.py, docs/grading.md).
"""

from __future__ import annotations

import ast
import os
import re
import threading

from autograder.trusted.audit import KINDS, MAX_DETAIL, clean

MAX_REPORTED = 12  # attempts kept per submission (the first ones; then "and N more")

# user-facing sentences (named placeholders, for translation)
SAID = {
    "import": "imported the instructor-only module {what}",
    "read": "tried to open {what}, which the sandbox hides",
    "write": "tried to write {what}, outside its scratch folder",
    "proc": "tried to reach another process through {what}",
    "list": "tried to list {what}",
    "exec": "tried to start a program: {what}",
    "net": "tried to reach the network: {what}",
    "gc": "searched the checker's objects with {what}",
    "ctypes": "used raw memory access ({what})",
    "forged": "wrote text the sandbox never writes into the checker's attempt channel: {what}",
    "protocol": "sent the checker bytes that are not its protocol ({what})",
    "text": "cell {cell}: {what}",
}

_TOOLING = {"nbgrader", "nbformat", "nbclient", "nbconvert", "jupyter_client", "papermill", "runpy"}
_DANGEROUS = {"subprocess": "starts programs (subprocess)", "socket": "opens network sockets (socket)",
              "ctypes": "raw memory access (ctypes)", "pty": "starts a terminal (pty)",
              "urllib.request": "reaches the network (urllib)", "requests": "reaches the network (requests)",
              "http.client": "reaches the network (http.client)", "multiprocessing": "starts processes"}
_CALLS = {"exec", "eval", "compile", "__import__", "breakpoint"}
_OS_CALLS = {"write", "system", "popen", "fork", "forkpty", "kill", "killpg", "setsid", "dup2", "close", "closerange",
             "execv", "execve", "execl", "execlp", "execvp", "spawnv", "spawnl", "posix_spawn"}
_ATTRS = {"_getframe", "f_back", "f_locals", "f_globals", "gi_frame", "tb_frame", "__closure__", "__globals__",
          "__subclasses__", "__builtins__", "get_referrers", "get_referents", "get_objects", "cell_contents"}
_NAMES = ("reference.py", "checks.py", "correct.py", "wrong.py", "gradebook.db", "nbgrader_config.py")
_DIRS = re.compile(r"(^|/)(source|submitted|autograded|feedback|release|grading|autograder|chapters)(/|$)")
_MAGIC_OK = ("%matplotlib", "%time", "%timeit", "%%time", "%%timeit", "%config", "%load_ext autoreload",
             "%autoreload")


def _patched(target, modules: set[str]) -> str | None:
    """``mod.attr`` when ``target`` (an assignment target) patches an attribute of an imported module."""
    node = target
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    if isinstance(node, ast.Name) and node.id in modules and isinstance(target, (ast.Attribute, ast.Subscript)):
        return ast.unparse(target)[:80]
    return None


def _string_reasons(value: str, in_fstring: bool = False) -> list[str]:
    out = []
    low = value.lower()
    if "/proc" in low:
        out.append(f"names /proc ({value!r:.60})")
    if (value == ".." and not in_fstring) or "../" in value or "/.." in value:
        out.append("walks up out of its working folder ('..')")
    if any(n in low for n in _NAMES) or (("/" in value or value in ("autograder", "chapters")) and _DIRS.search(value)):
        out.append(f"names a course or grader path ({value!r:.60})")
    if ".ipynb" in low:
        out.append(f"opens a notebook file ({value!r:.60})")
    if len(value) > 1 and value.startswith("/") and " " not in value and not value.startswith(("/tmp", "/dev/null")) \
            and not out:
        out.append(f"names a path outside its scratch folder ({value!r:.60})")
    if "graded by the course's checker" in low or re.search(r"score: \d+ / \d+", low):
        out.append("imitates the checker's verdict in its output")
    if any(k in low for k in ("ipykernel", "nbgrader_execution", "course_quick", "course-verify")):
        out.append(f"checks whether it runs under the grader ({value!r:.60})")
    if "<script" in low or "javascript:" in low or re.search(r"\bon(error|load|click)\s*=", low):
        out.append("holds HTML with script meant to run in the feedback page")
    return out


def scan_source(source: str) -> list[str]:
    """What one cell's text tries (one short phrase each); [] for an honest answer."""
    out: list[str] = []
    lines = source.splitlines()
    for line in lines:
        s = line.strip()
        if s.startswith("!") or (s.startswith("%") and not s.startswith(_MAGIC_OK)):
            out.append(f"runs a shell command or magic ({s[:60]!r})")
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        tree = ast.parse(TransformerManager().transform_cell(source))
    except Exception:
        try:
            tree = ast.parse("\n".join("" if ln.lstrip().startswith(("%", "!")) else ln for ln in lines))
        except (SyntaxError, ValueError, RecursionError):
            return out
    modules = {"np", "numpy", "builtins", "sys", "os"}
    in_f = {id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for v in node.values}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            modules |= {(a.asname or a.name).split(".")[0] for a in node.names}
            for name in names:
                root = name.split(".")[0]
                if root == "autograder":
                    out.append(f"imports the grader's package ({name})")
                elif root in _TOOLING:
                    out.append(f"imports notebook tooling ({name})")
                elif name in _DANGEROUS or root in _DANGEROUS:
                    out.append(_DANGEROUS.get(name) or _DANGEROUS[root])
                elif root in ("gc", "importlib") and isinstance(node, ast.Import):
                    out.append(f"imports {name}")
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for t in targets:
                what = _patched(t, modules)
                if what:
                    out.append(f"patches {what} (a module the checks or the notebook use)")
        elif isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Name) and f.id in _CALLS:
                out.append(f"runs code built at run time ({f.id})")
            elif isinstance(f, ast.Name) and f.id in ("setattr", "delattr") and node.args \
                    and isinstance(node.args[0], ast.Name) and node.args[0].id in modules:
                out.append(f"patches the module {node.args[0].id} with {f.id}")
            elif isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "os" \
                    and f.attr in _OS_CALLS:
                out.append(f"calls os.{f.attr}")
            elif isinstance(f, ast.Attribute) and f.attr in ("spec_from_file_location", "exec_module", "run_path"):
                out.append(f"loads a module from a file path ({f.attr})")
        elif isinstance(node, ast.Attribute) and node.attr in _ATTRS:
            out.append(f"reaches into interpreter internals ({node.attr})")
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) \
                and node.value.attr == "modules" and isinstance(node.ctx, (ast.Store, ast.Del)):
            out.append("replaces a module in sys.modules")
        elif isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)):
            value = node.value.decode("latin-1") if isinstance(node.value, bytes) else node.value
            out += _string_reasons(value, id(node) in in_f)
    return list(dict.fromkeys(out))


def student_cells(source_nb, submitted_nb) -> list[tuple[str, str]]:
    """(label, text) of the code cells the student wrote: solution cells, and cells whose text is not one the
    chapter gave (added, edited); unchanged chapter cells are not the student's."""
    from autograder.notebook import cell_source, nbgrader_meta, strip_hidden

    given = set()
    for cell in source_nb.cells if source_nb is not None else []:
        if cell.get("cell_type") == "code":
            given |= {cell_source(cell).strip(), strip_hidden(cell_source(cell)).strip()}
    out = []
    for i, cell in enumerate(submitted_nb.cells if submitted_nb is not None else [], 1):
        if cell.get("cell_type") != "code":
            continue
        text = cell_source(cell)
        meta = nbgrader_meta(cell)
        if meta.get("solution") or text.strip() not in given:
            out.append((clean(meta.get("grade_id") or f"#{i}")[:40], text))
    return out


def scan_notebook(source_nb, submitted_nb) -> list[str]:
    """One reason per attempt the submission's own text shows (:data:`SAID` ``text``)."""
    out = []
    for label, text in student_cells(source_nb, submitted_nb):
        out += [SAID["text"].format(cell=label, what=clean(what)) for what in scan_source(text)]
    return out


def parse_line(line: bytes) -> str:
    """The reason for one line of the attempt pipe; a line :mod:`autograder.trusted.audit` never writes is a
    forged report (named as such)."""
    try:
        text = line.decode("ascii")
    except UnicodeDecodeError:
        text = None
    kind, _, detail = (text or "").partition("\t")
    if text is None or kind not in KINDS or "\t" in detail or len(detail) > MAX_DETAIL or clean(detail) != detail:
        return SAID["forged"].format(what=repr(clean(line[:60]))[:80])
    return SAID[kind].format(what=detail)


class AttemptPipe:
    """The judge's end of one sandbox's attempt pipe: ``child_fd`` goes to the sandbox (``pass_fds``); a thread
    reads and validates every line into ``sink`` (a list shared by all sandboxes of one submission)."""

    def __init__(self, sink: list[str]):
        self.sink = sink
        self.read_fd, self.child_fd = os.pipe()
        self.thread = None

    def started(self):
        """Call after the sandbox started: close our copy of its end and read until it closes."""
        os.close(self.child_fd)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        buf, total = b"", 0
        with os.fdopen(self.read_fd, "rb", buffering=0) as fh:
            while True:
                chunk = fh.read(65536)
                if not chunk:
                    break
                total += len(chunk)
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    self._add(parse_line(line))
                if len(buf) > 4 * MAX_DETAIL:
                    self._add(parse_line(buf[:MAX_DETAIL]))
                    buf = b""
        if buf:
            self._add(parse_line(buf))

    def _add(self, reason: str):
        if reason not in self.sink and len(self.sink) < 10 * MAX_REPORTED:
            self.sink.append(reason)

    def wait(self, timeout: float = 5.0):
        if self.thread is not None:
            self.thread.join(timeout)


def protocol_reasons(tests: dict) -> list[str]:
    """Verdicts that show the sandbox broke the channel's protocol (only forged bytes do that)."""
    out = []
    for verdict in tests.values():
        message = str(verdict.get("message", ""))
        if message.startswith("could not talk to your code"):
            out.append(SAID["protocol"].format(what=clean(message[len("could not talk to your code"):]).strip(" ()")))
    return list(dict.fromkeys(out))


def summarise(reasons: list[str]) -> list[str]:
    """At most :data:`MAX_REPORTED` distinct reasons, then one line saying how many more."""
    reasons = list(dict.fromkeys(reasons))
    if len(reasons) <= MAX_REPORTED:
        return reasons
    return reasons[:MAX_REPORTED] + [f"... and {len(reasons) - MAX_REPORTED} more attempts"]


_SINKS: dict[str, list[str]] = {}
_SINKS_LOCK = threading.Lock()


def sink_for(box) -> list[str]:
    """The list the attempt pipes of every sandbox working in ``box`` (one submission's re-check) report into."""
    with _SINKS_LOCK:
        return _SINKS.setdefault(str(box), [])


def pop_sink(box) -> list[str]:
    with _SINKS_LOCK:
        return _SINKS.pop(str(box), [])


def audit_config(scratch, runtime) -> str:
    """The JSON argument of :func:`autograder.trusted.audit.install` for a sandbox: hidden are the runtime copy's
    instructor-only folders, the repository and the grader's working folder (the course); allowed inside those are
    the folders every sandbox binds read-only (Python, the course package, data)."""
    import json
    from pathlib import Path

    from autograder.trusted.isolation import course_package_dir, data_dirs, python_dirs, sandbox_env

    repo = Path(__file__).resolve().parents[2]
    hidden = [str(Path(runtime) / "autograder" / sub) for sub in ("chapters", "checks")]
    for root in (repo, Path(os.getcwd()).resolve()):
        if len(root.parts) > 2:
            hidden.append(str(root))
    allowed = [str(p) for p in (*python_dirs(), course_package_dir(), *data_dirs(sandbox_env()), Path(runtime))]
    return json.dumps({"scratch": str(scratch), "hidden": hidden, "allowed": allowed})
