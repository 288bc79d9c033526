# ---
# jupyter:
#   course:
#     gives_away:
#       02_dense_backprop: course.gradcheck; central differences in a test
#     repeats:
#       init_mlp: 03_activations
#     time_budget_seconds: 300
#   jupytext:
#     cell_metadata_filter: key,nbgrader,-all
#     notebook_metadata_filter: course,-jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown] key="ch06-intro"
# # Chapter 6: Super-resolution with an MLP, a debugging clinic
#
# A colleague sends you a bug report. Their network takes a 16x16 colour thumbnail (768 numbers) and should
# produce the 64x64 photo it came from (12288 numbers). Their MLP has layers 768 -> 4 -> 5 -> 12288 with ReLU
# everywhere, and when they train it the loss *grows* every iteration and the predictions reach millions instead
# of 0..255.
#
# In this chapter you first build the tools of the trade for super-resolution (resampling and PSNR), then debug
# their trainer with the tools of this course (scale checks, a gradient check, the live monitor), fix it piece by
# piece, and finally compare the fixed network with classic interpolation and with a linear model on photos it
# has never seen.
#
# **You will write** (each checked by tests):
#
# 1. `downsample_box(hr, factor)`: make the low-res input by averaging blocks of pixels.
# 2. `upsample_nearest(lr, factor)` and `upsample_bilinear(lr, factor)`: the classic baselines.
# 3. `psnr(pred, target, data_range)`: the standard quality score, in decibels.
# 4. `init_mlp(sizes, rng)`, `mlp_loss_grads(params, x, y)`, `mlp_train_step(params, x, y, lr)`: the fixed trainer.
#
# **Array layouts in this chapter.** Images are `(N, H, W, C)` float arrays with values in 0..1: channels *last*,
# as photos are stored (chapter 5's layers used `(N, C, H, W)`; here there are no convolutions, so we keep the
# photo layout). The MLP sees each image as one flattened row: `x` is `(N, 768)`, `y` is `(N, 12288)`, with
# `reshape(N, -1)` and back with `reshape(N, 64, 64, 3)`.
#
# **Data.** 64x64 crops of the CC0 / public-domain colour photos that ship inside scikit-image (no download).
# Train and test are split **by photo**: the test crops (`chelsea` the cat and a cup of `coffee`) come from
# photos the network never sees during training, so neighbouring crops cannot leak answers.

# %% nbgrader={"grade_id": "setup", "schema_version": 3, "solution": false, "grade": false, "locked": true, "task": false}
import time

import numpy as np
import matplotlib.pyplot as plt
from PIL import Image

from course.data import TEST_PHOTOS, TRAIN_PHOTOS, load_superres
from course.gradcheck import relative_error
from course.i18n import gettext
from course.monitor import TrainingMonitor
from course.runtime import quick_mode
from course.superres import dihedral, from_blocks, neighbourhoods, to_blocks, undihedral
from course.testing import assert_close, assert_returns_tuple, assert_shape, passed, run

# %matplotlib inline
QUICK = quick_mode()  # True under the grader and in CI: demos are cut short

# %%
data = load_superres("photos")
print("train photos:", TRAIN_PHOTOS, " test photos:", TEST_PHOTOS)
for key, value in data.items():
    print(f"{key:12s} {str(value.shape):22s} {value.dtype}")


# %% [markdown] key="ch06-box-average"
# ## 1. Making the low-res input: box averaging
#
# The camera behind a low-resolution sensor collects the light of each `factor x factor` block of the fine image
# into one pixel. We model that by **averaging each block**:
#
# `lr[n, i, j, c] = mean of hr[n, i*f:(i+1)*f, j*f:(j+1)*f, c]`
#
# Keeping one pixel per block (`hr[:, ::f, ::f]`) is not the same: it throws away 15 of every 16 pixels and
# aliases fine detail. Hint: reshape `(N, H, W, C)` to `(N, H/f, f, W/f, f, C)` and average two axes.
# Raise a `ValueError` if `H` or `W` is not a multiple of `factor`.

# %% nbgrader={"grade_id": "downsample_box", "schema_version": 3, "solution": true, "grade": false, "locked": false, "task": false}
def downsample_box(hr, factor):
    """Box-average downsampling.

    hr: (N, H, W, C) images; factor: int dividing H and W.
    Returns: (N, H // factor, W // factor, C) float, the mean of each factor x factor block.
    dtype: float input keeps its dtype; integer (uint8) input gives float64.
    """
    ### BEGIN SOLUTION
    hr = np.asarray(hr)
    if hr.ndim != 4:
        raise ValueError(f"hr must be (N, H, W, C), got shape {hr.shape}")
    n, h, w, c = hr.shape
    if h % factor or w % factor:
        raise ValueError(f"H and W ({h}, {w}) must be multiples of factor {factor}")
    return hr.reshape(n, h // factor, factor, w // factor, factor, c).mean(axis=(2, 4))
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_downsample_box", "schema_version": 3, "solution": false, "grade": true, "locked": true, "task": false, "points": 2}
block = np.arange(16.0).reshape(1, 4, 4, 1)
assert_close(run(downsample_box, block, 4), [[[[7.5]]]], "downsample_box of a 4x4 block holding 0..15")
small = np.arange(32.0).reshape(1, 4, 4, 2)
out = run(downsample_box, small, 2)
assert_shape(out, (1, 2, 2, 2), "downsample_box of a (1, 4, 4, 2) image, factor 2")
assert_close(out[0, :, :, 0], [[5.0, 9.0], [21.0, 25.0]], "channel 0 of downsample_box(small, 2)")
for bad_shape in [(1, 6, 8, 1), (1, 8, 6, 1)]:  # the height, then the width, is not a multiple of 4
    try:
        downsample_box(np.zeros(bad_shape), 4)
        raised = None
    except NotImplementedError:
        raise
    except Exception as exc:  # the exercise asks for ValueError
        raised = type(exc).__name__
    assert raised == "ValueError", (
        gettext("downsample_box(hr of shape {shape}, 4) should raise ValueError (4 does not divide H and W), raised "
                "{error}", shape=bad_shape, error=raised) if raised else
        gettext("downsample_box(hr of shape {shape}, 4) should raise ValueError (4 does not divide H and W), but "
                "returned a result", shape=bad_shape))
lr32 = np.asarray(run(downsample_box, block.astype(np.float32), 2))
assert lr32.dtype == np.float32, gettext("downsample_box of a float32 hr returned dtype {dtype}: keep a float input's "
                                         "dtype (float32 in, float32 out; only integer photos become float64)",
                                         dtype=lr32.dtype)
passed("downsample_box")
### BEGIN HIDDEN TESTS
from autograder.checks import check_downsample_box

check_downsample_box(downsample_box)
### END HIDDEN TESTS

# %% [markdown] key="ch06-baselines"
# ## 2. Upsampling baselines
#
# **Nearest neighbour** repeats each low-res pixel `factor` times along the height and along the width
# (`np.repeat` twice).
#
# **Bilinear** interpolates between the 4 nearest low-res pixels. It needs a *pixel-centre convention*: where
# does output pixel `i` sit in input coordinates? We use the one of Pillow, OpenCV and PyTorch's
# `align_corners=False`: pixel `i` covers the interval `[i, i + 1)`, so its **centre** is at `i + 0.5`. The centre of
# output pixel `i` therefore lies at input coordinate
#
# $$s = \frac{i + 0.5}{f} - 0.5$$
#
# (measured so that input pixel `k`'s centre is at `s = k`). Near the borders `s` falls outside `[0, w - 1]`: we
# **clamp** it (the edge pixel is repeated). Then with `k = floor(s)` and `t = s - k` the value is
# `(1 - t) * lr[k] + t * lr[min(k + 1, w - 1)]`, first along the height, then along the width.
#
# Example: the row `[0, 1]` upsampled 2x samples `s = -0.25, 0.25, 0.75, 1.25`, clamped to `0, 0.25, 0.75, 1`,
# giving `[0, 0.25, 0.75, 1]`. (The other convention, `align_corners=True`, would give `[0, 1/3, 2/3, 1]`,
# which shifts the picture by a fraction of a pixel; the tests reject it.)

# %% nbgrader={"grade_id": "upsample_nearest", "schema_version": 3, "solution": true, "grade": false, "locked": false, "task": false}
def upsample_nearest(lr, factor):
    """Nearest-neighbour upsampling.

    lr: (N, h, w, C). Returns (N, h * factor, w * factor, C), each pixel repeated factor x factor times.
    dtype: lr's dtype (pixels are only repeated).
    """
    ### BEGIN SOLUTION
    return np.repeat(np.repeat(lr, factor, axis=1), factor, axis=2)
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_upsample_nearest", "schema_version": 3, "solution": false, "grade": true, "locked": true, "task": false, "points": 1}
tiny = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 2, 2, 1)
up = run(upsample_nearest, tiny, 2)
assert_shape(up, (1, 4, 4, 1), "upsample_nearest of a 2x2 image, factor 2")
assert_close(up[0, :, :, 0], [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]], "upsample_nearest(tiny, 2)")
up32 = np.asarray(run(upsample_nearest, tiny.astype(np.float32), 2))
assert up32.dtype == np.float32, gettext("upsample_nearest of a float32 lr returned dtype {dtype}: keep lr's dtype "
                                         "(pixels are only repeated)", dtype=up32.dtype)
