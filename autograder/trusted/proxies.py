"""Proxies on the calling side of the judge's channel: a function or an iterator that lives on the other side."""

from __future__ import annotations

import time

from autograder.trusted.errors import ProtocolError, StudentError
from course.compare import reissue_warnings

CLOCK_TRUST = 0.5  # see RemoteFunction.time_calls


class RemoteIterator:
    """An iterator (e.g. a generator) living on the other side; each ``next`` pulls one item from there."""

    def __init__(self, ep, target: str, track: list | None):
        self._ep, self._target, self._track = ep, target, track if track is not None else []

    def __iter__(self):
        return self

    def __next__(self):
        try:
            value, info = self._ep.call(self._target, (), {}, track=self._track)
        except StudentError as exc:
            reissue_warnings(exc.warnings)
            if exc.ename == "StopIteration":
                raise StopIteration from None
            raise
        reissue_warnings(info["warnings"])
        return value


class RemoteFunction:
    """A function living on the other side of an Endpoint; calling it runs it there (its warnings are raised
    again here)."""

    def __init__(self, ep, target: str, name: str):
        self._ep, self._target, self.__name__ = ep, target, name
        self.__qualname__ = name

    def __repr__(self):
        return f"<student function {self.__name__}>"

    def __call__(self, *args, **kwargs):
        try:
            value, info = self._ep.call(self._target, args, kwargs)
        except StudentError as exc:
            reissue_warnings(exc.warnings, f"<{self.__name__}>")
            raise
        reissue_warnings(info["warnings"], f"<{self.__name__}>")
        return value

    def time_calls(self, args: tuple, kwargs: dict, repeats: int) -> list[float]:
        """Seconds of each of ``repeats`` back-to-back runs, timed inside the other process (no channel).

        The other side's clock is the student's (their cells could patch ``time.perf_counter``), so the
        judge's own clock bounds it: the wall time of the K runs, minus that of the same request with no run
        (the channel: arguments sent once, a short reply), divided by K, is what a run took at most on
        average; no duration is taken below ``CLOCK_TRUST`` (0.5) times that. A faked clock can therefore gain
        at most 2x, while an honest one keeps its less noisy per-run figures.
        """
        repeats = max(1, int(repeats))
        t0 = time.perf_counter()
        self._ep.call(self._target, args, kwargs, repeat=0)
        t1 = time.perf_counter()
        runs, _ = self._ep.call(self._target, args, kwargs, repeat=repeats)
        wall = time.perf_counter() - t1
        if (not isinstance(runs, list) or len(runs) != repeats
                or not all(isinstance(t, float) and abs(t) < 1e6 for t in runs)):
            raise ProtocolError("bad timing reply")
        floor = CLOCK_TRUST * max(wall - (t1 - t0), 0.0) / repeats
        return [max(t, floor) for t in runs]  # negative or nan durations (a faked clock) become the floor
