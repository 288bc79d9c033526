"""Chapter 6 beyond the generic checks: the super-resolution data (split by photo, Kodak fixture), the bilinear
convention against Pillow, and the clinic (the reported faults blow up, the fixed step trains)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from autograder.chapters.ch06_superres_mlp import reference as ref
from autograder.chapters.ch06_superres_mlp import wrong as wrong
from course.data import SR_PHOTOS, TEST_PHOTOS, TRAIN_PHOTOS, box_downsample, load_photo, load_superres


@pytest.fixture(scope="module")
def photos():
    return load_superres("photos")


def test_photos_are_bundled_and_rgb():
    for name in SR_PHOTOS:
        img = load_photo(name)
        assert img.ndim == 3 and img.shape[2] == 3 and img.dtype == np.uint8 and min(img.shape[:2]) >= 64


def test_photo_split_is_by_photo(photos):
    train, test = set(photos["photo_train"]), set(photos["photo_test"])
    assert train == set(TRAIN_PHOTOS) and test == set(TEST_PHOTOS)
    assert not train & test
    assert len(photos["hr_train"]) > 1000 and len(photos["hr_test"]) > 100


def test_photo_shapes_ranges_and_box_inputs(photos):
    for split in ("train", "test"):
        hr, lr = photos[f"hr_{split}"], photos[f"lr_{split}"]
        assert hr.shape[1:] == (64, 64, 3) and lr.shape == (len(hr), 16, 16, 3)
        assert hr.dtype == lr.dtype == np.float32
        assert 0.0 <= hr.min() and hr.max() <= 1.0
        np.testing.assert_allclose(lr, ref.downsample_box(hr.astype(np.float64), 4), atol=1e-6)
    # no training crop equals a test crop
    a = photos["hr_train"].reshape(len(photos["hr_train"]), -1)[:, :64]
    b = photos["hr_test"].reshape(len(photos["hr_test"]), -1)[:, :64]
    assert not (set(map(bytes, a)) & set(map(bytes, b)))


def test_load_superres_rejects_bad_arguments():
    with pytest.raises(ValueError, match="source"):
        load_superres("imagenet")
    with pytest.raises(ValueError, match="multiples"):
        box_downsample(np.zeros((1, 10, 8, 3)), 4)


def test_kodak_fixture_split_by_image(fixtures_env):
    data = load_superres("kodak")
    assert data["hr_train"].shape == (1920, 64, 64, 3) and data["lr_test"].shape == (384, 16, 16, 3)
    assert set(data["photo_train"].tolist()) == set(range(1, 21))
    assert set(data["photo_test"].tolist()) == {21, 22, 23, 24}


def test_kodak_without_fixtures_says_how(monkeypatch):
    monkeypatch.delenv("COURSE_DATA_FIXTURES", raising=False)
    with pytest.raises(FileNotFoundError, match="COURSE_DATA_FIXTURES"):
        load_superres("kodak")


def test_bilinear_convention_matches_pillow():
    """Our align_corners=False + edge clamping equals Pillow's BILINEAR upsampling (an independent implementation)."""
    rng = np.random.default_rng(0)
    lr = rng.random((1, 5, 7, 1)).astype(np.float32)
    ours = ref.upsample_bilinear(lr, 4)[0, :, :, 0]
    pil = np.asarray(Image.fromarray(lr[0, :, :, 0], mode="F").resize((28, 20), Image.BILINEAR))
    np.testing.assert_allclose(ours, pil, atol=1e-5)
    corners = wrong.upsample_bilinear_align_corners(lr, 4)[0, :, :, 0]
    assert np.abs(corners - pil).max() > 1e-2


CLINIC_SEED = 2  # the seed chapter 6's clinic runs


def _rises(losses) -> int:
    return int(np.sum(np.diff(np.asarray(losses)) > 0))


@pytest.fixture(scope="module")
def clinic_crops(photos):
    return photos["lr_train"][:64], photos["hr_train"][:64]


@pytest.mark.parametrize("seed", [1, CLINIC_SEED, 3])
def test_clinic_reconstruction_loss_rises_with_the_faults(clinic_crops, seed):
    """The report's trainer as reconstructed (course.clinic, all faults): the loss rises on >= 80% of its first 20
    steps and the predictions grow far beyond 0..255; fixing only the sign error stops the rise."""
    from course.clinic import train_report

    faulty = train_report(*clinic_crops, 20, seed=seed)
    assert len(faulty["loss"]) == 20 and np.all(np.isfinite(faulty["loss"])), faulty["loss"]
    assert _rises(faulty["loss"]) >= 0.8 * 19, faulty["loss"]
    assert faulty["max_abs_output"][-1] > 1e3 and faulty["loss"][-1] > 1e5, faulty["max_abs_output"]
    sign_fixed = train_report(*clinic_crops, 20, fixed=["sign"], seed=seed)
    assert _rises(sign_fixed["loss"]) == 0, sign_fixed["loss"]


