"""Chapter 5 benchmarks: the seed network (conv 16 3x3 -> ReLU -> maxpool 2x2 -> FC 3600->10 -> softmax).

Three figures, measured in one run (see benchmarks/RESULTS.md):

1. ``step``: one forward+backward pass, batch 64, float32, with the reference fast layers
   (autograder.reference.ch05_cnn_cifar) against PyTorch CPU with the same number of threads (skipped if torch
   is not installed: ``pip install -e .[bench]``).
2. ``epoch``: one full 50,000-image epoch of SGD on the seed network (target: under 6 s on 2 cores).
3. ``accuracy``: test accuracy after a training run of a few minutes (target >= 55%, stretch 60%).

Data for 2 and 3: the full CIFAR-10 as lossy JPEG re-encodings (``--jpeg``, default
../shared/data/cifar10-full-jpeg.npz), so accuracies are close to, not equal to, those on the official set.

Usage::

    python benchmarks/bench_cnn.py                 # everything, 1 thread
    python benchmarks/bench_cnn.py --threads 2 --only step
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _threads_from_argv() -> int:
    for i, arg in enumerate(sys.argv):
        if arg == "--threads" and i + 1 < len(sys.argv):
            return int(sys.argv[i + 1])
        if arg.startswith("--threads="):
            return int(arg.split("=", 1)[1])
    return 1


def _keep_freed_memory():
    """Ask glibc not to hand freed blocks back to the OS between steps: every step allocates the same tens of
    MB of temporaries, and fresh pages cost a page fault each (halves the step time here)."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD
        libc.mallopt(-3, 1 << 30)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        pass


_keep_freed_memory()
# BLAS threads must be fixed before NumPy is imported.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = str(_threads_from_argv())
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from autograder.chapters.ch05_cnn_cifar import reference as ref  # noqa: E402

DEFAULT_JPEG = ROOT.parent / "shared" / "data" / "cifar10-full-jpeg.npz"


# ------------------------------------------------------------------------------------------------ the network
def init_params(rng, dtype=np.float32):
    """He initialisation: conv (16, 3, 3, 3), FC (3600, 10)."""
    return {
        "w1": (rng.normal(size=(16, 3, 3, 3)) * np.sqrt(2 / 27)).astype(dtype),
        "b1": np.zeros(16, dtype),
        "w2": (rng.normal(size=(3600, 10)) * np.sqrt(2 / 3600)).astype(dtype),
        "b2": np.zeros(10, dtype),
    }


def step(params, x, y):
    """Forward + backward with the reference fast layers. Returns (loss, grads, scores)."""
    a, c1 = ref.conv_forward_fast(x, params["w1"], params["b1"], 1, 0)
    h = np.maximum(a, 0)
    p, c3 = ref.maxpool_forward(h, 2, 2)
    f = p.reshape(len(x), -1)
    s = f @ params["w2"] + params["b2"]
    z = s - s.max(axis=1, keepdims=True)
    e = np.exp(z)
    prob = e / e.sum(axis=1, keepdims=True)
    n = len(x)
    loss = -np.log(prob[np.arange(n), y] + 1e-12).mean()
    ds = prob
    ds[np.arange(n), y] -= 1
    ds /= n
    dw2, db2 = f.T @ ds, ds.sum(axis=0)
    dp = (ds @ params["w2"].T).reshape(p.shape)
    # ReLU and max-pooling commute (maxpool(relu(a)) == relu(maxpool(a))), so the ReLU mask can be applied to
    # the 4x smaller pooled gradient: exactly the same da, one pass over 4x less data.
    da = ref.maxpool_backward(dp * (p > 0), c3)
    # The input needs no gradient (as in PyTorch): only the conv's parameter gradients.
    dw1, db1 = ref.conv_param_grads(da, c1)
    return float(loss), {"w1": dw1, "b1": db1, "w2": dw2, "b2": db2}, s


