"""The monitor's diagnoses measured like a classifier on the labelled corpus of real training runs.

Runs every run of ``tests/monitor_runs`` (23 healthy, 22 faulty; static mode, statistics and diagnoses on the
monitor's call-count schedule, so the table is the same on every run) and prints two tables: per run its label,
the codes that would name its fault, the codes found at warning/error level (in the whole log, withdrawn ones too)
and the verdict; per diagnosis code its true positives (a correct code on a faulty run), false alarms (on healthy
runs) and wrong causes (on faulty runs, neither correct nor allowed).

    COURSE_DATA_FIXTURES=../shared/data python benchmarks/bench_diagnoses.py
"""

from __future__ import annotations

import collections
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("COURSE_DATA_FIXTURES", str(ROOT.parent / "shared" / "data"))

from monitor_runs import RUNS, verdict  # noqa: E402


def main() -> int:
    per_code = collections.defaultdict(lambda: [0, 0, 0])  # code -> [true positives, false alarms, wrong causes]
    verdicts = collections.Counter()
    print("| run | label | codes that name the fault | found (warning/error; info only when it names the fault) "
          "| verdict |")
    print("|---|---|---|---|---|")
    cpu = time.process_time()
    for run in RUNS:
        mon = run.fn()
        found = mon.diagnoses
        result, named, wrong = verdict(run, found)
        verdicts[result] += 1
        serious = sorted({d.code for d in found if d.severity in ("error", "warning")})
        for code in named:
            per_code[code][0] += 1
        for code in wrong:
            per_code[code][1 if run.healthy else 2] += 1
        info = sorted({d.code for d in found if d.severity == "info"} & run.correct)
        if info:
            serious.append("info: " + ", ".join(info))
        expected = "-" if run.healthy else ", ".join(sorted(run.correct))
        error = f" (monitor error: {mon.monitor_error})" if mon.monitor_error else ""
        print(f"| {run.name} | {'healthy' if run.healthy else 'faulty'} | {expected} | {', '.join(serious) or '-'} "
              f"| {result}{error} |")
    print()
    print("| code | true positives | false alarms (healthy runs) | wrong causes (faulty runs) |")
    print("|---|---|---|---|")
    for code in sorted(per_code):
        tp, fa, wc = per_code[code]
        print(f"| {code} | {tp} | {fa} | {wc} |")
    print()
    print(f"{len(RUNS)} runs: " + ", ".join(f"{n} {v}" for v, n in sorted(verdicts.items()))
          + f"; CPU {time.process_time() - cpu:.1f} s")
    return 0 if set(verdicts) <= {"ok", "known miss"} else 1


if __name__ == "__main__":
    sys.exit(main())
