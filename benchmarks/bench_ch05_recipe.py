"""Chapter 5's own recipe ("All fixes together") as a student runs it in full mode, without the slow cells before it.

    COURSE_CIFAR10_DIR=../shared/data/cifar10-full-jpeg.npz python benchmarks/bench_ch05_recipe.py

Runs the chapter text's code cells (autograder/chapters/ch05_cnn_cifar/chapter.py, solutions included, hidden tests
left out) in order, in one namespace, up to and including the training cell of "All fixes together", skipping the
cells that only demonstrate the report's loops and compare recipes and batch sizes (the reproduction, the recipes
table, the batch-size runs). Prints what those cells print: the per-layer step times, then the training cell's steps,
minutes and validation and test accuracy; and the load average before and after (measure beside nothing heavy).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MPLBACKEND", "Agg")

SKIPPED = {"ch05-reproduce", "ch05-first-loss", "ch05-fixes-explained"}  # code cells after these markdown cells
LAST = "ch05-curves"  # stop at the markdown cell after the training cell


def cells(text: str):
    """(key of the markdown cell before it, source) of each code cell."""
    key = None
    for cell in re.split(r"^# %%", text, flags=re.M)[1:]:
        head, _, body = cell.partition("\n")
        found = re.search(r'\[markdown\] key="([^"]+)"', head)
        if found:
            key = found.group(1)
            if key == LAST:
                return
            continue
        yield key, re.sub(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS", "", body, flags=re.S)


def main() -> None:
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    namespace = {"__name__": "__main__"}
    for key, body in cells((ROOT / "autograder/chapters/ch05_cnn_cifar/chapter.py").read_text()):
        if key in SKIPPED:
            if "def train(" not in body:
                continue
            body = body[:body.index("n_images =")]  # the cell defining train() goes on to compare recipes
        exec(compile(body, f"chapter 5, code cell after {key}", "exec"), namespace)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
