"""The errors of the judge's channel (:mod:`autograder.trusted.channel`), shared by both of its sides, and the
messages about them a learner reads.

Those messages are keyed (:data:`MESSAGES`, English, ``{named}`` placeholders). The sandbox's side (which may not
import the checks' catalog, :mod:`autograder.chapters.messages`) builds them in English and sends the *key and the
values* along (:func:`tagged`); the trusted side renders them in the learner's language
(:func:`autograder.trusted.wording.render`, given to its :class:`~autograder.trusted.channel.Endpoint`) from the key,
never from the text, and a verdict's hint is chosen on the key (:data:`HINTS`). The table is part of the checks'
catalog (:mod:`autograder.authoring.catalog` extracts this module's ``N_`` marks).
"""

from __future__ import annotations


def N_(message: str) -> str:  # noqa: N802 (the gettext convention)
    """Mark ``message`` for the checks' catalog (this module cannot import it: the sandbox loads it)."""
    return message


MESSAGES = {
    "timeout": N_("your code did not finish within {seconds:g} s (infinite loop? far too slow?)"),
    "crashed": N_("the Python process running your code ended: it crashed, called os._exit, or ran out of memory"),
    "crashed_code": N_("the Python process running your code ended (exit code {code}): it crashed, called os._exit, "
                       "or ran out of memory"),
    "broke": N_("the connection to the Python process running your code broke ({error}): it crashed, called "
                "os._exit, or ran out of memory"),
    "dead_timeout": N_("your code did not finish in time earlier in this check, so the process running it was "
                       "stopped"),
    "dead_earlier": N_("the Python process running your code ended earlier in this check"),
    "too_big": N_("sent a message of {size:.0f} MB, more than the {limit} MB allowed"),
    "uncomparable_type": N_("returned a {type_name} object, which the checks cannot compare; return NumPy arrays, "
                            "numbers, or tuples/lists/dicts of them"),
    "uncomparable_objects": N_("returned an array of Python objects, which the checks cannot compare; return NumPy "
                               "arrays of numbers, numbers, or tuples/lists/dicts of them"),
    "uncomparable_nested": N_("returned a structure nested too deeply (or containing itself), which the checks "
                              "cannot compare; return NumPy arrays, numbers, or tuples/lists/dicts of them"),
    "not_defined": N_("{name} is not defined: did you delete or rename its solution cell, or did that cell fail? "
                      "({errors})"),
    "not_defined_no_error": N_("{name} is not defined: did you delete or rename its solution cell? (No cell raised "
                               "an error.)"),
    "not_own_function": N_("{name} must be a function written in your notebook (its solution cell or a cell you "
                           "added), got {type_name}"),
}
# the keys the process running student code may send with an error (the rest are the trusted side's own)
REMOTE_KEYS = ("uncomparable_type", "uncomparable_objects", "uncomparable_nested", "not_defined",
               "not_defined_no_error", "not_own_function")
# the hint (course.hints.HINTS) of a message, by its key
HINTS = {"timeout": "timeout", "dead_timeout": "timeout", "crashed": "crashed", "crashed_code": "crashed",
         "broke": "crashed", "dead_earlier": "crashed", "not_defined": "not_defined",
         "not_defined_no_error": "not_defined", "not_own_function": "not_own_function"}


def english(key: str, names: dict) -> str:
    """The message ``key`` in English, filled with ``names`` (the default rendering of an Endpoint)."""
    return MESSAGES[key].format(**names)


def tagged(exc: BaseException, key: str, names: dict) -> BaseException:
    """``exc`` remembering the key and values of its message (what crosses the channel instead of its prose)."""
    exc.message_key, exc.message_names = key, names
    return exc


def key_of(exc: BaseException) -> str | None:
    """The message key ``exc`` carries (None for any other error)."""
    key = getattr(exc, "message_key", None)
    return key if key in MESSAGES else None


class ProtocolError(RuntimeError):
    """The other side sent something that is not a valid message (or died)."""


class RemoteDied(AssertionError):
    """The student's process ended (crash, os._exit, memory limit) or timed out during a check."""

    remote_died = True


class StudentError(Exception):
    """An exception raised by the student's code on the other side; ``ename`` is its type name."""

    def __init__(self, ename: str, message: str, warnings: list | None = None):
        super().__init__(message)
        self.ename = ename
        self.warnings = warnings or []  # (category, message) raised before the exception