passed("upsample_nearest")
### BEGIN HIDDEN TESTS
from autograder.checks import check_upsample_nearest

check_upsample_nearest(upsample_nearest)
### END HIDDEN TESTS

# %% nbgrader={"grade_id": "upsample_bilinear", "schema_version": 3, "solution": true, "grade": false, "locked": false, "task": false}
def upsample_bilinear(lr, factor):
    """Bilinear upsampling, pixel centres aligned (align_corners=False), coordinates clamped at the edges.

    lr: (N, h, w, C). Returns (N, h * factor, w * factor, C): output pixel (i, j) samples lr at
    ((i + 0.5) / factor - 0.5, (j + 0.5) / factor - 0.5), clamped to [0, h - 1] x [0, w - 1].
    dtype: float64, whatever lr's dtype (the interpolation weights are float64).
    """
    ### BEGIN SOLUTION
    lr = np.asarray(lr)
    _, h, w, _ = lr.shape

    def axis(size):
        s = np.clip((np.arange(size * factor) + 0.5) / factor - 0.5, 0, size - 1)
        k0 = np.floor(s).astype(np.int64)
        return k0, np.minimum(k0 + 1, size - 1), s - k0

    y0, y1, ty = axis(h)
    x0, x1, tx = axis(w)
    ty = ty[None, :, None, None]
    tx = tx[None, None, :, None]
    rows = lr[:, y0] * (1 - ty) + lr[:, y1] * ty
    return rows[:, :, x0] * (1 - tx) + rows[:, :, x1] * tx
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_upsample_bilinear", "schema_version": 3, "solution": false, "grade": true, "locked": true, "task": false, "points": 3}
row = np.array([0.0, 1.0]).reshape(1, 1, 2, 1)
up = run(upsample_bilinear, row, 2)
assert_shape(up, (1, 2, 4, 1), "upsample_bilinear of a 1x2 image, factor 2")
assert_close(up[0, 0, :, 0], [0.0, 0.25, 0.75, 1.0], "the row [0, 1] upsampled 2x (pixel centres aligned)")
assert_close(up[0, 1, :, 0], up[0, 0, :, 0], "both output rows of a one-row image (clamped along the height)")
col = np.array([0.0, 1.0]).reshape(1, 2, 1, 1)
assert_close(run(upsample_bilinear, col, 2)[0, :, 0, 0], [0.0, 0.25, 0.75, 1.0],
             "the column [0, 1] upsampled 2x (interpolate along the height too)")
flat = np.full((2, 3, 3, 3), 0.4)
assert_close(run(upsample_bilinear, flat, 4), np.full((2, 12, 12, 3), 0.4), "bilinear upsampling of a flat image")
passed("upsample_bilinear")
### BEGIN HIDDEN TESTS
from autograder.checks import check_upsample_bilinear

check_upsample_bilinear(upsample_bilinear)
### END HIDDEN TESTS

# %% [markdown] key="ch06-psnr"
# ## 3. Measuring quality: PSNR
#
# The peak signal-to-noise ratio compares a prediction with the true image through their mean squared error
# over **all** values (all images, pixels and channels of the batch):
#
# $$\mathrm{PSNR} = 10 \log_{10} \frac{R^2}{\mathrm{MSE}}$$
#
# where $R$ is the data range: 1 for images in 0..1, 255 for 8-bit images. Higher is better; +1 dB means about
# 21% less squared error. Identical images have MSE 0: return `np.inf` (`math.inf`) then, not a division error.
# Return a Python `float`.

# %% nbgrader={"grade_id": "psnr", "schema_version": 3, "solution": true, "grade": false, "locked": false, "task": false}
def psnr(pred, target, data_range):
    """PSNR in dB of pred against target (same shape), MSE over all values; inf when identical.

    dtype: a Python float.
    """
    ### BEGIN SOLUTION
    mse = float(np.mean((np.asarray(pred, dtype=np.float64) - np.asarray(target, dtype=np.float64)) ** 2))
    if mse == 0:
        return float("inf")
    return float(10 * np.log10(data_range ** 2 / mse))
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_psnr", "schema_version": 3, "solution": false, "grade": true, "locked": true, "task": false, "points": 2}
a = np.zeros((1, 2, 2, 1))
b = np.full((1, 2, 2, 1), 0.1)
assert_close(run(psnr, a, b, 1.0), 20.0, "psnr with MSE 0.01 and data_range 1 (10 log10(1 / 0.01))")
assert_close(run(psnr, a * 255, b * 255, 255.0), 20.0, "the same images on the 0..255 scale, data_range 255")
assert run(psnr, b, b.copy(), 1.0) == float("inf"), gettext("identical images should have PSNR inf")
# A batch of two images with MSE 0.01 and 0.04: the MSE of the whole batch is 0.025 (16.02 dB); the mean of the
# two images' PSNRs (16.99 dB) is not the PSNR of the batch.
pair = np.concatenate([np.full((1, 2, 2, 1), 0.1), np.full((1, 2, 2, 1), 0.2)])
assert_close(run(psnr, np.zeros((2, 2, 2, 1)), pair, 1.0), 16.0205999, "psnr of a batch (MSE over all its values)")
# 8-bit images: a difference of 20 on every pixel is 22.11 dB; uint8 arithmetic would wrap around modulo 256.
dark, light = np.zeros((1, 2, 2, 3), dtype=np.uint8), np.full((1, 2, 2, 3), 20, dtype=np.uint8)
assert_close(run(psnr, dark, light, 255.0), 22.1101883, "psnr of uint8 images (convert to float first)")
passed("psnr")
### BEGIN HIDDEN TESTS
from autograder.checks import check_psnr