def predict(params, x, batch=500):
    out = []
    for i in range(0, len(x), batch):
        a, _ = ref.conv_forward_fast(x[i:i + batch], params["w1"], params["b1"], 1, 0)
        p, _ = ref.maxpool_forward(np.maximum(a, 0), 2, 2)
        out.append((p.reshape(len(p), -1) @ params["w2"] + params["b2"]).argmax(axis=1))
    return np.concatenate(out)


# ------------------------------------------------------------------------------------------------ data
def load_jpeg(path: Path):
    """(x_train, y_train, x_test, y_test) as uint8 NHWC / int64 from the shared JPEG archive."""
    try:
        from course.data.cifar import load_cifar10_jpeg
    except ImportError:
        load_cifar10_jpeg = None
    if load_cifar10_jpeg is not None:
        xtr, ytr = load_cifar10_jpeg(path, "train")
        xte, yte = load_cifar10_jpeg(path, "test")
        return xtr, ytr.astype(np.int64), xte, yte.astype(np.int64)
    from PIL import Image

    data = np.load(path)
    out = []
    for split in ("train", "test"):
        blob, off = data[f"{split}_jpeg"], data[f"{split}_offsets"]
        x = np.stack([np.asarray(Image.open(io.BytesIO(blob[off[i]:off[i + 1]].tobytes())).convert("RGB"))
                      for i in range(len(off) - 1)])
        out += [x, data[f"{split}_labels"].astype(np.int64)]
    return tuple(out)


def to_nchw(x_u8, mean, std):
    return ((x_u8.transpose(0, 3, 1, 2).astype(np.float32) - mean) / std).astype(np.float32)


# ------------------------------------------------------------------------------------------------ benchmarks
def best_of(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), float(np.median(times))


def bench_step(threads: int, repeats: int) -> dict:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3, 32, 32)).astype(np.float32)
    y = rng.integers(0, 10, size=64)
    params = init_params(rng)
    step(params, x, y)
    numpy_best, numpy_median = best_of(lambda: step(params, x, y), repeats)
    result = {"numpy_ms": numpy_best * 1e3, "numpy_median_ms": numpy_median * 1e3}
    try:
        import torch
    except ImportError:
        print("torch not installed: skipping the PyTorch comparison (pip install -e .[bench])")
        return result
    torch.set_num_threads(threads)
    conv = torch.nn.Conv2d(3, 16, 3)
    fc = torch.nn.Linear(3600, 10)
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(params["w1"]))
        conv.bias.copy_(torch.from_numpy(params["b1"]))
        fc.weight.copy_(torch.from_numpy(params["w2"].T.copy()))
        fc.bias.copy_(torch.from_numpy(params["b2"]))
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)

    def torch_step():
        for m in (conv, fc):
            m.zero_grad(set_to_none=True)
        s = fc(torch.nn.functional.max_pool2d(torch.relu(conv(tx)), 2).reshape(64, -1))
        loss = torch.nn.functional.cross_entropy(s, ty)
        loss.backward()
        return loss.detach()

    # Same numbers first: loss and conv weight gradient.
    loss_np, grads_np, _ = step(params, x, y)
    loss_t = torch_step()
    grad_err = float(np.abs(conv.weight.grad.numpy() - grads_np["w1"]).max() / np.abs(grads_np["w1"]).max())
    torch_step()
    torch_best, torch_median = best_of(torch_step, repeats)
    result.update(torch_ms=torch_best * 1e3, torch_median_ms=torch_median * 1e3, ratio=numpy_best / torch_best,
                  loss_diff=abs(loss_np - float(loss_t)), grad_rel_err=grad_err, torch_version=torch.__version__)
    return result


