"""BLAS threads: each chapter's training loop with 1 thread, 2 threads and OpenBLAS's default.

Each workload is the inner loop of a chapter's training demo at the chapter's sizes, on random data of the same
shapes (timing does not depend on the values), with the reference implementations. Every setting is timed
``--repeats`` times, alternating, and the best and median are printed with the load average, so the rule in
``course.runtime.set_blas_threads`` can be checked on any machine:

    python benchmarks/bench_threads.py                 # every chapter
    python benchmarks/bench_threads.py --only ch04_mlp --repeats 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autograder.chapters.ch03_activations import reference as ch03  # noqa: E402
from autograder.chapters.ch04_softmax.reference import iterate_minibatches, sgd_step, softmax_cross_entropy  # noqa: E402
from autograder.chapters.ch05_cnn_cifar import reference as ch05  # noqa: E402
from autograder.chapters.ch06_superres_mlp.reference import mlp_loss_grads  # noqa: E402

F32 = np.float32


def _dense(rng, dims, scale=None):
    """float32 {W1, b1, ...} with He-like init for layer sizes dims."""
    p = {}
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:]), 1):
        p[f"W{i}"] = (rng.standard_normal((a, b)) * (scale or np.sqrt(2 / a))).astype(F32)
        p[f"b{i}"] = np.zeros(b, F32)
    return p


def ch02_xor():
    """Chapter 2: 2-8-1 tanh net, full batch of 400 points, 1500 steps."""
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(400, 2)).astype(F32), rng.normal(size=(400, 1)).astype(F32)
    p = _dense(rng, [2, 8, 1])

    def run():
        for _ in range(1500):
            h = np.tanh(X @ p["W1"] + p["b1"])
            d = 2 * (h @ p["W2"] + p["b2"] - Y) / Y.size
            dh = (d @ p["W2"].T) * (1 - h**2)
            p["W2"] -= 0.5 * h.T @ d
            p["b2"] -= 0.5 * d.sum(0)
            p["W1"] -= 0.5 * X.T @ dh
            p["b1"] -= 0.5 * dh.sum(0)
    return run


def ch03_deep():
    """Chapter 3: [12288, 20, 7, 5, 1] ReLU/sigmoid net, full batch of 209 images, 100 iterations."""
    rng = np.random.default_rng(0)
    X = rng.random((209, 12288), dtype=F32)
    y = (rng.random(209) < 72 / 209).astype(F32)
    p = {k: v.astype(F32) for k, v in ch03.init_params([12288, 20, 7, 5, 1], "he", rng).items()}

    def run():
        for _ in range(100):
            probs, caches = ch03.deep_forward(X, p)
            grads = ch03.deep_backward(probs, y, caches)
            for k in p:
                p[k] -= 0.0075 * grads[k]
    return run


def _mnist_epoch(dims, batch, hidden):
    rng = np.random.default_rng(0)
    X = rng.random((60000, 784), dtype=F32)
    y = rng.integers(0, 10, 60000)
    p = _dense(rng, dims)

    def run():
        for xb, yb in iterate_minibatches(X, y, batch, rng):
            acts = [xb]
            for i in range(1, len(dims) - 1):
                z = acts[-1] @ p[f"W{i}"] + p[f"b{i}"]
                acts.append(0.5 * (1 + np.tanh(0.5 * z)) if hidden == "sigmoid" else np.maximum(z, 0))
            n = len(dims) - 1
            _, delta = softmax_cross_entropy(acts[-1] @ p[f"W{n}"] + p[f"b{n}"], yb)
            delta = delta.astype(F32)
            grads = {}
            for i in range(n, 0, -1):
                grads[f"W{i}"], grads[f"b{i}"] = acts[i - 1].T @ delta, delta.sum(0)
                if i > 1:
                    a = acts[i - 1]
                    delta = (delta @ p[f"W{i}"].T) * ((a * (1 - a)) if hidden == "sigmoid" else (a > 0))
            sgd_step(p, grads, 0.1)
    return run


def ch04_small():
    """Chapter 4: 784-10-10 sigmoid net, one 60,000-image epoch, batch 32."""
    return _mnist_epoch([784, 10, 10], 32, "sigmoid")


def ch04_mlp():
    """Chapter 4: 784-128-64-10 ReLU net, one 60,000-image epoch, batch 64."""
    return _mnist_epoch([784, 128, 64, 10], 64, "relu")


def ch05_cnn():
    """Chapter 5: the seed CNN (conv 16x3x3, ReLU, maxpool 2, FC 3600->10), 40 steps of batch 64."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3, 32, 32)).astype(F32)
    y = rng.integers(0, 10, 64)
    p = {"w1": (rng.normal(size=(16, 3, 3, 3)) * 0.27).astype(F32), "b1": np.zeros(16, F32),
         "w2": (rng.normal(size=(3600, 10)) * 0.024).astype(F32), "b2": np.zeros(10, F32)}

    def run():
        for _ in range(40):
            a, c1 = ch05.conv_forward_fast(x, p["w1"], p["b1"], 1, 0)
            h = np.maximum(a, 0)
            pool, c3 = ch05.maxpool_forward(h, 2, 2)
            f = pool.reshape(64, -1)
            _, ds = softmax_cross_entropy(f @ p["w2"] + p["b2"], y)
            ds = ds.astype(F32)
            dp = (ds @ p["w2"].T).reshape(pool.shape)
            da = ch05.maxpool_backward(dp, c3) * (a > 0)
            _, dw1, db1 = ch05.conv_backward_fast(da, c1)
            grads = {"w1": dw1, "b1": db1, "w2": f.T @ ds, "b2": ds.sum(0)}
            for k in p:
                p[k] -= 0.01 * grads[k]
    return run