check_psnr(psnr)
### END HIDDEN TESTS

# %% [markdown] key="ch06-baseline-scores"
# The baselines on the held-out test crops. Bicubic comes from Pillow (`Image.resize(..., Image.BICUBIC)`,
# which uses the same pixel-centre convention as ours), applied to each channel in float.

# %%
def bicubic_pillow(lr, factor):
    """Pillow's bicubic upsampling of (N, h, w, C) float images, per channel, clipped to 0..1."""
    n, h, w, c = lr.shape
    out = np.empty((n, h * factor, w * factor, c), dtype=np.float32)
    for i in range(n):
        for ch in range(c):
            img = Image.fromarray(np.ascontiguousarray(lr[i, :, :, ch], dtype=np.float32), mode="F")
            out[i, :, :, ch] = np.asarray(img.resize((w * factor, h * factor), Image.BICUBIC))
    return np.clip(out, 0.0, 1.0)


lr_test, hr_test = data["lr_test"], data["hr_test"]
baselines = {
    "nearest": upsample_nearest(lr_test, 4),
    "bilinear": upsample_bilinear(lr_test, 4),
    "bicubic (Pillow)": bicubic_pillow(lr_test, 4),
}
for name, pred in baselines.items():
    print(f"{name:18s} PSNR on the test photos: {psnr(pred, hr_test, 1.0):.2f} dB")

# %% [markdown] key="ch06-clinic"
# ## 4. The clinic: the trainer from the bug report
#
# The report's trainer is reconstructed faithfully in `course.clinic` (read `course/clinic.py`; the cell below prints
# its backward pass). It is written in the report's layout, **columns are examples**: `X` is `(768, m)`, `Y` is
# `(12288, m)`, `W_l` is `(n_l, n_{l-1})`. Its code has these faults, exactly as reported:
#
# - raw 0..255 inputs and targets, weights from `randn` with no scaling, learning rate 0.05;
# - ReLU on every layer, the output layer too, and a 768 -> 4 -> 5 -> 12288 shape;
# - the output gradient written `dZ3 = -2 * (A3 - Y) * relu'(Z3)` and then *subtracted* (`W3 -= alpha * dW3.T`);
# - the error sent back through `dW` instead of `W` (`dA2 = dW3 @ dZ3`);
# - the loss averaged over all `m * 12288` outputs while the gradients are divided by `m` only.
#
# And it does not even start today: it counts the examples with `np.int`, which NumPy 1.24 removed.

# %%
import inspect

from course import clinic

clinic_lr, clinic_hr = data["lr_train"][:64], data["hr_train"][:64]
x_cols, y_cols = clinic.report_layout(clinic_lr, clinic_hr)  # the report's layout, raw 0..255
try:
    m = np.int(x_cols.shape[1])  # the report's line
except AttributeError as err:
    print("AttributeError:", str(err).splitlines()[0])
m = int(x_cols.shape[1])  # the replacement: the builtin int
print(f"X {x_cols.shape}, Y {y_cols.shape}, m = {m}, inputs {x_cols.min():.0f}..{x_cols.max():.0f}\n")
print(inspect.getsource(clinic.report_backward))

# %% [markdown] key="ch06-clinic-run"
# Run it (seed 2) and watch the monitor (log scale). The run is short, so drawing the monitor's figures takes a
# large share of it (the line under the monitor says how much):

# %%
CLINIC_SEED = 2
clinic_steps = 20 if QUICK else 60
with TrainingMonitor("the reported trainer", metrics=["loss"], log_scale=True) as mon:
    report = clinic.train_report(clinic_lr, clinic_hr, clinic_steps, seed=CLINIC_SEED, monitor=mon)
report_losses = np.array(report["loss"])
rises = int(np.sum(np.diff(report_losses) > 0))
print("loss, every 5th step:        ", clinic.readable(report_losses[::5]))  # 2.111e+17, not 211074306913651904.00
print("largest |prediction|, every 5th:", clinic.readable(np.array(report["max_abs_output"])[::5]),
      " (targets are 0..255)")
print(f"the loss rose on {rises} of {len(report_losses) - 1} steps")
print(f"RESULT ch06.clinic_loss_rises={rises}")
print(f"RESULT ch06.clinic_steps={len(report_losses) - 1}")
print(f"RESULT ch06.clinic_max_prediction={report['max_abs_output'][-1]:.3g}")
print("the monitor says:")
for d in mon.diagnoses:
    print(f"  [{d.code}] {d.message}")

# %% [markdown] key="ch06-symptom"
# That is the report's symptom: after the first step the loss grows at every step, and the predictions of pixels
# that should lie in 0..255 reach the millions. (The very first step lowers the loss: the random network starts
# far off, and the first update happens to kill part of the output. With seed 0 the first update brings the loss
# down to a little below the loss of a black image; the share of dead output units then grows from about half to 99% within
# 25 steps, and the loss creeps up past the black image's; try it: `report["dead_outputs"]` holds that share at every
# step.)

# %% [markdown] key="ch06-finding-bugs"
# ### Finding the bugs
#
# **Tool 1, scale checks.** Before training, look at the numbers: their range, and the size of each layer's output at
# initialisation. With inputs in 0..255 and weights drawn from `randn` (standard deviation 1), every layer multiplies
# the scale of its input by about $\sqrt{\text{fan-in}}$: 768 inputs of size ~100 give pre-activations in the
# thousands, and the output layer grows that further.

# %%
rng = np.random.default_rng(0)
x_raw = (clinic_lr * 255).reshape(64, -1)
print(f"inputs: min {x_raw.min():.0f}, max {x_raw.max():.0f}, mean {x_raw.mean():.1f}  -> should be about 0..1")
h = x_raw
for l, (a, b) in enumerate([(768, 4), (4, 5), (5, 12288)], 1):
    h = np.maximum(h @ rng.standard_normal((a, b)), 0)
    print(f"layer {l} ({a} -> {b}) with randn weights: mean |activation| = {np.abs(h).mean():.3g}")
