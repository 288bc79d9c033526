"""The chapters' check messages in the learner's language (issue 30): the ``checks`` catalog.

The checks' wording describes the hidden tests (their cases, and often the fault and its fix), so its catalog lives
with the checks, instructor-side: ``autograder/locale/<lang>/LC_MESSAGES/checks.po`` (compiled to ``checks.mo``),
never in ``course``'s catalog, which the student edition ships. A check writes::

    from autograder.chapters.messages import gettext as _
    fail(_("{what}: errors should hold one count per epoch ({epochs}), got shape {shape}", what=what, ...))

The language is the one :mod:`course.i18n` chooses (``using(lang)``: feedback in the submission's language; else
``COURSE_LANG``, as the judge process gets it), placeholders are filled as there (:func:`course.i18n.fill`).
Managed like course's catalog: ``python -m autograder.authoring.catalog update|check|compile``.
"""

from __future__ import annotations

import functools
import gettext as stdlib_gettext
from pathlib import Path

from course.i18n import ENGLISH, current, english_of, fill, join

# join: a list inside a sentence ("a, b"; "a、b"); english_of: the English a filled message remembers
__all__ = ["N_", "english_of", "gettext", "ngettext", "join", "translations"]

DOMAIN = "checks"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"


@functools.cache
def translations(lang: str) -> stdlib_gettext.NullTranslations:
    """The checks' catalog of ``lang`` (NullTranslations, i.e. English, when there is none)."""
    if lang == ENGLISH:
        return stdlib_gettext.NullTranslations()
    return stdlib_gettext.translation(DOMAIN, str(LOCALE_DIR), languages=[lang], fallback=True)


def gettext(message: str, /, **names) -> str:
    """``message`` (English, ``{named}`` placeholders) in the language in effect, placeholders filled."""
    return fill(translations(current()).gettext(message), message, names)


def ngettext(singular: str, plural: str, n: int, /, **names) -> str:
    """The singular or plural form for ``n`` in the language in effect (``n`` is also a placeholder)."""
    return fill(translations(current()).ngettext(singular, plural, n), singular if n == 1 else plural,
                {"n": n, **names})


def N_(message: str) -> str:  # noqa: N802 (the gettext convention)
    """Mark ``message`` for the checks' catalog without translating it (a constant, translated where it is shown)."""
    return message
