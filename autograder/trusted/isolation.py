"""What a sandbox sees: the one place that builds the bubblewrap command every execution of student code uses.

Both the nbgrader kernel (:mod:`autograder.grading.kernel`) and the out-of-kernel rebuild
(:mod:`autograder.trusted.sandbox`, spawned by :mod:`autograder.trusted.recheck`) run as
``bwrap <binds> -- python ...`` built here. Inside the sandbox:

* read-only: the system (``/usr``, ``/lib*``, ``/bin``, ``/sbin``, a few files of ``/etc``), the Python prefix,
  the virtual environment, and the ``course`` package folder (what students import); nothing else of the
  repository (no ``autograder/``, ``source/``, gradebook, ``submitted/``, CSV, ``$HOME``);
* read-only too: matplotlib's font list, built once outside (:func:`font_list`), in the sandbox's MPLCONFIGDIR;
* read-write, in memory and size-limited (:data:`TMPFS_MB` each, ``bwrap --size``): ``/tmp`` (a fresh tmpfs, also
  HOME, IPYTHONDIR, MPLCONFIGDIR) and the private scratch folder (a tmpfs holding a read-only copy of the one
  notebook); read-write on the host only the kernel's IPC folder (its sockets);
* no capability (``--cap-drop ALL``), and at most :data:`autograder.trusted.limits.MAX_PIDS` tasks per grading
  unit (a pids cgroup, :mod:`autograder.trusted.limits`);
* data the instructor configured once (``COURSE_MNIST_DIR``, ``COURSE_CIFAR10_DIR``, ``COURSE_DATA_FIXTURES``,
  ``COURSE_DATA_DIR``): bound read-only at the same path, the variable passed through;
* no network (``--unshare-all``), its own PID namespace (no ``/proc`` of the grader), killed whole when the
  process that started it dies (``--die-with-parent``) or is killed.

``--isolation none`` (:data:`MODES`) runs the same commands without bwrap: for a machine without bubblewrap
only, and course-grade says so loudly.
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
import sysconfig
from pathlib import Path

MODES = ("bwrap", "none")
DATA_VARS = ("COURSE_MNIST_DIR", "COURSE_CIFAR10_DIR", "COURSE_DATA_FIXTURES", "COURSE_DATA_DIR")
PASS_VARS = ("LANG", "LC_ALL", "TZ", "COURSE_LANG")  # COURSE_LANG: messages in the submission's language
SYSTEM_RO = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC_RO = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime", "/etc/passwd",
          "/etc/group", "/etc/nsswitch.conf", "/etc/alternatives", "/etc/fonts", "/etc/ssl/certs",
          "/etc/matplotlibrc", "/etc/mime.types")
TMPFS_MB = 512  # each in-memory folder of a sandbox (/tmp, the scratch folder): with RLIMIT_AS, its memory bound
# the only autograder files a sandbox sees (no checks): the student side of the re-check and its channel
RUNTIME_MODULES = ("trusted/sandbox.py", "trusted/channel.py", "trusted/codec.py", "trusted/errors.py",
                   "trusted/proxies.py", "trusted/audit.py")


class IsolationUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create a sandbox on this machine."""


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


def course_package_dir() -> Path:
    import course

    return Path(course.__file__).resolve().parent


def python_dirs() -> list[Path]:
    """Folders the interpreter needs: base prefix (stdlib), the venv, and site-packages (may lie elsewhere)."""
    dirs = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(), Path(sys.executable).parent}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        p = sysconfig.get_paths().get(key)
        if p:
            dirs.add(Path(p).resolve())
    # the minimal set: drop folders inside another one of the set
    out = sorted(dirs, key=lambda p: len(p.parts))
    return [p for i, p in enumerate(out) if not any(p != q and p.is_relative_to(q) for q in out[:i])]


def runtime_dir(base: Path) -> Path:
    """A folder holding a package ``autograder`` with only the student-side runtime (:data:`RUNTIME_MODULES`)."""
    pkg = Path(__file__).resolve().parent.parent
    dest = base / "runtime" / "autograder"
    for name in RUNTIME_MODULES:
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(pkg / name, target)
    for folder in {dest, *(dest / name).parents}:
        if folder.is_relative_to(dest) and not (folder / "__init__.py").exists():
            (folder / "__init__.py").write_text('"""Student-side runtime of the course grader (no checks)."""\n')
    return dest.parent


def sandbox_env(extra: dict | None = None) -> dict:
    """The whole environment of a sandboxed process (nothing of the instructor's environment leaks in)."""
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp/home",
           "IPYTHONDIR": "/tmp/ipython", "MPLCONFIGDIR": "/tmp/mpl", "MPLBACKEND": "Agg", "TMPDIR": "/tmp",
           "COURSE_QUICK": "1", "NBGRADER_EXECUTION": "autograde", "PYTHONDONTWRITEBYTECODE": "1",
           "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    for var in PASS_VARS:
        if os.environ.get(var):
            env[var] = os.environ[var]
    for var in DATA_VARS:  # the resolved path: that is where data_dirs() binds it (a symlink's target)
        if os.environ.get(var, "").strip():
            env[var] = str(Path(os.environ[var].strip()).expanduser().resolve())
    env.update(extra or {})
    return env


