"""The errors of the judge's channel (:mod:`autograder.trusted.channel`), shared by both of its sides."""

from __future__ import annotations


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
