"""Chapter 4 benchmark: train the 784-10-10 sigmoid net and the 784-128-64-10 ReLU net on the FULL MNIST.

Reports test accuracy and wall time of each (targets: >= 92% and >= 97%, each under 60 s on 2 cores), in float32,
with the chapter's reference functions (softmax_cross_entropy, iterate_minibatches, sgd_step, accuracy).

Data: ``course.data.load_mnist`` (which reads ``$COURSE_MNIST_DIR`` / downloads); if that is not available yet, the
four official idx .gz files are read directly from ``$COURSE_MNIST_DIR`` (default ../shared/data/mnist).

    python benchmarks/bench_mnist.py                 # both nets
    python benchmarks/bench_mnist.py --net 784-10-10 # one of them
"""

from __future__ import annotations

import argparse
import gzip
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder.chapters.ch04_softmax.reference import (  # noqa: E402
    accuracy,
    iterate_minibatches,
    sgd_step,
    softmax_cross_entropy,
)

DEFAULT_DIR = ROOT.parent / "shared" / "data" / "mnist"
FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
         "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}


def _read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load(split: str) -> tuple[np.ndarray, np.ndarray]:
    """Full MNIST ``split``: via course.data.load_mnist if it can give the real data, else the idx files."""
    env_fixtures = os.environ.pop("COURSE_DATA_FIXTURES", None)  # the benchmark wants the full set, not the subset
    os.environ.setdefault("COURSE_MNIST_DIR", str(DEFAULT_DIR))  # a local copy: never download in a benchmark
    try:
        from course.data import load_mnist

        X, y = load_mnist(split)
        source = "course.data.load_mnist"
    except NotImplementedError:
        folder = Path(os.environ.get("COURSE_MNIST_DIR", DEFAULT_DIR))
        X, y = (_read_idx(folder / name) for name in FILES[split])
        source = f"idx files in {folder}"
    finally:
        if env_fixtures is not None:
            os.environ["COURSE_DATA_FIXTURES"] = env_fixtures
    expected = 60000 if split == "train" else 10000
    if len(X) != expected:
        raise SystemExit(f"expected the full MNIST {split} set ({expected} images), got {len(X)} from {source}")
    print(f"[data] {split}: {X.shape} from {source}", flush=True)
    return X, y


def sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # = 1 / (1 + exp(-x)), without overflow


def init(dims, rng, scheme):
    params = {}
    for i, (d_in, d_out) in enumerate(zip(dims[:-1], dims[1:]), 1):
        scale = np.sqrt(2.0 / d_in) if scheme == "he" else np.sqrt(1.0 / d_in)
        params[f"W{i}"] = (rng.standard_normal((d_in, d_out)) * scale).astype(np.float32)
        params[f"b{i}"] = np.zeros(d_out, np.float32)
    return params


def forward_backward(params, X, y, hidden):
    """Loss and grads of an MLP whose hidden layers use ``hidden`` ("sigmoid" or "relu")."""
    n_layers = len(params) // 2
    acts = [X]
    for i in range(1, n_layers):
        z = acts[-1] @ params[f"W{i}"] + params[f"b{i}"]
        acts.append(sigmoid(z) if hidden == "sigmoid" else np.maximum(z, 0))
    logits = acts[-1] @ params[f"W{n_layers}"] + params[f"b{n_layers}"]
    loss, d = softmax_cross_entropy(logits, y)
    d = d.astype(np.float32, copy=False)
    grads = {}
    for i in range(n_layers, 0, -1):
        grads[f"W{i}"] = acts[i - 1].T @ d
        grads[f"b{i}"] = d.sum(axis=0)
        if i > 1:
            d = d @ params[f"W{i}"].T
            a = acts[i - 1]
            d = d * a * (1 - a) if hidden == "sigmoid" else d * (a > 0)
    return loss, grads


def predict(params, X, hidden):
    n_layers = len(params) // 2
    a = X
    for i in range(1, n_layers):
        z = a @ params[f"W{i}"] + params[f"b{i}"]
        a = sigmoid(z) if hidden == "sigmoid" else np.maximum(z, 0)
    return a @ params[f"W{n_layers}"] + params[f"b{n_layers}"]


NETS = {
    # dims, hidden activation, init, epochs, batch size, learning-rate schedule (per epoch)
    "784-10-10": dict(dims=[784, 10, 10], hidden="sigmoid", init="xavier", epochs=10, batch=32, lr=0.5),
    "784-128-64-10": dict(dims=[784, 128, 64, 10], hidden="relu", init="he", epochs=8, batch=128, lr=0.3),
}


def train(name, Xtr, ytr, Xte, yte, seed=0, **overrides):
    cfg = {**NETS[name], **overrides}
    rng = np.random.default_rng(seed)
    params = init(cfg["dims"], rng, cfg["init"])
    t0, c0 = time.perf_counter(), time.process_time()
    for epoch in range(cfg["epochs"]):
        lr = cfg["lr"] * (0.5 * (1 + np.cos(np.pi * epoch / cfg["epochs"])))  # cosine decay per epoch
        total, count = 0.0, 0
        for xb, yb in iterate_minibatches(Xtr, ytr, cfg["batch"], rng):
            loss, grads = forward_backward(params, xb, yb, cfg["hidden"])
            sgd_step(params, grads, np.float32(lr))
            total += loss * len(yb)
            count += len(yb)
        print(f"[{name}] epoch {epoch + 1}/{cfg['epochs']}: lr {lr:.3f}, train loss {total / count:.4f}, "
              f"{time.perf_counter() - t0:.1f} s", flush=True)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    acc = accuracy(predict(params, Xte, cfg["hidden"]), yte)
    assert all(p.dtype == np.float32 for p in params.values())
    return acc, wall, cpu


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--net", choices=sorted(NETS), action="append", help="net(s) to train (default: both)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    Xtr, ytr = load("train")
    Xte, yte = load("test")
    Xtr = Xtr.reshape(len(Xtr), -1).astype(np.float32) / 255
    Xte = Xte.reshape(len(Xte), -1).astype(np.float32) / 255
    threads = os.environ.get("OMP_NUM_THREADS", "default")
    rows = []
    for name in args.net or list(NETS):
        load_before = os.getloadavg()[0]
        acc, wall, cpu = train(name, Xtr, ytr, Xte, yte, seed=args.seed)
        rows.append((name, acc, wall, cpu, load_before))
    print(f"\n{os.cpu_count()} CPUs, OMP_NUM_THREADS={threads}, float32")
    print("| net | test accuracy | training wall time | CPU time | load average before |")
    print("|---|---|---|---|---|")
    for name, acc, wall, cpu, load_avg in rows:
        print(f"| {name} | {acc:.2%} | {wall:.1f} s | {cpu:.1f} s | {load_avg:.2f} |")


if __name__ == "__main__":
    main()
