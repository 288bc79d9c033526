"""The course's messages in the learner's language (issue 30), over the standard library's gettext.

A message is a whole English sentence with named placeholders, looked up in the catalog
``course/locale/<lang>/LC_MESSAGES/course.mo`` and then filled in::

    from course.i18n import gettext as _
    raise ValueError(_("shapes differ: {a} vs {b}", a=a.shape, b=b.shape))

The language: ``COURSE_LANG`` if set, else the locale (``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES``, ``LANG``), else
English; a language without a catalog (or ``C``/``POSIX``) is English. The catalog's source is the ``.po`` beside
the ``.mo`` (edited with Babel; the course's build compiles it, see the instructor guide).
"""

from __future__ import annotations

import functools
import gettext as stdlib_gettext
import os
from pathlib import Path

DOMAIN = "course"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
ENGLISH = "en"
LOCALE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


def normalise(tag: str) -> str:
    """``zh_CN`` from ``zh-CN``, ``zh_CN.UTF-8``, ``zh_cn@x`` (language lower case, region upper case)."""
    tag = tag.split(":")[0].split(".")[0].split("@")[0].replace("-", "_").strip()
    lang, _, region = tag.partition("_")
    return f"{lang.lower()}_{region.upper()}" if region else lang.lower()


def available() -> list[str]:
    """The languages with a compiled catalog (English needs none)."""
    return sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.mo"))


def language(environ=None) -> str:
    """The language the messages are shown in: COURSE_LANG, else the locale, else English; unknown -> English."""
    env = os.environ if environ is None else environ
    wanted = env.get("COURSE_LANG", "").strip()
    if not wanted:
        wanted = next((env[v] for v in LOCALE_VARIABLES if env.get(v, "").strip()), "")
    tag = normalise(wanted) if wanted else ENGLISH
    known = available()
    if tag in known:
        return tag
    # zh -> zh_CN; a region we do not have -> the language's one catalog
    same = [k for k in known if k.split("_")[0] == tag.split("_")[0]]
    return same[0] if len(same) == 1 else ENGLISH


@functools.cache
def translations(lang: str) -> stdlib_gettext.NullTranslations:
    """The catalog of ``lang`` (NullTranslations, i.e. English, when there is none)."""
    if lang == ENGLISH:
        return stdlib_gettext.NullTranslations()
    return stdlib_gettext.translation(DOMAIN, str(LOCALE_DIR), languages=[lang], fallback=True)


def fill(text: str, english: str, names: dict) -> str:
    """``text.format(**names)``; a translation whose placeholders do not match falls back to the English."""
    if not names:
        return text
    try:
        return text.format(**names)
    except (KeyError, IndexError, ValueError):
        return english.format(**names)


def gettext(message: str, **names) -> str:
    """``message`` (English, with ``{named}`` placeholders) in the learner's language, placeholders filled."""
    return fill(translations(language()).gettext(message), message, names)


def ngettext(singular: str, plural: str, n: int, **names) -> str:
    """The singular or plural form for ``n`` in the learner's language (``n`` is also a placeholder)."""
    return fill(translations(language()).ngettext(singular, plural, n), singular if n == 1 else plural,
                {"n": n, **names})
