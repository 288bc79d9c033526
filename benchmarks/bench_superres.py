"""Chapter 6 benchmarks: trained SR MLP vs bicubic on held-out photos, and the 768 -> 1024 -> 12288 step.

    python benchmarks/bench_superres.py                 # everything (PSNR training run + step timing + memory)
    python benchmarks/bench_superres.py --skip-train    # only the step timing (NumPy vs PyTorch CPU) and memory
    COURSE_DATA_FIXTURES=../shared/data python benchmarks/bench_superres.py --source kodak

The PSNR run trains exactly the notebook's two models for the notebook's fixed step counts (each predicting the
correction to bilinear, Adam, a random flip/rotation per batch; no time limit, so the PSNR figures do not depend on
the machine): section 6's global MLP 768 -> 256 -> 12288 (batch 64, 800 steps) and section 7's shared block MLP
75 -> 256 -> 48 (every 4x4 block from its 5x5 low-res neighbourhood; all blocks of 4 crops per step, 8000 steps),
the latter also with the 8-fold self-ensemble, and the notebook's linear baseline: ridge regression from the same
5x5 neighbourhood to the same 48 numbers (closed form, all 8 flips/rotations of every training block).
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

from autograder.chapters.ch06_superres_mlp.reference import init_mlp, mlp_loss_grads, psnr, upsample_bilinear  # noqa: E402
from course.data import load_superres  # noqa: E402
from course.superres import dihedral, from_blocks, neighbourhoods, to_blocks, undihedral  # noqa: E402


def bicubic_pillow(lr, factor):
    from PIL import Image

    n, h, w, c = lr.shape
    out = np.empty((n, h * factor, w * factor, c), dtype=np.float32)
    for i in range(n):
        for ch in range(c):
            img = Image.fromarray(np.ascontiguousarray(lr[i, :, :, ch], dtype=np.float32), mode="F")
            out[i, :, :, ch] = np.asarray(img.resize((w * factor, h * factor), Image.BICUBIC))
    return np.clip(out, 0, 1)


def adam(params, next_batch, steps, base_lr):
    """The notebook's train_adam without the monitor: Adam, cosine-decaying step, exactly `steps` steps."""
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v = {k: np.zeros_like(v) for k, v in params.items()}
    t0 = time.time()
    for step in range(1, steps + 1):
        x, y = next_batch()
        loss, grads = mlp_loss_grads(params, x, y)
        lr_now = base_lr * 0.5 * (1 + np.cos(np.pi * step / steps))
        for k in params:
            m[k] = 0.9 * m[k] + 0.1 * grads[k]
            v[k] = 0.999 * v[k] + 0.001 * grads[k] ** 2
            params[k] -= lr_now * (m[k] / (1 - 0.9 ** step)) / (np.sqrt(v[k] / (1 - 0.999 ** step)) + 1e-8)
        if step % 1000 == 0:
            print(f"  step {step}: loss {loss:.5f} ({time.time() - t0:.0f} s)", flush=True)
    return params, step, time.time() - t0


def train_global(data, steps, rng):
    """Section 6: 768 -> 256 -> 12288 on whole crops, batch 64, one random symmetry per batch."""
    lr_imgs, hr_imgs = data["lr_train"], data["hr_train"]

    def batch():
        idx, t = rng.integers(0, len(lr_imgs), 64), int(rng.integers(8))
        lr_b, hr_b = dihedral(lr_imgs[idx], t), dihedral(hr_imgs[idx], t)
        return ((lr_b.reshape(64, -1) - 0.5).astype(np.float32),
                (hr_b - upsample_bilinear(lr_b, 4)).reshape(64, -1).astype(np.float32))

    params = {k: v.astype(np.float32) for k, v in init_mlp([768, 256, 12288], rng).items()}
    params["W2"] *= 0.1
    params, step, seconds = adam(params, batch, steps, 1e-3)

    def predict(lr):
        h = np.maximum((lr.reshape(len(lr), -1) - 0.5) @ params["W1"] + params["b1"], 0)
        return upsample_bilinear(lr, 4) + (h @ params["W2"] + params["b2"]).reshape(len(lr), 64, 64, 3)
    return predict, step, seconds


