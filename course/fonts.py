"""A font for the plots' labels in the learner's language (issue 30): Chinese labels need a CJK font.

Matplotlib's default font (DejaVu Sans) has no Chinese glyphs: a Chinese label would be drawn as empty boxes
("tofu"). :func:`plot_text` is where the course's figures are drawn: in a CJK language it puts a CJK font next
to the default one (Latin letters and digits stay in DejaVu Sans; Chinese falls back to the CJK font), and when
no CJK font is installed the labels are drawn in English instead. Install one with Debian's ``fonts-noto-cjk``
(Noto Sans CJK SC); the student edition's ``apt.txt`` does it for its image.

A font installed after matplotlib made its font cache is not in that cache: :func:`cjk_font` then looks among the
system's font files (fontconfig's list) for a known CJK family and adds it.
"""

from __future__ import annotations

import functools
from contextlib import contextmanager
from pathlib import Path

from course.i18n import ENGLISH, current, using

# Simplified Chinese first (Noto Sans CJK SC is Debian's fonts-noto-cjk), then what other systems ship.
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN", "WenQuanYi Zen Hei",
             "WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC", "Heiti SC", "SimHei", "Noto Sans CJK JP",
             "Arial Unicode MS")
# file names (lower case) that may hold one of CJK_FONTS: only those files are opened when the cache lacks them
CJK_FILES = ("notosanscjk", "notosanssc", "sourcehansans", "wqy", "msyh", "pingfang", "stheiti", "simhei",
             "arial unicode", "arialuni")
CJK_LANGUAGES = ("zh", "ja", "ko")
LATIN_FONT = "DejaVu Sans"  # matplotlib's own: Latin letters, digits and the minus sign keep their usual look


def needs_cjk(lang: str) -> bool:
    """Whether ``lang`` (``zh_CN``, ``ja``...) is written with CJK characters."""
    return lang.split("_")[0].lower() in CJK_LANGUAGES


def pick(names, preferred=CJK_FONTS) -> str | None:
    """The first of ``preferred`` among the font family ``names`` (None when there is none)."""
    have = set(names)
    return next((name for name in preferred if name in have), None)


def font_names() -> set[str]:
    """The font families matplotlib knows."""
    from matplotlib import font_manager

    return {f.name for f in font_manager.fontManager.ttflist}


def add_system_cjk_files() -> None:
    """Add to matplotlib the system's font files whose name looks like a CJK font (a font installed after its cache
    was made); a file matplotlib cannot read is skipped."""
    from matplotlib import font_manager

    for path in font_manager.findSystemFonts():
        if any(hint in Path(path).name.lower() for hint in CJK_FILES):
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):
                continue


@functools.cache
def cjk_font() -> str | None:
    """The CJK font family the plots use (None when none is installed)."""
    found = pick(font_names())
    if found is None:
        add_system_cjk_files()
        found = pick(font_names())
    return found


def plot_language(lang: str | None = None, font: str | None | bool = True) -> str:
    """The language to draw labels in: ``lang`` (default: the messages' language), or English when it needs a CJK
    font and there is none (``font``: the font found, default :func:`cjk_font`)."""
    lang = current() if lang is None else lang
    if not needs_cjk(lang):
        return lang
    font = cjk_font() if font is True else font
    return lang if font else ENGLISH


@contextmanager
def plot_text(lang: str | None = None, font: str | None | bool = True):
    """Draw figures inside this block with labels readable in ``lang`` (default: the messages' language): a CJK
    language gets its font beside the Latin one, or English labels when no CJK font is installed. Yields the
    language the labels are in."""
    lang = current() if lang is None else lang
    font = (cjk_font() if font is True else font) if needs_cjk(lang) else None
    chosen = plot_language(lang, font)
    if not font:
        with using(chosen):
            yield chosen
        return
    import matplotlib

    with matplotlib.rc_context({"font.family": [LATIN_FONT, font]}), using(chosen):
        yield chosen
