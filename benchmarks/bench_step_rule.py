"""Chapter 5's batch and step rules (autograder/chapters/ch05_cnn_cifar/step_timing.py), measured as the checks
measure them, on the reference layers, the corpus's correct answers and the slow variants of wrong_speed.py.

    python benchmarks/bench_step_rule.py

Prints, for each layer, the step slowdown (the batch-64 training step with that layer in place of the reference
one, over the all-reference step; the rule allows STEP_FACTOR) and, for the convolutions, the batch-rule ratio
(many small images; the rule allows BATCH_FACTOR), with the load average. In-process (local) timing.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autograder.chapters.ch05_cnn_cifar import correct, reference, step_timing, wrong_speed  # noqa: E402

CASES = {
    "conv_forward_fast": [reference.conv_forward_fast, correct.fast_forward_rows, correct.fast_forward_einsum,
                          wrong_speed.conv_forward_per_image],
    "conv_backward_fast": [reference.conv_backward_fast, correct.fast_backward_rows, correct.fast_backward_tensordot,
                           wrong_speed.conv_backward_per_image],
    "maxpool_forward": [reference.maxpool_forward, correct.pool_forward_stacked, correct.pool_forward_separable,
                        wrong_speed.pool_forward_reshape_trick, wrong_speed.pool_forward_window_view],
    "maxpool_backward": [reference.maxpool_backward, correct.pool_backward_offsets_where,
                         correct.pool_backward_first_of_stack, wrong_speed.pool_backward_argmax_add_at,
                         wrong_speed.pool_bwd_window_loop],
}


def main() -> None:
    print(f"load average before: {os.getloadavg()[0]:.2f}; STEP_FACTOR {step_timing.STEP_FACTOR}, "
          f"BATCH_FACTOR {step_timing.BATCH_FACTOR}")
    layers = step_timing.step_problem()
    for layer, fns in CASES.items():
        for fn in fns:
            slowdown, share, summary = step_timing.step_measure(layer, fn, layers, layers[layer][1])
            line = f"{layer:>18} {fn.__module__.rsplit('.', 1)[-1]:>11}.{fn.__name__:<30} step {slowdown:5.2f}x"
            line += f" ({summary.split(';')[0].split('(')[1].rstrip(')')})"
            if layer.startswith("conv"):
                ref_fn, args = step_timing.batch_problem(layer == "conv_backward_fast")
                mine = min(step_timing.time_calls(fn, *args, repeats=5))
                theirs = min(step_timing.time_calls(ref_fn, *args, repeats=5))
                line += f"; batch rule {mine / theirs:6.1f}x"
            print(line, flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
