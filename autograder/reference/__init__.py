"""Reference implementations of every graded function, under the names the notebooks use.

Each chapter lives in ``chNN_<topic>.py`` and lists its graded functions in ``__all__``.
"""

from autograder._registry import collect

__all__ = collect(__name__, __path__, globals())