x_unit = clinic_lr.reshape(64, -1)
h = x_unit
for l, (a, b) in enumerate([(768, 256), (256, 12288)], 1):
    h = np.maximum(h @ (rng.standard_normal((a, b)) * np.sqrt(2 / a)), 0) if l == 1 else h @ (
        rng.standard_normal((a, b)) * np.sqrt(2 / a))
    print(f"with 0..1 inputs and He init, layer {l}: mean |activation| = {np.abs(h).mean():.3g}")

# %% [markdown] key="ch06-tool-gradcheck"
# **Tool 2, the gradient check.** Compare the trainer's back-propagated gradients with central differences on a
# tiny copy of the same network (float64, 6 -> 4 -> 5 -> 8, five examples, the report's own forward pass and
# loss). A correct backward pass agrees to ~1e-8 relative error. Two more numbers say *how* a gradient is wrong: the
# cosine between the reported and the true gradient (+1: same direction, -1: opposite) and the ratio of their sizes.
# We check the report as it is, then with each fault the check points at fixed in turn (`fixed=` switches a fault
# off in `course.clinic`).

# %%
from course.gradcheck import numerical_gradient

rng = np.random.default_rng(1)
W_t, b_t = clinic.init_report((6, 4, 5, 8), rng, scaled=True)
b_t = [bias + 0.1 for bias in b_t]
x_t, y_t = rng.random((6, 5)), rng.random((8, 5))  # (features, examples)


def tiny_loss():
    return clinic.report_loss(clinic.forward(W_t, b_t, x_t)[0][-1], y_t)


def check_report(fixed=()):
    A, Z = clinic.forward(W_t, b_t, x_t)
    dW, _ = clinic.report_backward(W_t, A, Z, y_t, fixed)
    print(f"gradient check, faults fixed: {list(fixed) or 'none'}")
    for l in range(3):
        true = numerical_gradient(lambda _: tiny_loss(), W_t[l]).T  # (n_{l-1}, n_l), as the report stores dW
        err = relative_error(dW[l], true)
        cos = float(np.sum(dW[l] * true) / (np.linalg.norm(dW[l]) * np.linalg.norm(true)))
        ratio = np.linalg.norm(dW[l]) / np.linalg.norm(true)
        print(f"  W{l + 1}: relative error {err:.2e}, cosine {cos:+.3f}, |reported| / |true| = {ratio:.3g}"
              + ("  <- wrong" if err > 1e-6 else ""))


check_report()
check_report(["sign"])
check_report(["sign", "loss_scale"])


# %% [markdown] key="ch06-read-gradcheck"
# Read the first check from the top, the output layer `W3`, where nothing has been propagated yet: cosine **-1**,
# the reported "gradient" points exactly the wrong way: with `-2 (A3 - Y)` *subtracted*, every step climbs the loss
# (gradient ascent). That is why the loss rises at every step. Its size is also **8** times too large, the number
# of outputs of the tiny net (12288 in the real one): the loss is averaged over all outputs, the gradient divided by
# `m` only. With both fixed, `W3` agrees to 1e-10, and what remains is the layers below: their cosines are far from
# +-1, because the error is sent back through `dW` instead of `W`:
# $\partial L / \partial A_{l-1} = W_l^\top\, dZ_l$, not $dW_l\, dZ_l$.
#
# **Tool 3, the live monitor and the output statistics.** The monitor above named the symptom (the loss rising,
# the outputs exploding). Three more faults are not bugs in a formula but choices, and show up in the statistics:
#
# - *ReLU on the output*: any output unit whose pre-activation goes negative outputs 0 and gets zero gradient, so it
#   can never recover; and the network cannot predict a negative value. A regression output should be linear.
#   In the monitor's list above this is `[relu_output]`: the outputs are never negative and a large share of them
#   is exactly 0. Next to it, `[init_too_large]` reads the first sample of `W1`: its weights are tens of times
#   1/sqrt(fan-in) (He is 1.41), the signature of unscaled `randn`.
# - *The bottleneck*: every prediction is `relu(W3 @ A2 + b3)` with `A2` holding only **5** numbers per example, so
#   all predicted 64x64 images lie (before the ReLU) in a 5-dimensional family. No amount of training fixes that; we
#   need a wide hidden layer (hundreds of units).
# - *The learning rate* 0.05 was chosen for nothing in particular: with raw 0..255 data the gradients are ~65,000
#   times larger than with 0..1 data, so any step size that works for one scale explodes on the other.
#
# ## 5. The fixes you write
#
# **He initialisation** (chapter 3's `init_params(..., "he")` again). `init_mlp(sizes, rng)` returns `{"W1", "b1", ..., "WL", "bL"}`. For `l = 1..L`, in this
# order: `W{l} = rng.standard_normal((sizes[l-1], sizes[l])) * sqrt(2 / sizes[l-1])` and `b{l} = np.zeros(sizes[l])`.
# The tests replay your draws with the same seed, so draw `W1`, then `W2`, ... and nothing else.

# %% nbgrader={"grade_id": "init_mlp", "schema_version": 3, "solution": true, "grade": false, "locked": false, "task": false}
def init_mlp(sizes, rng):
    """He-initialised MLP parameters for layer sizes [D0, D1, ..., DL]: W{l} (D{l-1}, D{l}), b{l} (D{l},).

    dtype: float64 arrays (what rng.standard_normal gives).
    """
    ### BEGIN SOLUTION
    params = {}
    for l in range(1, len(sizes)):
        params[f"W{l}"] = rng.standard_normal((sizes[l - 1], sizes[l])) * np.sqrt(2.0 / sizes[l - 1])
        params[f"b{l}"] = np.zeros(sizes[l])
    return params
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_init_mlp", "schema_version": 3, "solution": false, "grade": true, "locked": true, "task": false, "points": 2}
p = run(init_mlp, [10, 7, 3], np.random.default_rng(0))
assert sorted(p) == ["W1", "W2", "b1", "b2"], gettext("init_mlp([10, 7, 3]) should have keys W1, b1, W2, b2; got "
                                                        "{keys}", keys=sorted(p))
assert_shape(p["W1"], (10, 7), "W1")
assert_shape(p["b2"], (3,), "b2")
assert_close(p["b1"], np.zeros(7), "b1 (biases start at zero)")
W_big = run(init_mlp, [2000, 300], np.random.default_rng(0))["W1"]
assert 0.028 < W_big.std() < 0.035, gettext("W1 of a 2000-input layer should have std sqrt(2/2000) = 0.032, got "
                                              "{std}", std=W_big.std())
kurtosis = np.mean((W_big - W_big.mean()) ** 4) / W_big.var() ** 2
assert 2.9 < kurtosis < 3.1, gettext("W1's values have kurtosis {kurtosis:.2f}; Gaussian draws have 3 (uniform ones "
                                      "1.8): use rng.standard_normal", kurtosis=kurtosis)
# The draws replayed: W1 then W2, each standard_normal((fan_in, fan_out)) * sqrt(2 / fan_in).
p = run(init_mlp, [3, 2, 2], np.random.default_rng(0))
assert_close(p["W1"], [[0.102658, -0.107863], [0.522903, 0.085651], [-0.437372, 0.295241]],
             "init_mlp([3, 2, 2], default_rng(0))['W1']", 1e-5, 1e-6)
