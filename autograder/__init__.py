"""Instructor side of the course: reference implementations, hidden-test checks, grading tools.

- ``autograder.reference``: the reference NumPy implementation of every graded function, same names.
- ``autograder.checks``: ``check_<function>(fn)`` for every graded function; raises AssertionError with a
  clear message when ``fn`` is wrong and returns quietly when it is right. Hidden test cells call only these.
- ``autograder.corpus``: wrong answers (and, later, whole bad submissions) every check must reject.
- ``autograder.build``: builds source/ and release/ notebooks from the jupytext
  chapter texts ``autograder/notebooks/*.py``.
"""