def test_clinic_predictions_reach_millions_in_the_notebooks_run(clinic_crops):
    from course.clinic import train_report

    faulty = train_report(*clinic_crops, 60, seed=CLINIC_SEED)
    assert _rises(faulty["loss"]) >= 0.95 * 59 and faulty["max_abs_output"][-1] > 1e6, faulty["max_abs_output"][-5:]


def test_clinic_loss_falls_after_the_fixes(clinic_crops):
    """All six faults fixed one by one (the last ones with the correct gradient, the reference mlp_loss_grads):
    the loss falls at every step; with a step size suited to the correct gradient it reaches the mean-crop loss."""
    from course.clinic import FAULTS, train_report

    fixed = []
    for fault in FAULTS:
        fixed.append(fault)
        run_h = train_report(*clinic_crops, 20, fixed=fixed, seed=CLINIC_SEED, grads_fn=ref.mlp_loss_grads)
        assert np.all(np.isfinite(run_h["loss"])) and run_h["loss"][-1] < run_h["loss"][0], (fixed, run_h["loss"])
        assert _rises(run_h["loss"]) == 0, (fixed, run_h["loss"])
    assert run_h["loss"][0] < 5 and run_h["max_abs_output"][-1] < 10, run_h
    tuned = train_report(*clinic_crops, 20, fixed=FAULTS, seed=CLINIC_SEED, grads_fn=ref.mlp_loss_grads,
                         alpha=0.05 * 12288)
    y = clinic_crops[1].reshape(64, -1).astype(np.float64)
    assert _rises(tuned["loss"]) == 0 and tuned["loss"][-1] < 1.2 * np.mean((y - y.mean(axis=0)) ** 2), tuned["loss"]


def test_clinic_refuses_the_correct_gradient_before_the_formula_faults(clinic_crops):
    from course.clinic import train_report

    with pytest.raises(ValueError, match="grads_fn"):
        train_report(*clinic_crops, 1, fixed=["sign", "relu_output", "through_dW"])
    with pytest.raises(ValueError, match="relu_output"):
        train_report(*clinic_crops, 1, fixed=["sign", "through_dW"], grads_fn=ref.mlp_loss_grads)
    with pytest.raises(ValueError, match="unknown"):
        train_report(*clinic_crops, 1, fixed=["typo"])


def test_clinic_gradient_check_points_at_each_formula_fault():
    """On a tiny copy, the report's backward pass: W3 opposite (sign) and D_out times too large (loss scale);
    with both fixed, W3 is exact and only the layers below (back through dW) are wrong."""
    from course.clinic import forward, init_report, report_backward, report_loss
    from course.gradcheck import numerical_gradient, relative_error

    rng = np.random.default_rng(1)
    W, b = init_report((6, 4, 5, 8), rng, scaled=True)
    b = [v + 0.1 for v in b]
    x, y = rng.random((6, 5)), rng.random((8, 5))
    true = [numerical_gradient(lambda _: report_loss(forward(W, b, x)[0][-1], y), W[l]).T for l in range(3)]
    A, Z = forward(W, b, x)
    dW, _ = report_backward(W, A, Z, y)
    np.testing.assert_allclose(dW[2], -8 * true[2], rtol=1e-6, atol=1e-12)
    dW, _ = report_backward(W, A, Z, y, fixed=["sign", "loss_scale"])
    assert relative_error(dW[2], true[2]) < 1e-8
    assert relative_error(dW[0], true[0]) > 0.1 and relative_error(dW[1], true[1]) > 0.1


def test_monitor_names_the_real_cause_of_the_clinic_failure(clinic_crops):
    """The monitor fed by the faulty run (as in the notebook) says the loss rises / the outputs explode or die,
    never that the weights do not change (they change enormously)."""
    from course.clinic import train_report
    from course.monitor import TrainingMonitor

    mon = TrainingMonitor("the reported trainer", metrics=["loss"], log_scale=True, mode="static")
    train_report(*clinic_crops, 60, seed=CLINIC_SEED, monitor=mon)
    codes = {d.code for d in mon.diagnoses}
    assert "loss_rising" in codes, [(d.code, d.message) for d in mon.diagnoses]
    assert codes & {"outputs_exploding", "outputs_dead", "not_finite"}, codes
    assert "weights_not_changing" not in codes and "vanishing_gradients" not in codes, codes


