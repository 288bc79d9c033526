"""Chapter 5's batch and step rules (autograder/chapters/ch05_cnn_cifar/step_timing.py), measured as the checks
measure them, on the reference layers, the corpus's correct answers and the slow variants of wrong_speed.py.

    python benchmarks/bench_step_rule.py

Prints, for each layer, the step slowdown (the batch-64 training step with that layer in place of the reference
one, over the all-reference step; the rule allows STEP_FACTOR), for the convolutions the batch-rule ratio (many
small images; the rule allows BATCH_FACTOR) and for max-pool backward the window-rule ratio (few large images; the
rule allows WINDOW_FACTOR), with the load average. In-process (local) timing. Two correct max-pool backwards that
are not in the corpus (a scatter with np.bincount, the reshape trick with a one-hot of the first maximum) show
where correct code lies beside np.add.at.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from autograder.chapters.ch05_cnn_cifar import correct, reference, step_timing, wrong_speed  # noqa: E402


def _first_max(x, size, stride):
    """(flat index into x of each window's first maximum (N, C, Ho, Wo)), from the stacked kernel offsets."""
    N, C, H, W = x.shape
    Ho, Wo = (H - size) // stride + 1, (W - size) // stride + 1
    k = np.stack([x[idx] for _p, _q, idx in reference.pool_windows(x, size, stride)]).argmax(axis=0)
    p, q = np.divmod(k, size)
    rows = np.arange(Ho)[:, None] * stride + p
    cols = np.arange(Wo)[None, :] * stride + q
    return (np.arange(N * C).reshape(N, C, 1, 1) * H + rows) * W + cols


def pool_backward_bincount(dout, cache):
    """Correct: each window's first maximum (argmax over the stacked offsets), dout scattered with np.bincount."""
    x, size, stride = cache
    dx = np.bincount(_first_max(x, size, stride).ravel(), weights=dout.ravel(), minlength=x.size)
    return dx.astype(np.result_type(dout, x)).reshape(x.shape)


def pool_backward_reshape_onehot(dout, cache):
    """Correct for stride == size (the chapter's 2x2 pool): the reshape trick, a one-hot of each window's first
    maximum times dout, reshaped back; other strides by the bincount scatter."""
    x, size, stride = cache
    if stride != size:
        return pool_backward_bincount(dout, cache)
    N, C, H, W = x.shape
    Ho, Wo = H // size, W // size
    win = x[:, :, :Ho * size, :Wo * size].reshape(N, C, Ho, size, Wo, size).transpose(0, 1, 2, 4, 3, 5)
    k = win.reshape(N, C, Ho, Wo, size * size).argmax(axis=-1)
    onehot = (np.arange(size * size) == k[..., None]) * dout[..., None]
    dx = np.zeros(x.shape, dtype=np.result_type(dout, x))
    dx[:, :, :Ho * size, :Wo * size] = onehot.reshape(N, C, Ho, Wo, size, size).transpose(0, 1, 2, 4, 3, 5).reshape(
        N, C, Ho * size, Wo * size)
    return dx


def _ratio(fn, ref_fn, args):
    """The rules' ratio: median over ROUNDS interleaved rounds of each side's fastest of REPEATS runs."""
    mine, theirs = [], []
    for _round in range(step_timing.ROUNDS):
        theirs.append(min(step_timing.time_calls(ref_fn, *args, repeats=step_timing.REPEATS)))
        mine.append(min(step_timing.time_calls(fn, *args, repeats=step_timing.REPEATS)))
    return float(np.median(mine) / np.median(theirs))


CASES = {
    "conv_forward_fast": [reference.conv_forward_fast, correct.fast_forward_rows, correct.fast_forward_einsum,
                          wrong_speed.conv_forward_per_image],
    "conv_backward_fast": [reference.conv_backward_fast, correct.fast_backward_rows, correct.fast_backward_tensordot,
                           wrong_speed.conv_backward_per_image],
    "maxpool_forward": [reference.maxpool_forward, correct.pool_forward_stacked, correct.pool_forward_separable,
                        wrong_speed.pool_forward_reshape_trick, wrong_speed.pool_forward_window_view],
    "maxpool_backward": [reference.maxpool_backward, correct.pool_backward_offsets_where,
                         correct.pool_backward_first_of_stack, pool_backward_bincount, pool_backward_reshape_onehot,
                         wrong_speed.pool_backward_argmax_add_at, wrong_speed.pool_bwd_window_loop],
}


def main() -> None:
    print(f"load average before: {os.getloadavg()[0]:.2f}; STEP_FACTOR {step_timing.STEP_FACTOR}, "
          f"BATCH_FACTOR {step_timing.BATCH_FACTOR}, POOL_FACTOR {step_timing.POOL_FACTOR}, "
          f"WINDOW_FACTOR {step_timing.WINDOW_FACTOR}")
    layers = step_timing.step_problem()
    for layer, fns in CASES.items():
        for fn in fns:
            slowdown, share, summary = step_timing.step_measure(layer, fn, layers, layers[layer][1])
            line = f"{layer:>18} {fn.__module__.rsplit('.', 1)[-1]:>11}.{fn.__name__:<30} step {slowdown:5.2f}x"
            line += f" ({summary.split(';')[0].split('(')[1].rstrip(')')})"
            if layer.startswith("conv"):
                line += f"; batch rule {_ratio(fn, *step_timing.batch_problem(layer == 'conv_backward_fast')):6.1f}x"
            if layer == "maxpool_backward":
                line += f"; window rule {_ratio(fn, *step_timing.window_problem()):6.1f}x"
            print(line, flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