assert_close(p["W2"], [[1.304, 0.947081], [-0.703735, -1.265421]], "init_mlp([3, 2, 2], default_rng(0))['W2']",
             1e-5, 1e-6)
passed("init_mlp")
### BEGIN HIDDEN TESTS
from autograder.checks import check_init_mlp

check_init_mlp(init_mlp)
### END HIDDEN TESTS

# %% [markdown] key="ch06-forward-backward"
# **Forward and backward.** `mlp_loss_grads(params, x, y)` runs the network with ReLU after every hidden layer and a
# **linear** output layer, computes `loss = mean((out - y) ** 2)` over all `N * D_out` values, and returns
# `(loss, grads)` with `grads[k]` of the same shape as `params[k]`. Going back through layer `l`:
# `dW_l = h_{l-1}.T @ dz_l`, `db_l = dz_l.sum(0)`, and `dz_{l-1} = (dz_l @ W_l.T) * (z_{l-1} > 0)` (through
# **W**, not dW). The output's `dz_L = 2 (out - y) / (N * D_out)`. Any number of layers: count the `W` keys.

# %% nbgrader={"grade_id": "mlp_loss_grads", "schema_version": 3, "solution": true, "grade": false, "locked": false, "task": false}
def mlp_loss_grads(params, x, y):
    """MSE loss and gradients. x: (N, D0); y: (N, DL). Returns (loss float, grads {name: array like params}).

    dtype: loss a Python float; grads the inputs' float dtype (float32 in, float32 out).
    """
    ### BEGIN SOLUTION
    L = sum(1 for k in params if k.startswith("W"))
    acts, pre = [x], []
    for l in range(1, L + 1):
        z = acts[-1] @ params[f"W{l}"] + params[f"b{l}"]
        pre.append(z)
        acts.append(np.maximum(z, 0) if l < L else z)
    diff = acts[-1] - y
    loss = float(np.mean(diff ** 2))
    dz = 2.0 * diff / diff.size
    grads = {}
    for l in range(L, 0, -1):
        grads[f"W{l}"] = acts[l - 1].T @ dz
        grads[f"b{l}"] = dz.sum(axis=0)
        if l > 1:
            dz = (dz @ params[f"W{l}"].T) * (pre[l - 2] > 0)
    return loss, grads
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_mlp_loss_grads", "schema_version": 3, "solution": false, "grade": true, "locked": true, "task": false, "points": 4}
# Layers 6 -> 4 -> 5 -> 8; about half of the pre-activations are negative, and so are half of the targets.
rng = np.random.default_rng(2)
p = {}
for l, (d_in, d_out) in enumerate([(6, 4), (4, 5), (5, 8)], start=1):
    p[f"W{l}"], p[f"b{l}"] = rng.normal(scale=0.5, size=(d_in, d_out)), rng.normal(scale=0.1, size=d_out)
x_t, y_t = rng.normal(size=(5, 6)), rng.normal(size=(5, 8))
result = run(mlp_loss_grads, p, x_t, y_t)
assert_returns_tuple(result, 2, "mlp_loss_grads", "loss, grads")
loss_t, grads_t = result
assert_close(loss_t, 1.4628473, "the loss: mean of (out - y) ** 2 over all N * D_out values, linear output layer")
for k in p:
    assert_shape(grads_t[k], p[k].shape, gettext("grads['{k}']", k=k))
    num = np.zeros_like(p[k])
    for idx in np.ndindex(p[k].shape):
        old = p[k][idx]
        p[k][idx] = old + 1e-6
        up = mlp_loss_grads(p, x_t, y_t)[0]
        p[k][idx] = old - 1e-6
        down = mlp_loss_grads(p, x_t, y_t)[0]
        p[k][idx] = old
        num[idx] = (up - down) / 2e-6
    err = relative_error(grads_t[k], num)
    assert err < 1e-6, gettext("gradient check failed for {k}: relative error {err:.2e} (should be < 1e-6)", k=k,
                               err=err)
p32 = {k: v.astype(np.float32) for k, v in p.items()}
grads32 = run(mlp_loss_grads, p32, x_t.astype(np.float32), y_t.astype(np.float32))[1]
for k in p32:
    assert np.asarray(grads32[k]).dtype == np.float32, gettext(
        "mlp_loss_grads on a float32 network returned grads['{k}'] of dtype {dtype}: keep the inputs' dtype (float32 "
        "in, float32 out)", k=k, dtype=np.asarray(grads32[k]).dtype)
print(gettext("{name}: visible tests passed (gradient check on every parameter)", name="mlp_loss_grads"))
### BEGIN HIDDEN TESTS
from autograder.checks import check_mlp_loss_grads

check_mlp_loss_grads(mlp_loss_grads)
### END HIDDEN TESTS

# %% [markdown] key="ch06-train-step"
# **One training step.** `mlp_train_step(params, x, y, lr)` computes the loss and gradients and returns
# `(loss, new_params)`, where `loss` is the loss *before* the step and `new_params[k] = params[k] - lr * grads[k]`
# for every key. Build a new dict (don't modify the arrays you were given).

# %% nbgrader={"grade_id": "mlp_train_step", "schema_version": 3, "solution": true, "grade": false, "locked": false, "task": false}
def mlp_train_step(params, x, y, lr):
    """One gradient-descent step. Returns (loss before the step, new params dict).

    dtype: loss a Python float; the new params the inputs' float dtype (float32 in, float32 out).
    """
    ### BEGIN SOLUTION
    loss, grads = mlp_loss_grads(params, x, y)
    return loss, {k: params[k] - lr * grads[k] for k in params}
    ### END SOLUTION


# %% nbgrader={"grade_id": "test_mlp_train_step", "schema_version": 3, "solution": false, "grade": true, "locked": true, "task": false, "points": 3}
# A 3 -> 4 -> 2 network on 5 examples. run() also fails if mlp_train_step changes the arrays it was given.
rng = np.random.default_rng(3)
p = {}
for l, (d_in, d_out) in enumerate([(3, 4), (4, 2)], start=1):
    p[f"W{l}"], p[f"b{l}"] = rng.normal(scale=0.5, size=(d_in, d_out)), rng.normal(scale=0.1, size=d_out)
x_s, y_s = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
result = run(mlp_train_step, p, x_s, y_s, 0.1)
assert_returns_tuple(result, 2, "mlp_train_step", "loss, new_params")
loss_s, new_p = result
assert_close(loss_s, 0.99700045, "the loss returned (the loss BEFORE the step)")
expected_new = {"W1": [[1.019494, -1.278569, 0.174743, -0.289871], [-0.238361, -0.125095, -0.88451, -0.126374],
                       [-0.42727, 1.666582, 0.082527, -0.174591]],
                "b1": [-0.030439, -0.059226, -0.172746, -0.032843],
                "W2": [[0.210123, -0.177363], [0.484367, -0.181144], [-0.007894, 0.604715], [0.273675, -0.26074]],
                "b2": [-0.042952, -0.003904]}