def _sr(dims, batch, steps):
    rng = np.random.default_rng(0)
    x = rng.random((batch, dims[0]), dtype=F32)
    y = rng.random((batch, dims[-1]), dtype=F32)
    p = _dense(rng, dims)

    def run():
        for _ in range(steps):
            _, grads = mlp_loss_grads(p, x, y)
            for k in p:
                p[k] -= 0.01 * grads[k]
    return run


def ch06_global():
    """Chapter 6: global MLP 768 -> 256 -> 12288, batch 64, 40 steps."""
    return _sr([768, 256, 12288], 64, 40)


def ch06_block():
    """Chapter 6: shared block MLP 75 -> 256 -> 48, batch 4096 blocks, 100 steps."""
    return _sr([75, 256, 48], 4096, 100)


WORKLOADS = {f.__name__: f for f in (ch02_xor, ch03_deep, ch04_small, ch04_mlp, ch05_cnn, ch06_global, ch06_block)}
SETTINGS = {"1": 1, "2": 2, "default": None}


def measure(name: str, repeats: int) -> dict:
    """Best and median seconds of the workload under each thread setting (alternating runs)."""
    times = {s: [] for s in SETTINGS}
    run = WORKLOADS[name]()
    with threadpool_limits(limits=1, user_api="blas"):
        run()  # warm-up: page in the arrays
    for _ in range(repeats):
        for label, limit in SETTINGS.items():
            ctx = threadpool_limits(limits=limit, user_api="blas") if limit else threadpool_limits(limits=None)
            with ctx:
                t0 = time.perf_counter()
                run()
                times[label].append(time.perf_counter() - t0)
    return {label: (min(t), statistics.median(t)) for label, t in times.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=sorted(WORKLOADS), help="workload (repeatable)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    blas = [i for i in threadpool_info() if i["user_api"] == "blas"]
    default = blas[0]["num_threads"] if blas else "?"
    print(f"numpy {np.__version__}, BLAS {blas[0]['internal_api'] if blas else '?'} default threads {default}, "
          f"cpus {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}")
    print(f"{'workload':12s} {'1 thread':>16s} {'2 threads':>16s} {'default':>16s}   (best / median s)  2 vs 1")
    for name in args.only or WORKLOADS:
        r = measure(name, args.repeats)
        cells = "".join(f"{r[s][0]:8.2f} /{r[s][1]:6.2f}" for s in SETTINGS)
        print(f"{name:12s} {cells}   {r['2'][1] / r['1'][1]:.2f}x   load {os.getloadavg()[0]:.2f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
