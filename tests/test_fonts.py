"""Plot labels in Chinese need a CJK font (course/fonts.py): picked when installed, English labels when not, never
tofu boxes (matplotlib warns "Glyph ... missing from font(s)" when it draws one)."""

from __future__ import annotations

import io
import warnings

import pytest

from course import fonts
from course.i18n import current

LABEL = "损失 (loss)"


def draw(label: str) -> list[str]:
    """Draw ``label`` as a title and save the figure; the missing-glyph warnings matplotlib gave."""
    from matplotlib.figure import Figure

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = Figure(figsize=(2, 1))
        fig.add_subplot().set_title(label)
        fig.savefig(io.BytesIO(), format="png")
    return [str(w.message) for w in caught if "missing from" in str(w.message)]


def test_pick_prefers_simplified_chinese_and_finds_none_without_cjk():
    assert fonts.pick({"DejaVu Sans", "Noto Sans CJK JP", "Noto Sans CJK SC"}) == "Noto Sans CJK SC"
    assert fonts.pick({"DejaVu Sans", "WenQuanYi Zen Hei"}) == "WenQuanYi Zen Hei"
    assert fonts.pick({"DejaVu Sans", "Liberation Serif"}) is None


def test_language_falls_back_to_english_only_for_cjk_without_a_font():
    assert fonts.plot_language("zh_CN", font=None) == "en"
    assert fonts.plot_language("zh_CN", font="Noto Sans CJK SC") == "zh_CN"
    assert fonts.plot_language("en", font=None) == "en"
    assert fonts.needs_cjk("zh_CN") and fonts.needs_cjk("ja") and not fonts.needs_cjk("de")


def test_without_a_cjk_font_the_labels_are_english():
    with fonts.plot_text("zh_CN", font=None) as lang:
        assert lang == "en" and current() == "en"  # every message drawn inside is English
    assert not draw("loss")


def test_default_font_draws_tofu_for_chinese():
    """The failure the module exists for: without the CJK font, Chinese glyphs are missing (so the check below can
    fail)."""
    assert draw(LABEL)


def test_with_the_cjk_font_chinese_labels_have_every_glyph():
    font = fonts.cjk_font()
    if font is None:
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk; .ci/system-deps does)")
    with fonts.plot_text("zh_CN") as lang:
        assert lang == "zh_CN" and current() == "zh_CN"
        assert not draw(LABEL)
    assert draw(LABEL)  # the font is only added inside the block


def monitor_pngs(monkeypatch, font) -> list[str]:
    """Missing-glyph warnings while a Chinese learner's monitor draws its curves and histograms (``font``: the CJK
    font the machine has, or None)."""
    import numpy as np

    from course.monitor import TrainingMonitor

    monkeypatch.setenv("COURSE_LANG", "zh_CN")
    monkeypatch.setattr(fonts, "cjk_font", lambda: font)
    rng = np.random.default_rng(0)
    params = {"W1": rng.normal(size=(4, 3)), "W2": rng.normal(size=(3, 1))}
    mon = TrainingMonitor(metrics=["loss"], mode="off", x_label="step")
    for step in range(5):
        grads = {k: 0.1 * rng.normal(size=v.shape) for k, v in params.items()}
        mon.update(step, loss=1.0 / (step + 1), accuracy=0.2 * step, params=params, grads=grads)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert mon.render_png()[:4] == mon.render_histograms_png()[:4] == b"\x89PNG"
    return [str(w.message) for w in caught if "missing from" in str(w.message)]


def test_monitor_without_a_cjk_font_draws_english_labels(monkeypatch):
    assert not monitor_pngs(monkeypatch, None)


def test_monitor_with_the_cjk_font_draws_chinese_labels(monkeypatch):
    font = fonts.cjk_font()
    if font is None:
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk; .ci/system-deps does)")
    assert not monitor_pngs(monkeypatch, font)
