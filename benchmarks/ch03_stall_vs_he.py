"""Time chapter 3's stalled-vs-He comparison (the notebook's sections 7 and 9) with the reference functions.

Same setup as the notebook: the report's data shape, CIFAR-10 cat vs not-cat, the first 72 cats and the first 137
other training images, each enlarged to 64x64 (D = 12288), layer_dims [12288, 20, 7, 5, 1], lr 0.0075, 1000
full-batch iterations in float32, for the "small" and the "he" init, with one BLAS thread (``import course``).
Target: each run well under 60 s on 2 cores.

    COURSE_DATA_FIXTURES=../shared/data python benchmarks/ch03_stall_vs_he.py
"""

from __future__ import annotations

import os
import time

import numpy as np

from autograder.chapters.ch03_activations.reference import bce_with_logits, deep_backward, deep_forward, init_params
from course.data import CIFAR10_CLASSES, load_cifar10


def main():
    X_all, y_all = load_cifar10("train")
    cat = CIFAR10_CLASSES.index("cat")
    idx = np.sort(np.concatenate([np.flatnonzero(y_all == cat)[:72], np.flatnonzero(y_all != cat)[:137]]))
    X = (X_all[idx].repeat(2, axis=1).repeat(2, axis=2).reshape(len(idx), -1) / 255).astype(np.float32)
    y = (y_all[idx] == cat).astype(np.float32)
    print(f"load average {os.getloadavg()[0]:.2f}; X {X.shape}")
    total = 0.0
    for scheme in ("small", "he"):
        params = {k: v.astype(np.float32)
                  for k, v in init_params([X.shape[1], 20, 7, 5, 1], scheme, np.random.default_rng(3)).items()}
        start = time.perf_counter()
        for it in range(1001):
            probs, caches = deep_forward(X, params)
            cost = bce_with_logits(caches[-1][1][:, 0], y)[0]
            if it in (0, 1000):
                print(f"{scheme:>5} iteration {it:4d}: cost {cost:.4f}")
            grads = deep_backward(probs, y, caches)
            for k in params:
                params[k] -= 0.0075 * grads[k]
        elapsed = time.perf_counter() - start
        total += elapsed
        print(f"{scheme:>5}: 1000 iterations in {elapsed:.1f} s")
    print(f"both runs: {total:.1f} s")


if __name__ == "__main__":
    main()