def train(params, x, y, epochs, lr, momentum, batch, rng, log=print, lr_decay=None, augment=False):
    """SGD with momentum on normalised NCHW float32 data. Returns seconds per epoch."""
    velocity = {k: np.zeros_like(v) for k, v in params.items()}
    seconds = []
    for epoch in range(epochs):
        rate = lr if lr_decay is None else lr_decay(epoch)
        order = rng.permutation(len(x))
        t0 = time.perf_counter()
        losses = []
        for i in range(0, len(x) - batch + 1, batch):
            idx = order[i:i + batch]
            xb = x[idx]
            if augment:  # random horizontal flips of half the batch
                flip = rng.random(batch) < 0.5
                xb[flip] = xb[flip, :, :, ::-1]
            loss, grads, _ = step(params, xb, y[idx])
            for k in params:
                velocity[k] *= momentum
                velocity[k] -= rate * grads[k]
                params[k] += velocity[k]
            losses.append(loss)
        seconds.append(time.perf_counter() - t0)
        log(f"  epoch {epoch + 1}/{epochs}: {seconds[-1]:.2f} s, lr {rate:.4f}, mean loss {np.mean(losses):.3f}")
    return seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="BLAS and torch threads (default 1)")
    parser.add_argument("--only", choices=["step", "epoch", "accuracy"], action="append")
    parser.add_argument("--jpeg", type=Path, default=DEFAULT_JPEG)
    parser.add_argument("--epochs", type=int, default=12, help="epochs of the accuracy run")
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args(argv)
    todo = args.only or ["step", "epoch", "accuracy"]
    print(f"threads={args.threads}, numpy {np.__version__}, load average {os.getloadavg()[0]:.2f}")

    if "step" in todo:
        r = bench_step(args.threads, args.repeats)
        print(f"[step] batch 64 float32 forward+backward: numpy reference {r['numpy_ms']:.2f} ms "
              f"(median {r['numpy_median_ms']:.2f})")
        if "torch_ms" in r:
            print(f"[step] torch {r['torch_version']} CPU: {r['torch_ms']:.2f} ms (median {r['torch_median_ms']:.2f}); "
                  f"numpy / torch = {r['ratio']:.2f}x; loss diff {r['loss_diff']:.1e}, "
                  f"conv dw relative diff {r['grad_rel_err']:.1e}")

    if "epoch" in todo or "accuracy" in todo:
        t0 = time.perf_counter()
        xtr_u8, ytr, xte_u8, yte = load_jpeg(args.jpeg)
        print(f"data: {len(xtr_u8)} train / {len(xte_u8)} test images from {args.jpeg.name} (lossy JPEG re-encoding) "
              f"in {time.perf_counter() - t0:.1f} s")
        mean = xtr_u8.reshape(-1, 3).mean(axis=0).reshape(1, 3, 1, 1).astype(np.float32)
        std = xtr_u8.reshape(-1, 3).std(axis=0).reshape(1, 3, 1, 1).astype(np.float32)
        xtr, xte = to_nchw(xtr_u8, mean, std), to_nchw(xte_u8, mean, std)

    if "epoch" in todo:
        rng = np.random.default_rng(1)
        params = init_params(rng)
        secs = train(params, xtr, ytr, 1, 0.01, 0.9, 64, rng)
        print(f"[epoch] one {len(xtr)}-image epoch (batch 64, SGD momentum): {secs[0]:.2f} s (target < 6 s)")

    if "accuracy" in todo:
        rng = np.random.default_rng(2)
        params = init_params(rng)
        E = args.epochs

        def schedule(epoch):  # linear warm-down of the learning rate
            return 0.02 * (1 - epoch / E) + 0.001

        t0 = time.perf_counter()
        train(params, xtr, ytr, E, 0.02, 0.9, 64, rng, lr_decay=schedule, augment=True)
        minutes = (time.perf_counter() - t0) / 60
        acc = float((predict(params, xte) == yte).mean())
        print(f"[accuracy] test accuracy after {E} epochs ({minutes:.1f} min): {acc:.2%} "
              "(CIFAR-10 lossy JPEG re-encoding; target >= 55%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