for k, want in expected_new.items():
    assert_close(new_p[k], want, gettext("new_params['{k}'] (params - lr * grads, for every key)", k=k), 1e-5, 2e-6)
losses_s = []
for _ in range(10):
    loss_s, p = run(mlp_train_step, p, x_s, y_s, 0.1)
    losses_s.append(float(loss_s))
assert np.all(np.isfinite(losses_s)), gettext("the loss should stay finite, got {losses}", losses=losses_s)
assert all(b < a for a, b in zip(losses_s, losses_s[1:])), gettext("the loss should fall every step, got {losses}",
                                                                     losses=losses_s)
new32 = run(mlp_train_step, {k: np.asarray(v, np.float32) for k, v in p.items()}, x_s.astype(np.float32),
            y_s.astype(np.float32), 0.1)[1]
for k in new32:
    assert np.asarray(new32[k]).dtype == np.float32, gettext(
        "mlp_train_step on a float32 network returned new params['{k}'] of dtype {dtype}: keep the inputs' dtype "
        "(float32 in, float32 out)", k=k, dtype=np.asarray(new32[k]).dtype)
print(gettext("{name}: visible tests passed; losses", name="mlp_train_step"), np.round(losses_s, 4))
### BEGIN HIDDEN TESTS
from autograder.checks import check_mlp_train_step

check_mlp_train_step(mlp_train_step)
### END HIDDEN TESTS

# %% [markdown] key="ch06-fixing"
# ### Fixing the trainer step by step
#
# Now replay the report's trainer on the same 64 crops, same seed, fixing **one fault at a time** (sign error
# first), and see what each fix buys. Once the error is sent back through `W`, the trainer uses your
# `mlp_loss_grads` (until the scale fault is fixed, times 12288, as the report's code effectively did). Losses are
# shown on the 0..1 scale (raw losses divided by 255^2) so that the rows compare.

# %%
FIXES = [
    ("sign", "fix 1: descend (the sign of dZ3)"),
    ("relu_output", "fix 2: a linear output layer"),
    ("through_dW", "fix 3: back through W (your mlp_loss_grads)"),
    ("raw_inputs", "fix 4: inputs and targets in 0..1"),
    ("randn_init", "fix 5: He initialisation"),
    ("loss_scale", "fix 6: gradients of the loss we print (/ m*12288)"),
]
y_clinic = clinic_hr.reshape(64, -1).astype(np.float64)
print(f"(loss of predicting a black image: {np.mean(y_clinic ** 2):.4f}; "
      f"of predicting the mean crop: {np.mean((y_clinic - y_clinic.mean(axis=0)) ** 2):.4f})")
fixed = []
for fault, label in [(None, "the report (all six faults)")] + FIXES:
    if fault:
        fixed.append(fault)
    run_h = clinic.train_report(clinic_lr, clinic_hr, clinic_steps, fixed=fixed, seed=CLINIC_SEED,
                                grads_fn=mlp_loss_grads)
    to_unit = 1.0 if "raw_inputs" in fixed else 255.0 ** -2
    ls = np.array(run_h["loss"]) * to_unit
    up = int(np.sum(np.diff(ls) > 0))
    print(f"{label:50s} loss {ls[0]:9.3g} -> {ls[-1]:9.3g}, rose on {up:2d}/{len(ls) - 1} steps, "
          f"largest |prediction| {run_h['max_abs_output'][-1] * to_unit ** 0.5:8.3g}, "
          f"dead outputs {run_h['dead_outputs'][-1]:.0%}")
    if fault == "sign":
        print(f"RESULT ch06.clinic_sign_fixed_loss_rises={up}")
print(f"RESULT ch06.clinic_all_fixed_lr005_loss={ls[-1]:.4f}")


# %% [markdown] key="ch06-fix-effects"
# What each fix bought: fixing the **sign** stops the climb at once (no step rises), but the first step now pushes
# almost every output unit below zero, and the ReLU output keeps them there: the loss sits at the loss of a black
# image. A **linear output** lets them come back, and the loss falls at every step. Sending the error **back through
# W** changes the curve very little here, though the gradient check says it was badly wrong: behind the 4-5
# bottleneck the lower layers hardly matter yet, so the loss alone would never have found this fault. **0..1 data**
# alone changes nothing you can see on the 0..1 scale (a ReLU network with zero biases scales its output with its
# input), but **He initialisation** then makes the first loss small (1.8 instead of thousands) and the predictions
# sane from the first step. And fixing the **scale** makes the steps 12288 times smaller: the wrong scale had been acting as a
# 12288x larger learning rate, and with lr 0.05 on the correct gradient nothing moves. The learning rate has to be
# chosen for the loss we actually minimise, and the bottleneck has to go:

# %%
def run_fixed(x, y, sizes, lr, steps, seed=0):
    params = init_mlp(sizes, np.random.default_rng(seed))
    losses = []
    with np.errstate(all="ignore"):
        for _ in range(steps):
            loss, params = mlp_train_step(params, x, y, lr)
            losses.append(loss)
            if not np.isfinite(loss):
                break
    return losses, params


steps_clinic = 4 if QUICK else 200
x_unit, y_unit = clinic_lr.reshape(64, -1), clinic_hr.reshape(64, -1)
rows = [
    ("all six fixed, 768 -> 4 -> 5 -> 12288, lr 0.05",
     run_fixed(x_unit, y_unit, [768, 4, 5, 12288], 0.05, steps_clinic)[0]),
    ("+ a wide hidden layer 768 -> 256 -> 12288, lr 0.05",
     run_fixed(x_unit, y_unit, [768, 256, 12288], 0.05, steps_clinic)[0]),
    ("+ a learning rate suited to this loss, lr 100",
     run_fixed(x_unit, y_unit, [768, 256, 12288], 100.0, steps_clinic)[0]),
]
for name, ls in rows:
    print(f"{name:72s} first loss {ls[0]:10.4g}  last loss {ls[-1]:10.4g}  ({len(ls)} steps)")

# %% [markdown] key="ch06-why-lr-100"
# Why lr 100? The loss averages over all `64 * 12288` values, so every gradient is tiny and plain gradient descent
# needs a big step (Adam, used below, rescales each parameter's step and does not care).
#
# **The bottleneck, measured without training.** Every output of the 4-5 network is `h2 @ W3 + b3` with `h2` of
# length 5, so its predictions lie in a 5-dimensional plane (before the ReLU). The best any such network can do is
# the best rank-5 approximation of the targets, which the SVD gives us directly:

# %%
sample = data["hr_train"][:: max(1, len(data["hr_train"]) // 800)].reshape(-1, 12288).astype(np.float64)
centred = sample - sample.mean(axis=0)
energy = np.linalg.svd(centred, compute_uv=False) ** 2
total = energy.sum() / centred.size
for rank in (5, 64, 256):
    floor = (energy.sum() - energy[:rank].sum()) / centred.size
    print(f"best possible with {rank:3d} hidden units: MSE {floor:.5f}  (PSNR {10 * np.log10(1 / floor):.1f} dB; "
          f"predicting the mean crop: {10 * np.log10(1 / total):.1f} dB)")


# %% [markdown] key="ch06-train-fixed"
# ## 6. Training the fixed network and comparing with interpolation
#
# The fixed network is a plain MLP 768 -> 256 -> 12288 with one change that helps a lot: it predicts the
# **correction** to the bilinear upsampling (`y = hr - upsample_bilinear(lr)`), so at the start it already matches
# bilinear and the training only has to learn the missing detail. We train with mini-batches of 64 crops (each
# batch flipped/rotated at random) using Adam on the gradients from your `mlp_loss_grads`; the monitor shows the loss
# live. The browser draws its plots (the kernel sends only new points and histogram counts, also for the
# 256 x 12288 weights), within the 5% of the loop's time the monitor aims for; the line under each monitor says
# what it cost.

# %%
def random_batch(rng, lr_imgs, hr_imgs, batch):
    """A random mini-batch, flipped/rotated by one of the 8 symmetries of the square (more data for free).

    Returns x (batch, 768) inputs centred on 0 and y (batch, 12288) = hr - upsample_bilinear(lr), float32.
    """
    idx = rng.integers(0, len(lr_imgs), batch)
    t = int(rng.integers(8))
    lr_b, hr_b = dihedral(lr_imgs[idx], t), dihedral(hr_imgs[idx], t)
    x = (lr_b.reshape(batch, -1) - 0.5).astype(np.float32)
    y = (hr_b - upsample_bilinear(lr_b, 4)).reshape(batch, -1).astype(np.float32)
    return x, y


def train_adam(params, next_batch, steps, base_lr, title):
    """Adam with a cosine-decaying step size on the gradients of your mlp_loss_grads, updating `params` in place,
    for exactly `steps` steps (or until the monitor's Stop button)."""
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v = {k: np.zeros_like(v) for k, v in params.items()}
    t0 = time.time()
    with TrainingMonitor(title, metrics=["loss"], log_scale=True) as mon:
        for step in range(1, steps + 1):
            x_b, y_b = next_batch()
            loss, grads = mlp_loss_grads(params, x_b, y_b)
            lr_now = base_lr * 0.5 * (1 + np.cos(np.pi * step / steps))
            for k in params:
                m[k] = 0.9 * m[k] + 0.1 * grads[k]
                v[k] = 0.999 * v[k] + 0.001 * grads[k] ** 2
                params[k] -= lr_now * (m[k] / (1 - 0.9 ** step)) / (np.sqrt(v[k] / (1 - 0.999 ** step)) + 1e-8)
            if mon.update(step, loss=loss, params=params, grads=grads):
                break
    print(f"trained {step} steps in {time.time() - t0:.1f} s")


rng = np.random.default_rng(0)
params = {k: v.astype(np.float32) for k, v in init_mlp([768, 256, 12288], rng).items()}
params["W2"] *= 0.1  # the correction starts near zero
steps, base_lr = (5, 1e-3) if QUICK else (800, 1e-3)
train_adam(params, lambda: random_batch(rng, data["lr_train"], data["hr_train"], 64), steps, base_lr,
           "global MLP 768 -> 256 -> 12288 (correction to bilinear)")


def mlp_upsample(params, lr_imgs):
    """The trained network's 64x64 prediction for (N, 16, 16, 3) inputs, clipped to 0..1."""
    x = (lr_imgs.reshape(len(lr_imgs), -1) - 0.5).astype(np.float32)
    h = np.maximum(x @ params["W1"] + params["b1"], 0)
    corr = (h @ params["W2"] + params["b2"]).reshape(len(lr_imgs), 64, 64, 3)
    return np.clip(upsample_bilinear(lr_imgs, 4) + corr, 0.0, 1.0)


results = dict(baselines)
results["global MLP"] = mlp_upsample(params, lr_test)
for name, pred in results.items():
    print(f"{name:18s} PSNR on the held-out photos: {psnr(pred, hr_test, 1.0):.2f} dB")

# %% [markdown] key="ch06-vs-bicubic"
# Compare the global MLP with bicubic honestly: it is no better (on these photos, about half a decibel *worse*). It has
# 3.3 million weights and only a few thousand training crops from four photos, and it has no notion that the same
# edge can appear anywhere in the image: the weights that sharpen an edge at the top-left corner know nothing
# about an edge at the centre, so every position is learned separately from few examples.
#
# ## 7. Sharing the weights: one small MLP for every 4x4 block
#
# Each 4x4 block of the output depends mostly on the few low-res pixels around it. So use **one small MLP for every
# block**: its input is the 5x5 neighbourhood of the block's own low-res pixel (`5 * 5 * 3 = 75` numbers), its
# output the block's correction to bilinear (`4 * 4 * 3 = 48` numbers), and the same weights serve all 256 blocks
# of an image. It is still a 16x16 -> 64x64 upsampler built from your `init_mlp` and `mlp_loss_grads`, but every
# crop now gives 256 training examples instead of one, and an edge learned anywhere works everywhere.
# (A weight-shared layer that slides over the image is exactly chapter 5's convolution.)
#
# `course.superres` has the bookkeeping: `neighbourhoods(lr, 5)` gives every low-res pixel's 5x5 neighbourhood,
# `to_blocks(hr, 4)` / `from_blocks(blocks, 4)` cut a 64x64 image into its 16x16 grid of 4x4 blocks and back, and
# `dihedral(images, t)` applies one of the 8 flips/rotations of the square.

# %%
K = 5  # neighbourhood size in low-res pixels


def random_block_batch(rng, lr_imgs, hr_imgs, crops=4):
    """All 256 blocks of `crops` random crops (one random flip/rotation): x (crops*256, 75), y (crops*256, 48)."""
    idx = rng.integers(0, len(lr_imgs), crops)
    t = int(rng.integers(8))
    lr_b, hr_b = dihedral(lr_imgs[idx], t), dihedral(hr_imgs[idx], t)
    x = neighbourhoods(lr_b, K).reshape(-1, K * K * 3) - 0.5
    y = (to_blocks(hr_b, 4) - to_blocks(upsample_bilinear(lr_b, 4), 4)).reshape(-1, 48)
    return x.astype(np.float32), y.astype(np.float32)


x_demo, y_demo = random_block_batch(np.random.default_rng(1), data["lr_train"], data["hr_train"])
print("one batch:", x_demo.shape, y_demo.shape)

rng = np.random.default_rng(0)
shared = {k: v.astype(np.float32) for k, v in init_mlp([K * K * 3, 256, 48], rng).items()}
shared["W2"] *= 0.1
steps, base_lr = (5, 2e-3) if QUICK else (8000, 2e-3)
train_adam(shared, lambda: random_block_batch(rng, data["lr_train"], data["hr_train"]), steps, base_lr,
           "shared block MLP 75 -> 256 -> 48 (correction to bilinear)")


def shared_upsample(params, lr_imgs):
    """The shared block MLP applied to every block of (N, 16, 16, 3) inputs: (N, 64, 64, 3), clipped to 0..1."""
    x = (neighbourhoods(lr_imgs, K).reshape(-1, K * K * 3) - 0.5).astype(np.float32)
    h = np.maximum(x @ params["W1"] + params["b1"], 0)
    corr = from_blocks((h @ params["W2"] + params["b2"]).reshape(len(lr_imgs), 16, 16, 48), 4)
    return np.clip(upsample_bilinear(lr_imgs, 4) + corr, 0.0, 1.0)


def shared_upsample_x8(params, lr_imgs):
    """Self-ensemble: average the predictions for the 8 flips/rotations of the input, each turned back."""
    return np.mean([undihedral(shared_upsample(params, dihedral(lr_imgs, t)), t) for t in range(8)], axis=0)


results["shared MLP"] = shared_upsample(shared, lr_test)
results["shared MLP x8"] = shared_upsample_x8(shared, lr_test)
bicubic_db = psnr(results["bicubic (Pillow)"], hr_test, 1.0)
scores = {name: psnr(pred, hr_test, 1.0) for name, pred in results.items()}
for name, score in scores.items():
    print(f"{name:18s} PSNR on the held-out photos: {score:.2f} dB  ({score - bicubic_db:+.2f} dB vs bicubic)")


# %% [markdown] key="ch06-nonlinearity"
# **Does the MLP earn its non-linearity?** Take away the ReLU and the shared block MLP becomes a linear map from the
# 75 numbers of a 5x5 neighbourhood to the 48 numbers of the block's correction. The best such map has a closed form:
# ridge regression (least squares with a small penalty `lam` on the weights; `lam = 1e-4` is fixed in advance,
# not tuned on the test photos). We fit it on every block of every training crop, in all 8
# flips/rotations, accumulating `X^T X` and `X^T Y` one symmetry at a time.

# %%
def block_features(lr_imgs):
    """(N, 16, 16, 3) -> (N * 256, 76): each block's 5x5 neighbourhood, centred, and a constant 1 (the bias)."""
    x = neighbourhoods(lr_imgs, K).reshape(-1, K * K * 3).astype(np.float64) - 0.5
    return np.hstack([x, np.ones((len(x), 1))])


t0 = time.time()
fit = slice(None, None, 16) if QUICK else slice(None)  # under the grader: every 16th crop
xtx, xty, count = np.zeros((76, 76)), np.zeros((76, 48)), 0
for t in range(8):
    lr_t, hr_t = dihedral(data["lr_train"][fit], t), dihedral(data["hr_train"][fit], t)
    feats = block_features(lr_t)
    target = (to_blocks(hr_t, 4) - to_blocks(upsample_bilinear(lr_t, 4), 4)).reshape(-1, 48)
    xtx += feats.T @ feats
    xty += feats.T @ target
    count += len(feats)
lam = 1e-4
ridge_w = np.linalg.solve(xtx + lam * count * np.diag([1.0] * 75 + [0.0]), xty)
ridge_corr = (block_features(lr_test) @ ridge_w).reshape(len(lr_test), 16, 16, 48)
results["ridge (linear)"] = np.clip(upsample_bilinear(lr_test, 4) + from_blocks(ridge_corr, 4), 0.0, 1.0)
scores["ridge (linear)"] = psnr(results["ridge (linear)"], hr_test, 1.0)
print(f"ridge regression fitted on {count} blocks in {time.time() - t0:.1f} s")
for name in ("bicubic (Pillow)", "ridge (linear)", "shared MLP", "shared MLP x8"):
    print(f"{name:18s} {scores[name]:.2f} dB  ({scores[name] - bicubic_db:+.2f} dB vs bicubic, "
          f"{scores[name] - scores['ridge (linear)']:+.2f} dB vs ridge)")
for key, name in [("bicubic", "bicubic (Pillow)"), ("ridge", "ridge (linear)"), ("global_mlp", "global MLP"),
                  ("shared_mlp", "shared MLP"), ("shared_mlp_x8", "shared MLP x8")]:
    print(f"RESULT ch06.psnr_{key}_db={scores[name]:.2f}")
for key, name in [("ridge", "ridge (linear)"), ("shared_mlp", "shared MLP"), ("shared_mlp_x8", "shared MLP x8")]:
    print(f"RESULT ch06.psnr_gain_{key}_vs_bicubic_db={scores[name] - bicubic_db:+.2f}")
print(f"RESULT ch06.psnr_gain_shared_mlp_vs_ridge_db={scores['shared MLP'] - scores['ridge (linear)']:+.2f}")

# %%
show = np.linspace(0, len(hr_test) - 1, 3).astype(int)
columns = [("low-res (16x16)", upsample_nearest(lr_test, 4)), ("bilinear", results["bilinear"]),
           ("bicubic (Pillow)", results["bicubic (Pillow)"]), ("ridge (linear)", results["ridge (linear)"]),
           ("global MLP", results["global MLP"]), ("shared MLP x8", results["shared MLP x8"]),
           ("ground truth", hr_test)]
fig, axes = plt.subplots(len(show), len(columns), figsize=(2.2 * len(columns), 2.3 * len(show)))
for r, i in enumerate(show):
    for c, (name, imgs) in enumerate(columns):
        ax = axes[r, c]
        ax.imshow(np.clip(imgs[i], 0, 1))
        score = "" if name == "ground truth" else f"\n{psnr(imgs[i], hr_test[i], 1.0):.1f} dB"
        ax.set_title(f"{name}{score}" if r == 0 else score.strip(), fontsize=8)
        ax.axis("off")
fig.suptitle(f"held-out photos ({', '.join(TEST_PHOTOS)})", fontsize=10)
plt.tight_layout()
plt.show()

# %% [markdown] key="ch06-summary"
# ## What you found
#
# - The reported trainer climbed its loss because of a sign error: `-2 (A3 - Y)` subtracted is gradient ascent.
#   The gradient check shows it at once (cosine -1 on the output layer), together with the two other formula faults
#   (a gradient 12288 times the printed loss's, and the error sent back through `dW`). Scale checks find the raw
#   0..255 data and the unscaled `randn`; the monitor and the output statistics find the dead ReLU outputs. Fixed
#   one at a time, each fault changes the run in its own way, and some (back through `dW`) hardly change the loss
#   curve at all: only the gradient check finds them.
# - A global MLP has no notion that the same edge can appear anywhere in the image: it must learn every position
#   separately, from few photos, and it does not beat bicubic here.
# - The same kind of MLP, shared across the 4x4 blocks of the image, learns from every position of every crop and
#   beats Pillow's bicubic on photos it has never seen. But look at the ridge row before you credit the ReLU: a
#   purely *linear* map from the same 5x5 neighbourhood already gets most of the way, and on these photos the
#   non-linear MLP's margin over it (printed above as `psnr_gain_shared_mlp_vs_ridge_db`) is well short of the
#   0.3 dB we aimed for. With a few thousand crops from four photos and a few thousand steps, most of what can be
#   learned here is linear. Sharing a small filter across positions is exactly what the convolutional layers of
#   chapter 5 do, and real super-resolution networks earn their non-linearity with many layers and far more data.
