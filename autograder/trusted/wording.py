"""The channel's keyed messages (:data:`autograder.trusted.errors.MESSAGES`) in the learner's language, on the
trusted side only: the sandbox never imports this module (it refuses the checks' catalog), it sends a key and values
and the trusted side's :class:`~autograder.trusted.channel.Endpoint` renders them here."""

from __future__ import annotations

from autograder.chapters.messages import gettext as _
from autograder.trusted.errors import HINTS, MESSAGES, key_of


def render(key: str, names: dict) -> str:
    """The message ``key`` filled with ``names``, in the language in effect (:func:`course.i18n.current`)."""
    return _(MESSAGES[key], **names)


def hint_of(exc: BaseException) -> str | None:
    """The hint key (``course.hints.HINTS``) of an error carrying a keyed message, else None."""
    return HINTS.get(key_of(exc) or "")