def test_fixed_step_trains_on_photos(photos):
    """The fixed pieces on real crops (0..1, He init, linear output, wide layer): finite, falling loss."""
    x = photos["lr_train"][:64].reshape(64, -1).astype(np.float64)
    y = photos["hr_train"][:64].reshape(64, -1).astype(np.float64)
    params = ref.init_mlp([768, 64, 12288], np.random.default_rng(0))
    losses = []
    for _ in range(8):
        loss, params = ref.mlp_train_step(params, x, y, 0.5)
        losses.append(loss)
    assert np.all(np.isfinite(losses)) and all(b < a for a, b in zip(losses, losses[1:])), losses
    assert losses[-1] < 0.5 * losses[0]


def test_block_helpers_round_trip_and_neighbourhood_layout():
    from course.superres import dihedral, from_blocks, neighbourhoods, to_blocks, undihedral

    rng = np.random.default_rng(3)
    hr = rng.random((2, 8, 12, 3)).astype(np.float32)
    blocks = to_blocks(hr, 4)
    assert blocks.shape == (2, 2, 3, 48)
    np.testing.assert_array_equal(blocks[1, 1, 2].reshape(4, 4, 3), hr[1, 4:8, 8:12])
    np.testing.assert_array_equal(from_blocks(blocks, 4), hr)
    lr = rng.random((2, 4, 5, 3)).astype(np.float32)
    nb = neighbourhoods(lr, 3).reshape(2, 4, 5, 3, 3, 3)
    np.testing.assert_array_equal(nb[:, :, :, 1, 1], lr)  # the centre is the pixel itself
    np.testing.assert_array_equal(nb[:, 1:, :, 0, 1], lr[:, :-1])  # row offset -1 is the pixel above
    np.testing.assert_array_equal(nb[:, 0, :, 0, 1], lr[:, 0])  # edge repeated
    for t in range(8):
        np.testing.assert_array_equal(undihedral(dihedral(hr, t), t), hr)
    assert len({dihedral(hr[:, :8, :8], t).tobytes() for t in range(8)}) == 8
    with pytest.raises(ValueError, match="odd"):
        neighbourhoods(lr, 4)
    with pytest.raises(ValueError, match="multiples"):
        to_blocks(hr[:, :7], 4)


def test_shared_block_mlp_beats_bilinear_on_held_out_photos(photos):
    """Section 7 in miniature: a short Adam run of the shared block MLP already beats bilinear on unseen photos."""
    from course.superres import dihedral, from_blocks, neighbourhoods, to_blocks

    rng = np.random.default_rng(0)
    params = {k: v.astype(np.float32) for k, v in ref.init_mlp([75, 64, 48], rng).items()}
    params["W2"] *= 0.1
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v = {k: np.zeros_like(v) for k, v in params.items()}
    lr_imgs, hr_imgs = photos["lr_train"], photos["hr_train"]
    for step in range(1, 801):
        idx, t = rng.integers(0, len(lr_imgs), 4), int(rng.integers(8))
        lr_b, hr_b = dihedral(lr_imgs[idx], t), dihedral(hr_imgs[idx], t)
        x = (neighbourhoods(lr_b, 5).reshape(-1, 75) - 0.5).astype(np.float32)
        y = (to_blocks(hr_b, 4) - to_blocks(ref.upsample_bilinear(lr_b, 4), 4)).reshape(-1, 48).astype(np.float32)
        _, grads = ref.mlp_loss_grads(params, x, y)
        for k in params:
            m[k] = 0.9 * m[k] + 0.1 * grads[k]
            v[k] = 0.999 * v[k] + 0.001 * grads[k] ** 2
            params[k] -= 2e-3 * (m[k] / (1 - 0.9 ** step)) / (np.sqrt(v[k] / (1 - 0.999 ** step)) + 1e-8)
    lr_t, hr_t = photos["lr_test"], photos["hr_test"]
    h = np.maximum((neighbourhoods(lr_t, 5).reshape(-1, 75) - 0.5) @ params["W1"] + params["b1"], 0)
    pred = ref.upsample_bilinear(lr_t, 4) + from_blocks((h @ params["W2"] + params["b2"]).reshape(-1, 16, 16, 48), 4)
    bilinear = ref.psnr(ref.upsample_bilinear(lr_t, 4), hr_t, 1.0)
    score = ref.psnr(np.clip(pred, 0, 1), hr_t, 1.0)
    assert score > bilinear + 0.3, (score, bilinear)
