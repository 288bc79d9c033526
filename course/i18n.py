"""The course's messages in the learner's language (issue 30), over the standard library's gettext.

A message is a whole English sentence with named placeholders, looked up in the catalog
``course/locale/<lang>/LC_MESSAGES/course.mo`` and then filled in::

    from course.i18n import gettext as _
    raise ValueError(_("shapes differ: {a} vs {b}", a=a.shape, b=b.shape))

The language: ``COURSE_LANG`` if set, else the locale (``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES``, ``LANG``), else
English; a language without a catalog (or ``C``/``POSIX``) is English. The catalog's source is the ``.po`` beside
the ``.mo`` (edited with Babel; the course's build compiles it, see the instructor guide).

An explicit language (e.g. the language of a submitted notebook, for its feedback)::

    with using("zh_CN"):          # every message inside, in this thread/task, in Chinese
        ...
    gettext_in("zh_CN", "shapes differ: {a} vs {b}", a=1, b=2)

A message kept in a table (built at import time) is marked with :func:`N_` and translated where it is shown:
``gettext(TABLE[key], **values)``.
"""

from __future__ import annotations

import contextvars
import functools
import gettext as stdlib_gettext
import os
import re
from contextlib import contextmanager
from pathlib import Path

DOMAIN = "course"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
ENGLISH = "en"
LOCALE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")
# a space the template puts between a placeholder and Chinese text (for a Latin value) is dropped when the value is
# Chinese too: "{what} 的形状" -> "out 的形状", "结果的形状"; and beside full-width punctuation:
# "（应为 0） 不正确" -> "（应为 0）不正确"
CJK_GAP = re.compile(r"(?<=[\u3400-\u9fff\u3000-\u303f\uff01-\uff5e]) (?=[\u3400-\u9fff\u3000-\u303f\uff01-\uff5e])")
CHOSEN: contextvars.ContextVar[str | None] = contextvars.ContextVar("course_language", default=None)


def normalise(tag: str) -> str:
    """``zh_CN`` from ``zh-CN``, ``zh_CN.UTF-8``, ``zh_cn@x`` (language lower case, region upper case)."""
    tag = tag.split(":")[0].split(".")[0].split("@")[0].replace("-", "_").strip()
    lang, _, region = tag.partition("_")
    return f"{lang.lower()}_{region.upper()}" if region else lang.lower()


@functools.cache
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


def resolve(tag: str | None) -> str:
    """The language of the catalog for ``tag`` (``zh-CN``, ``zh``, ``zh_CN.UTF-8``, ...); unknown or None -> English."""
    return language({"COURSE_LANG": tag or ENGLISH})


def current() -> str:
    """The language messages are shown in now: the one :func:`using` chose, else :func:`language`."""
    chosen = CHOSEN.get()
    return language() if chosen is None else chosen


@contextmanager
def using(lang: str | None):
    """Every message inside the block in ``lang`` (resolved as :func:`resolve`; None: the usual choice); yields the
    language used. Per thread/asyncio task (a context variable), so nested and concurrent uses do not mix."""
    token = CHOSEN.set(None if lang is None else resolve(lang))
    try:
        yield current()
    finally:
        CHOSEN.reset(token)


def N_(message: str) -> str:  # noqa: N802 (the gettext convention)
    """Mark ``message`` for the catalog without translating it (a table entry, translated where it is shown)."""
    return message


@functools.cache
def translations(lang: str) -> stdlib_gettext.NullTranslations:
    """The catalog of ``lang`` (NullTranslations, i.e. English, when there is none)."""
    if lang == ENGLISH:
        return stdlib_gettext.NullTranslations()
    return stdlib_gettext.translation(DOMAIN, str(LOCALE_DIR), languages=[lang], fallback=True)


class Text(str):
    """A filled message in the learner's language that keeps its English (``english``, with the English of the values
    it was filled with): a failure's hint is chosen on the English, so it is the same in every language."""


def english_of(value):
    """The English of a :class:`Text` (any other value as it is)."""
    return getattr(value, "english", value)


def fill(text: str, english: str, names: dict) -> str:
    """``text.format(**names)``; a translation whose placeholders do not match falls back to the English. The result
    is a :class:`Text` that remembers the English."""
    source = english.format(**{k: english_of(v) for k, v in names.items()}) if names else english
    if not names:
        filled = text
    else:
        try:
            filled = text.format(**names)
            filled = filled if text == english else CJK_GAP.sub("", filled)
        except (KeyError, IndexError, ValueError):
            filled = english.format(**names)
    out = Text(filled)
    out.english = source
    return out


def gettext(message: str, /, **names) -> str:
    """``message`` (English, with ``{named}`` placeholders) in the learner's language, placeholders filled."""
    return fill(translations(current()).gettext(message), message, names)


def gettext_in(lang: str | None, message: str, /, **names) -> str:
    """``message`` in the language ``lang`` (as :func:`resolve`; None: :func:`current`), placeholders filled."""
    return fill(translations(current() if lang is None else resolve(lang)).gettext(message), message, names)


def ngettext(singular: str, plural: str, n: int, /, **names) -> str:
    """The singular or plural form for ``n`` in the learner's language (``n`` is also a placeholder)."""
    return fill(translations(current()).ngettext(singular, plural, n), singular if n == 1 else plural,
                {"n": n, **names})


# the separator of a list inside a sentence, by language (Chinese: the enumeration comma)
LIST_SEPARATORS = {"zh": "、"}


def join(items) -> str:
    """``items`` as a list inside a sentence in the language in effect: ``a, b, c``; Chinese ``a、b、c``."""
    return LIST_SEPARATORS.get(current().split("_")[0], ", ").join(str(i) for i in items)