def train_shared(data, steps, rng, k=5):
    """Section 7: one 75 -> 256 -> 48 MLP for every 4x4 block, all blocks of 4 random crops per step."""
    lr_imgs, hr_imgs = data["lr_train"], data["hr_train"]

    def batch():
        idx, t = rng.integers(0, len(lr_imgs), 4), int(rng.integers(8))
        lr_b, hr_b = dihedral(lr_imgs[idx], t), dihedral(hr_imgs[idx], t)
        return ((neighbourhoods(lr_b, k).reshape(-1, k * k * 3) - 0.5).astype(np.float32),
                (to_blocks(hr_b, 4) - to_blocks(upsample_bilinear(lr_b, 4), 4)).reshape(-1, 48).astype(np.float32))

    params = {k_: v.astype(np.float32) for k_, v in init_mlp([k * k * 3, 256, 48], rng).items()}
    params["W2"] *= 0.1
    params, step, seconds = adam(params, batch, steps, 2e-3)

    def predict(lr):
        h = np.maximum((neighbourhoods(lr, k).reshape(-1, k * k * 3) - 0.5) @ params["W1"] + params["b1"], 0)
        corr = from_blocks((h @ params["W2"] + params["b2"]).reshape(len(lr), 16, 16, 48), 4)
        return upsample_bilinear(lr, 4) + corr
    return predict, step, seconds


def ridge_blocks(data, k=5, lam=1e-4):
    """The notebook's linear baseline: ridge from each block's k x k neighbourhood to its correction to bilinear."""
    t0 = time.time()
    d = k * k * 3
    xtx, xty, count = np.zeros((d + 1, d + 1)), np.zeros((d + 1, 48)), 0

    def feats(lr):
        x = neighbourhoods(lr, k).reshape(-1, d).astype(np.float64) - 0.5
        return np.hstack([x, np.ones((len(x), 1))])

    for t in range(8):
        lr_t, hr_t = dihedral(data["lr_train"], t), dihedral(data["hr_train"], t)
        f = feats(lr_t)
        xtx += f.T @ f
        xty += f.T @ (to_blocks(hr_t, 4) - to_blocks(upsample_bilinear(lr_t, 4), 4)).reshape(-1, 48)
        count += len(f)
    w = np.linalg.solve(xtx + lam * count * np.diag([1.0] * d + [0.0]), xty)

    def predict(lr):
        return upsample_bilinear(lr, 4) + from_blocks((feats(lr) @ w).reshape(len(lr), 16, 16, 48), 4)
    return predict, time.time() - t0


def train_and_score(source):
    data = load_superres(source)
    lr_t, hr_t = data["lr_test"], data["hr_test"]
    bicubic = psnr(bicubic_pillow(lr_t, 4), hr_t, 1.0)
    print(f"held-out {source}: {len(hr_t)} crops; bilinear {psnr(upsample_bilinear(lr_t, 4), hr_t, 1.0):.2f} dB, "
          f"bicubic (Pillow) {bicubic:.2f} dB")
    predict, seconds = ridge_blocks(data)
    ridge = psnr(np.clip(predict(lr_t), 0, 1), hr_t, 1.0)
    print(f"ridge (linear, 5x5 -> 4x4 block): {ridge:.2f} dB ({ridge - bicubic:+.2f} dB vs bicubic), {seconds:.0f} s",
          flush=True)
    for name, train, steps in [("global MLP 768-256-12288", train_global, 800),
                               ("shared block MLP 75-256-48", train_shared, 8000)]:
        predict, step, seconds = train(data, steps, np.random.default_rng(0))
        score = psnr(np.clip(predict(lr_t), 0, 1), hr_t, 1.0)
        print(f"{name}: {score:.2f} dB ({score - bicubic:+.2f} dB vs bicubic, {score - ridge:+.2f} dB vs ridge), "
              f"{step} steps in {seconds:.0f} s", flush=True)
        if train is train_shared:
            ens = np.mean([undihedral(predict(dihedral(lr_t, t)), t) for t in range(8)], axis=0)
            score = psnr(np.clip(ens, 0, 1), hr_t, 1.0)
            print(f"{name} with 8-fold self-ensemble: {score:.2f} dB ({score - bicubic:+.2f} dB vs bicubic, "
                  f"{score - ridge:+.2f} dB vs ridge)")


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
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--skip-train", action="store_true")
    args = ap.parse_args(argv)
    print(f"load average: {os.getloadavg()[0]:.2f}")
    bench_step(args.repeats)
    if not args.skip_train:
        train_and_score(args.source)


if __name__ == "__main__":
    main()