@functools.lru_cache(maxsize=1)
def font_list() -> Path | None:
    """matplotlib's font list for this interpreter, built once per user outside any sandbox and bound read-only
    into every sandbox's fresh MPLCONFIGDIR: else each sandboxed process that imports pyplot (every kernel, every
    judge's rebuild) spends ~0.4 s scanning the fonts again. Built with an empty HOME, so it names only fonts
    the sandbox sees (``/usr``, matplotlib's own); None when it cannot be built (the sandbox then builds its own)."""
    import hashlib
    import subprocess
    import tempfile
    from importlib import metadata

    try:
        key = hashlib.sha256(f"{sys.prefix}|{metadata.version('matplotlib')}".encode()).hexdigest()[:16]
    except metadata.PackageNotFoundError:
        return None
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "nn-course" / f"matplotlib-{key}"
    found = sorted(root.glob("fontlist-v*.json"))
    if found:
        return found[-1]
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=root) as tmp:
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": tmp, "MPLCONFIGDIR": tmp}
            subprocess.run([sys.executable, "-I", "-c", "import matplotlib.font_manager"], env=env, timeout=300,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            built = sorted(Path(tmp).glob("fontlist-v*.json"))
            if not built:
                return None
            os.replace(built[-1], root / built[-1].name)  # atomic: a reader sees a whole file or none
            return root / built[-1].name
    except (OSError, subprocess.SubprocessError):
        return None


def data_dirs(env: dict) -> list[Path]:
    """Existing instructor data folders named by the data variables (files: their folder)."""
    out = []
    for var in DATA_VARS:
        value = env.get(var, "").strip()
        if not value:
            continue
        p = Path(value).expanduser().resolve()
        if p.exists():
            out.append(p if p.is_dir() else p.parent)
    return out


def _private(path: Path) -> list[str]:
    """A size-limited tmpfs at ``path`` holding read-only binds of the files the host folder holds now."""
    args = ["--size", str(TMPFS_MB << 20), "--tmpfs", str(path)]
    for f in sorted(path.iterdir()) if path.is_dir() else []:
        if f.is_file() and not f.is_symlink():
            args += ["--ro-bind", str(f), str(f)]
    return args


def bwrap_command(cmd: list[str], writable: list[Path], cwd: Path, env: dict, readonly: list[Path] = (),
                  private: list[Path] = ()) -> list[str]:
    """``bwrap ... -- cmd``: ``cmd`` sees only what the module docstring lists; ``cwd`` is its working dir;
    ``private``: folders the sandbox writes in memory (a tmpfs of :data:`TMPFS_MB`; the host folder's files as they
    are now, read-only), never on the host's disk; ``writable``: host folders bound read-write (the kernel's IPC).

    The environment is cleared and replaced by ``env`` (so nothing of the grader's environment leaks). No
    capability survives (``--cap-drop ALL``: bubblewrap run as root would keep them)."""
    exe = bwrap_path()
    if exe is None:
        raise IsolationUnavailable("bubblewrap (bwrap) is not installed: apt-get install bubblewrap, "
                                   "or run course-grade --isolation none (NOT safe)")
    args = [exe, "--unshare-all", "--die-with-parent", "--cap-drop", "ALL", "--clearenv", "--proc", "/proc", "--dev",
            "/dev", "--size", str(TMPFS_MB << 20), "--tmpfs", "/tmp", "--dir", "/tmp/home", "--dir", "/tmp/ipython",
            "--dir", "/tmp/mpl"]
    for path in SYSTEM_RO:
        args += ["--ro-bind-try", path, path]
    for path in ETC_RO:
        args += ["--ro-bind-try", path, path]
    ro = [*python_dirs(), course_package_dir(), *data_dirs(env), *readonly]
    for path in ro:
        args += ["--ro-bind", str(path), str(path)]
    fonts = font_list()
    if fonts is not None:
        args += ["--ro-bind", str(fonts), f"/tmp/mpl/{fonts.name}"]
    for path in writable:
        args += ["--bind", str(path), str(path)]
    for path in private:
        args += _private(Path(path))
    for key, value in env.items():
        args += ["--setenv", key, value]
    args += ["--chdir", str(cwd), "--"]
    return args + list(cmd)


def wrap(cmd: list[str], mode: str, writable: list[Path], cwd: Path, env: dict, readonly: list[Path] = (),
         private: list[Path] = ()) -> tuple[list[str], dict | None]:
    """(command, environment for Popen) for ``mode``; with ``none`` the command runs as is in ``env`` (and the
    ``private`` folders are plain host folders)."""
    if mode == "none":
        return list(cmd), {**os.environ, **env}
    if mode != "bwrap":
        raise ValueError(f"unknown isolation {mode!r} (one of {', '.join(MODES)})")
    return (bwrap_command(cmd, writable, cwd, env, readonly, private),
            {"PATH": os.environ.get("PATH", "/usr/bin:/bin")})


def isolated_python(extra_flags: tuple[str, ...] = ()) -> list[str]:
    """The interpreter in isolated mode: no PYTHON* variables, no user site, no script/cwd folder on sys.path."""
    return [sys.executable, "-I", *extra_flags]
