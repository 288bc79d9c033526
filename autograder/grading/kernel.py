"""A kernel manager that runs the nbgrader kernel in a bubblewrap sandbox (see :mod:`autograder.trusted.isolation`).

nbgrader's ``Execute`` preprocessor is an nbclient ``NotebookClient``;
:class:`autograder.grading.preprocessors.sandboxed_execute.SandboxedExecute` gives it
:class:`SandboxedKernelManager`, so nbgrader itself stays trusted while the kernel sees only:

* a private scratch folder holding a copy of the notebook(s) of the folder nbgrader runs in (nothing else the
  student submitted, no gradebook), read-write, as its working directory;
* its own IPC folder (the kernel's sockets and connection file): the IPC transport cannot collide between two
  workers, unlike TCP ports picked before the kernel binds them;
* the read-only allowlist of :func:`autograder.trusted.isolation.bwrap_command`, no network, its own PID namespace.

Mode: ``COURSE_ISOLATION`` (``bwrap``, the default when bubblewrap exists, or ``none``); course-grade sets it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager

from autograder.grading.nbgrader_log import ENV_NONCE

ENV_MODE = "COURSE_ISOLATION"


def isolation_mode() -> str:
    from autograder.trusted.isolation import bwrap_path

    mode = os.environ.get(ENV_MODE, "").strip()
    if mode:
        return mode
    return "bwrap" if bwrap_path() else "none"


class SandboxedKernelManager(AsyncKernelManager):
    """AsyncKernelManager whose kernel runs in a sandbox, in a scratch copy of the notebook's folder."""

    _box: Path | None = None

    async def _async_pre_start_kernel(self, **kw):
        self.transport = "ipc"
        self._box = Path(tempfile.mkdtemp(prefix="course-kernel-"))
        ipc = self._box / "ipc"
        ipc.mkdir()
        self.connection_file = str(ipc / "kernel.json")
        self.ip = str(ipc / "k")
        return await super()._async_pre_start_kernel(**kw)

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw) -> None:
        from autograder.trusted.isolation import sandbox_env, wrap

        assert self._box is not None
        scratch = self._box / "scratch"
        scratch.mkdir(exist_ok=True)
        origin = Path(kw.get("cwd") or os.getcwd())
        for nb in origin.glob("*.ipynb"):
            shutil.copyfile(nb, scratch / nb.name)
        cmd = list(kernel_cmd)
        if cmd and Path(cmd[0]).name.startswith("python"):
            cmd = [sys.executable, "-I", *cmd[1:]]  # no cwd/script folder on sys.path, no PYTHON* variables
        mode = isolation_mode()
        full, env = wrap(cmd, mode, [self._box / "ipc"], scratch, sandbox_env(), private=[scratch])  # scratch in memory
        if mode == "none":
            env = {**(kw.get("env") or os.environ), **sandbox_env(), "HOME": str(scratch),
                   "IPYTHONDIR": str(self._box / "ipython"), "MPLCONFIGDIR": str(self._box / "mpl")}
            env.pop("JPY_PARENT_PID", None)
            env.pop(ENV_NONCE, None)
        # nothing the kernel prints reaches nbgrader's log (which course-grade reads): no grader fd is inherited
        kw = {**kw, "cwd": str(scratch), "env": env, "stdin": subprocess.DEVNULL, "stdout": subprocess.DEVNULL,
              "stderr": subprocess.DEVNULL}
        self.log.info("Starting sandboxed kernel (%s) in %s", mode, scratch)
        await super()._async_launch_kernel(full, **kw)

    async def _async_interrupt_kernel(self) -> None:
        # A SIGINT to the process group would end bwrap itself (and the sandbox with it): ask the kernel over its
        # control channel instead (ipykernel then interrupts itself), as Jupyter does for interrupt_mode message.
        if self.has_kernel and self.kernel_spec is not None:
            self.kernel_spec.interrupt_mode = "message"
        await super()._async_interrupt_kernel()

    interrupt_kernel = _async_interrupt_kernel  # the async manager calls this name (not _async_interrupt_kernel)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart and self._box is not None:
            shutil.rmtree(self._box, ignore_errors=True)
            self._box = None
