"""A student process for the channel tests: it runs a module of student functions and serves them through an
``autograder.trusted.channel.Endpoint`` on its stdin/stdout (targets ``fn:NAME``, and ``h:N`` for handles it
returned), with fds 0 and 1 pointed at /dev/null so the student code cannot write into the channel."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from autograder.paths import ROOT

SERVER = textwrap.dedent('''
    import os, sys
    from autograder.trusted.channel import Endpoint
    rfd, wfd = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0); os.dup2(devnull, 1)
    ns = {"__name__": "student"}
    exec(compile(open(sys.argv[1]).read(), "<solution>", "exec"), ns)
    ep = None
    def resolve(target):
        if target.startswith("fn:"):
            return ns[target[3:]]
        return ep.handles[int(target[2:])]
    ep = Endpoint(rfd, wfd, resolve)
    ep.serve_forever()
    os._exit(0)
''')


def spawn(folder: Path, student_code: str, drop_env: tuple[str, ...] = ()) -> subprocess.Popen:
    """Start the server on ``student_code`` in ``folder`` (one BLAS thread; ``drop_env`` removed from its
    environment); its stdin/stdout are the channel's pipes."""
    (folder / "solution.py").write_text(student_code)
    (folder / "server.py").write_text(SERVER)
    env = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1")
    for name in drop_env:
        env.pop(name, None)
    return subprocess.Popen([sys.executable, str(folder / "server.py"), str(folder / "solution.py")],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
                            cwd=folder)
