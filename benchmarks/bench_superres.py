"""Chapter 6 benchmarks: trained SR MLP vs bicubic on held-out photos, and the 768 -> 1024 -> 12288 step.

    python benchmarks/bench_superres.py                 # everything (PSNR training run + step timing + memory)
    python benchmarks/bench_superres.py --skip-train    # only the step timing (NumPy vs PyTorch CPU) and memory
    COURSE_DATA_FIXTURES=../shared/data python benchmarks/bench_superres.py --source kodak

The PSNR run trains exactly the notebook's model (768 -> 256 -> 12288 predicting the correction to bilinear,
Adam, batch 64, a random flip/rotation per batch) for at most --budget seconds.
The step is one SGD step (forward, MSE, backward, in-place update) in float32, batch 64; PyTorch (optional, the
``bench`` extra) runs the same step with autograd on the same number of threads.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autograder.reference.ch06_superres_mlp import init_mlp, mlp_loss_grads, psnr, upsample_bilinear  # noqa: E402
from course.data import load_superres  # noqa: E402


def bicubic_pillow(lr, factor):
    from PIL import Image

    n, h, w, c = lr.shape
    out = np.empty((n, h * factor, w * factor, c), dtype=np.float32)
    for i in range(n):
        for ch in range(c):
            img = Image.fromarray(np.ascontiguousarray(lr[i, :, :, ch], dtype=np.float32), mode="F")
            out[i, :, :, ch] = np.asarray(img.resize((w * factor, h * factor), Image.BICUBIC))
    return np.clip(out, 0, 1)


def random_batch(rng, lr_imgs, hr_imgs, batch):
    """The notebook's mini-batch: one random flip/rotation per batch; y is the correction to bilinear."""
    idx = rng.integers(0, len(lr_imgs), batch)
    k, flip = int(rng.integers(4)), bool(rng.integers(2))
    lr_b, hr_b = np.rot90(lr_imgs[idx], k, axes=(1, 2)), np.rot90(hr_imgs[idx], k, axes=(1, 2))
    if flip:
        lr_b, hr_b = lr_b[:, :, ::-1], hr_b[:, :, ::-1]
    x = (lr_b.reshape(batch, -1) - 0.5).astype(np.float32)
    y = (hr_b - upsample_bilinear(lr_b, 4)).reshape(batch, -1).astype(np.float32)
    return x, y


def train_and_score(source, steps, budget, hidden):
    data = load_superres(source)
    rng = np.random.default_rng(0)
    params = {k: v.astype(np.float32) for k, v in init_mlp([768, hidden, 12288], rng).items()}
    params["W2"] *= 0.1
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v = {k: np.zeros_like(v) for k, v in params.items()}
    t0 = time.time()
    for step in range(1, steps + 1):
        x, y = random_batch(rng, data["lr_train"], data["hr_train"], 64)
        loss, grads = mlp_loss_grads(params, x, y)
        lr_now = 1e-3 * 0.5 * (1 + np.cos(np.pi * step / steps))
        for k in params:
            m[k] = 0.9 * m[k] + 0.1 * grads[k]
            v[k] = 0.999 * v[k] + 0.001 * grads[k] ** 2
            params[k] -= lr_now * (m[k] / (1 - 0.9 ** step)) / (np.sqrt(v[k] / (1 - 0.999 ** step)) + 1e-8)
        if step % 100 == 0:
            print(f"  step {step}: loss {loss:.5f} ({time.time() - t0:.0f} s)", flush=True)
        if time.time() - t0 > budget:
            break
    seconds = time.time() - t0
    lr_t, hr_t = data["lr_test"], data["hr_test"]
    h = np.maximum((lr_t.reshape(len(lr_t), -1) - 0.5) @ params["W1"] + params["b1"], 0)
    pred = np.clip(upsample_bilinear(lr_t, 4) + (h @ params["W2"] + params["b2"]).reshape(hr_t.shape), 0, 1)
    scores = {"bilinear": psnr(upsample_bilinear(lr_t, 4), hr_t, 1.0),
              "bicubic": psnr(bicubic_pillow(lr_t, 4), hr_t, 1.0), "MLP": psnr(pred, hr_t, 1.0)}
    print(f"PSNR on held-out {source} ({len(hr_t)} crops): " + ", ".join(f"{k} {s:.2f} dB" for k, s in scores.items()))
    print(f"MLP - bicubic margin: {scores['MLP'] - scores['bicubic']:+.2f} dB; trained {step} steps in {seconds:.0f} s")


def numpy_step(p, x, y, lr):
    """One SGD step in float32 with an in-place update (no new parameter arrays)."""
    z = x @ p["W1"]
    z += p["b1"]
    h = np.maximum(z, 0, out=z)
    out = h @ p["W2"]
    out += p["b2"]
    out -= y  # out is now the difference
    loss = float(np.mean(out * out))
    out *= 2.0 / out.size  # dout
    dW2 = h.T @ out
    db2 = out.sum(axis=0)
    dh = out @ p["W2"].T
    dh *= h > 0
    dW1 = x.T @ dh
    db1 = dh.sum(axis=0)
    for k, g in (("W1", dW1), ("b1", db1), ("W2", dW2), ("b2", db2)):
        g *= lr
        p[k] -= g
    return loss


def time_steps(fn, repeats, warmup=3):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times)), float(np.min(times))


def bench_step(repeats):
    rng = np.random.default_rng(0)
    p = {k: v.astype(np.float32) for k, v in init_mlp([768, 1024, 12288], rng).items()}
    x = rng.random((64, 768), dtype=np.float32)
    y = rng.random((64, 12288), dtype=np.float32)
    param_bytes = sum(v.nbytes for v in p.values())
    med, best = time_steps(lambda: numpy_step(p, x, y, 0.01), repeats)
    print(f"NumPy step 768 -> 1024 -> 12288, batch 64, float32: median {med * 1e3:.1f} ms (best {best * 1e3:.1f} ms)")
    tracemalloc.start()
    numpy_step(p, x, y, 0.01)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"parameters {param_bytes / 2**20:.1f} MiB; peak extra memory during a step {peak / 2**20:.1f} MiB "
          f"= {peak / param_bytes:.2f}x params; params + peak = {(param_bytes + peak) / param_bytes:.2f}x params")
    try:
        import torch
    except ImportError:
        print("PyTorch not installed (pip install '.[bench]'): no comparison")
        return
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", os.cpu_count() or 1)))
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in p.items()}
    tx, ty = torch.tensor(x), torch.tensor(y)

    def torch_step():
        out = torch.relu(tx @ tp["W1"] + tp["b1"]) @ tp["W2"] + tp["b2"]
        loss = torch.mean((out - ty) ** 2)
        loss.backward()
        with torch.no_grad():
            for t in tp.values():
                t -= 0.01 * t.grad
                t.grad = None
        return float(loss.detach())

    tmed, tbest = time_steps(torch_step, repeats)
    print(f"PyTorch {torch.__version__} CPU ({torch.get_num_threads()} threads): median {tmed * 1e3:.1f} ms "
          f"(best {tbest * 1e3:.1f} ms); NumPy / PyTorch = {med / tmed:.2f}x median, {best / tbest:.2f}x best")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", default="photos", choices=["photos", "kodak"])
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--budget", type=float, default=150.0, help="training time limit in seconds")
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--skip-train", action="store_true")
    args = ap.parse_args(argv)
    print(f"load average: {os.getloadavg()[0]:.2f}")
    bench_step(args.repeats)
    if not args.skip_train:
        train_and_score(args.source, args.steps, args.budget, args.hidden)


if __name__ == "__main__":
    main()
