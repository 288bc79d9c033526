"""The >= 50x speed rule of chapter 5, measured as the checks measure it (``check_conv_*_fast``).

    python benchmarks/bench_speed_rule.py

For the reference fast convolution and the corpus window loops (``conv_*_window_loop`` in
``autograder/corpus/wrong/ch05_cnn_cifar.py``: loops over the windows (n, i, j) of each image), runs the real
check twice: on the function in this process ("local") and on the same function in a separate student process
through the judge's channel ("remote": timed inside that process, ``RemoteFunction.time_calls``). Prints each
verdict with the ratio the check measured, and the load average.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.chapters import real_checks  # noqa: E402
from autograder.trusted.channel import Endpoint  # noqa: E402
from autograder.trusted.proxies import RemoteFunction  # noqa: E402

REAL_CHECKS = real_checks()

STUDENT = textwrap.dedent('''
    from autograder.chapters.ch05_cnn_cifar.reference import conv_forward_fast, conv_backward_fast
    from autograder.chapters.ch05_cnn_cifar.wrong import conv_forward_window_loop, conv_backward_window_loop

''')

SERVER = textwrap.dedent('''
    import os, sys
    from autograder.trusted.channel import Endpoint
    rfd, wfd = os.dup(0), os.dup(1)
    ns = {"__name__": "student"}
    exec(open(sys.argv[1]).read(), ns)
    ep = None
    def resolve(t):
        return ns[t[3:]] if t.startswith("fn:") else ep.handles[int(t[2:])]
    ep = Endpoint(rfd, wfd, resolve)
    ep.serve_forever()
    os._exit(0)
''')

CASES = {"conv_forward_fast": ["conv_forward_fast", "conv_forward_window_loop",],
         "conv_backward_fast": ["conv_backward_fast", "conv_backward_window_loop",]}


def main() -> int:
    tmp = Path(tempfile.mkdtemp())
    (tmp / "student.py").write_text(STUDENT)
    (tmp / "server.py").write_text(SERVER)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, str(tmp / "server.py"), str(tmp / "student.py")],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
    ep = Endpoint(proc.stdout.fileno(), proc.stdin.fileno(), None, timeout=300, peer=proc)
    ep.resolve = lambda t: ep.handles[int(t[2:])]
    ns: dict = {}
    exec(STUDENT, ns)
    print("load average before: %.2f %.2f %.2f" % os.getloadavg())
    for check, names in CASES.items():
        for name in names:
            for where in ("local", "remote"):
                fn = ns[name] if where == "local" else RemoteFunction(ep, "fn:" + name, name)
                buf = io.StringIO()
                with contextlib.redirect_stdout(buf):
                    try:
                        REAL_CHECKS["check_" + check](fn)
                        verdict = "PASS " + buf.getvalue().strip().split(": ", 1)[-1]
                    except AssertionError as exc:
                        verdict = "FAIL " + str(exc).split(" on x ")[0]
                print(f"{name:30s} {where:6s} {verdict}")
    print("load average after: %.2f %.2f %.2f" % os.getloadavg())
    ep._send({"op": "bye"})
    proc.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
