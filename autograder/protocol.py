"""The channel between the trusted judge and the process that runs student code.

Both sides exchange *data* only: length-prefixed JSON messages with values encoded below
(numbers, strings, arrays via ``np.save(allow_pickle=False)``, lists/tuples/dicts of them and their subclasses,
generator states; never pickles or objects). Callables crossing the boundary become *handles*: calling one
sends a request back to its owner (nested calls are allowed). After each call, the callee reports the state
of every argument object so in-place changes (arrays at any depth, dict/list entries, generator states) are
mirrored onto the caller's originals.
A nested call carries the same report for the call it is made from (``"sync"``), so a callback sees the
in-place changes made so far (e.g. ``numerical_gradient`` perturbing ``x`` before calling ``f``).

The side that runs a call also reports what happened while it ran: the warnings it raised (NumPy's
divide/overflow/invalid errors included, see ``course.compare.recording_warnings``) travel with the reply, and
:class:`RemoteFunction` raises them again on the calling side, so ``course.compare.call`` sees a remote
function's warnings as it sees a local one's. A call message with ``"repeat": K`` asks for timing instead: the
far side runs the function K times on fresh copies of the arguments and replies with the K durations
(:meth:`RemoteFunction.time_calls`).

Design of the whole trusted-checking scheme: :mod:`autograder.judge`.
"""

from __future__ import annotations

import base64
import io
import json
import os
import select
import struct
import subprocess
import time
from pathlib import Path

import numpy as np

from course.compare import recording_warnings, reissue_warnings

PKG_DIR = Path(__file__).resolve().parent
MAX_MESSAGE = 256 * 1024 * 1024
CLOCK_TRUST = 0.5  # see RemoteFunction.time_calls

__all__ = ["Endpoint", "ProtocolError", "RemoteDied", "RemoteFunction", "RemoteIterator", "StudentError"]


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


# ----------------------------------------------------------------------------------------------- encoding
# Values as JSON-able data, never objects. Subclasses of dict/list/tuple (OrderedDict, defaultdict, namedtuples)
# travel as their base type: the receiving side only ever builds dict, list and tuple. ``track`` lists the
# arrays, generators and containers of a call's arguments in pre-order, so that the other side's in-place
# changes, at any depth, can be mirrored onto the same objects afterwards (after_state / apply_after).
MAX_DEPTH = 60  # containers nested deeper than this (or cyclic) are refused


_BIT_GENERATORS = {"PCG64": np.random.PCG64, "PCG64DXSM": np.random.PCG64DXSM, "Philox": np.random.Philox,
                   "SFC64": np.random.SFC64, "MT19937": np.random.MT19937}


def _items(value):
    """Entries of a container through the base type's methods (a subclass cannot override what is sent)."""
    if isinstance(value, dict):
        return list(dict.items(value))
    return list(list.__iter__(value)) if isinstance(value, list) else list(tuple.__iter__(value))


class Puller:
    """Student side of a returned iterator: ``next`` on demand, remembering the creating call's arguments."""

    def __init__(self, it, track):
        self.it, self.track = it, track if track is not None else []

    def __call__(self):
        return next(self.it)


def encode(value, ep, track: list | None = None, depth: int = 0):
    """JSON-able form of ``value`` (``ep``: the endpoint, for handles and generator tags; may be None for
    plain data). ``track`` collects arrays, generators and containers in pre-order."""
    if depth > MAX_DEPTH:
        raise TypeError("a structure nested too deeply (or containing itself)")
    if track is not None and isinstance(value, (np.ndarray, np.random.Generator, dict, list, tuple)):
        track.append(value)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int) and not isinstance(value, np.generic):
        return int.__int__(value) if type(value) is not int else value
    if isinstance(value, float) and not isinstance(value, np.generic):
        return {"t": "f", "v": repr(float.__float__(value))}
    if isinstance(value, (np.ndarray, np.generic)):
        arr = np.asarray(value)
        if arr.dtype == object:
            raise TypeError("an array of Python objects")
        buf = io.BytesIO()
        np.save(buf, arr, allow_pickle=False)
        return {"t": "a", "s": isinstance(value, np.generic), "b": base64.b64encode(buf.getvalue()).decode()}
    if isinstance(value, np.random.Generator):
        # generators keep one identity per side (tag), and every reply carries their states: a generator
        # the student advances (even lazily, inside a returned iterator) is advanced for the check too
        bg = value.bit_generator
        return {"t": "g", "n": type(bg).__name__, "st": json.dumps(bg.state), "tag": ep.tag_rng(value)}
    if isinstance(value, (list, tuple)):
        return {"t": "l" if isinstance(value, list) else "u",
                "v": [encode(v, ep, track, depth + 1) for v in _items(value)]}
    if isinstance(value, dict):
        return {"t": "d", "v": [[encode(k, ep, None, depth + 1), encode(v, ep, track, depth + 1)]
                                for k, v in _items(value)]}
    if isinstance(value, complex):
        return {"t": "c", "v": [value.real, value.imag]}
    if callable(value):
        return {"t": "h", "h": ep.register(value), "n": str(getattr(value, "__name__", "function"))[:80]}
    if hasattr(value, "__next__") and hasattr(value, "__iter__"):  # a generator/iterator: pulled lazily
        return {"t": "it", "h": ep.register(Puller(value, ep.current_track)), "n": type(value).__name__}
    raise TypeError(f"a {type(value).__name__} object")


def decode(obj, ep, track: list | None = None):
    """Inverse of :func:`encode`: only base types, arrays and generators are built (handles via ``ep``)."""
    if obj is None or isinstance(obj, (bool, str, int)):
        return obj
    if not isinstance(obj, dict):
        raise ProtocolError("bad value")
    t = obj.get("t")
    if track is not None and t in ("a", "g", "l", "u", "d") and not (t == "a" and obj.get("s")):
        slot = len(track)
        track.append(None)
        value = decode(obj, ep, None) if t in ("a", "g") else None
        if t == "l":
            value = []
            track[slot] = value
            value.extend(decode(v, ep, track) for v in obj["v"])
        elif t == "u":
            value = tuple(decode(v, ep, track) for v in obj["v"])
        elif t == "d":
            value = {}
            track[slot] = value
            for k, v in obj["v"]:
                value[_key(decode(k, ep))] = decode(v, ep, track)
        track[slot] = value
        return value
    if t == "f":
        return float(obj["v"])
    if t == "a":
        arr = np.load(io.BytesIO(base64.b64decode(obj["b"])), allow_pickle=False)
        return arr[()] if obj.get("s") else arr
    if t == "g":
        return ep.rng_from(obj)
    if t == "l":
        return [decode(v, ep) for v in obj["v"]]
    if t == "u":
        return tuple(decode(v, ep) for v in obj["v"])
    if t == "d":
        return {_key(decode(k, ep)): decode(v, ep) for k, v in obj["v"]}
    if t == "c":
        return complex(*obj["v"])
    if t == "h":
        return ep.remote_function(f"h:{int(obj['h'])}", str(obj.get("n", "function")))
    if t == "it":
        return ep.remote_iterator(f"h:{int(obj['h'])}", ep.current_track)
    raise ProtocolError(f"unknown value type {t!r}")


def _key(k):
    try:
        hash(k)
    except TypeError:
        raise ProtocolError("a dict key that is not hashable") from None
    return k


def after_state(track: list, ep) -> list:
    """Serving side, after a call: the state of every argument object (arrays' contents, containers' entries
    as references to argument objects or new values; generators travel separately)."""
    ids = {id(o): j for j, o in enumerate(track)}

    def ref(v):
        j = ids.get(id(v))
        return {"ref": j} if j is not None and track[j] is v else {"new": encode(v, ep)}

    out = []
    for o in track:
        if isinstance(o, np.ndarray):
            out.append({"k": "v", "v": encode(o, ep)})
        elif isinstance(o, dict):
            out.append({"k": "d", "items": [[encode(k, ep), ref(v)] for k, v in _items(o)]})
        elif isinstance(o, list):
            out.append({"k": "l", "items": [ref(v) for v in _items(o)]})
        else:
            out.append(None)
    return out


def apply_after(track: list, after: list, ep):
    """Calling side: mirror the other side's in-place changes onto the original argument objects, keeping
    object identity (so a check can tell ``p -= g`` from ``params[k] = p - g``)."""
    if len(after) != len(track):
        return

    def resolve(item):
        if "ref" in item:
            return track[int(item["ref"])]
        return decode(item.get("new"), ep)

    for orig, entry in zip(track, after):
        if not entry:
            continue
        if entry.get("k") == "v":
            new = decode(entry["v"], ep)
            if (isinstance(orig, np.ndarray) and isinstance(new, np.ndarray) and orig.flags.writeable
                    and orig.shape == new.shape and orig.dtype == new.dtype):
                if not np.array_equal(orig, new, equal_nan=orig.dtype.kind in "fc"):
                    orig[...] = new
        elif entry.get("k") == "d" and isinstance(orig, dict):
            items = {_key(decode(k, ep)): resolve(v) for k, v in entry["items"]}
            if list(items) != list(orig) or any(items[k] is not orig[k] for k in items):
                orig.clear()
                orig.update(items)
        elif entry.get("k") == "l" and isinstance(orig, list):
            items = [resolve(v) for v in entry["items"]]
            if len(items) != len(orig) or any(a is not b for a, b in zip(items, orig)):
                orig[:] = items


# ----------------------------------------------------------------------------------------------- transport
class Endpoint:
    """One side of a length-prefixed JSON channel. Both sides can call the other (nested calls allowed)."""

    def __init__(self, rfd: int, wfd: int, resolve, timeout: float | None = None, peer=None):
        self.rfd, self.wfd = rfd, wfd
        self.resolve = resolve  # target string -> local callable (raises KeyError if not allowed)
        self.handles: dict[int, object] = {}
        self.timeout = timeout
        self.peer = peer  # Popen of the other side, to report its exit code
        self.next_id = 0
        self.dead: str | None = None
        self.rngs: dict[int, np.random.Generator] = {}  # tag -> generator (same tag on both sides)
        self.rng_tags: dict[int, int] = {}  # id(generator) -> tag
        self.current_track: list | None = None  # the arguments of the call being answered / returned
        self.serving: list[list] = []  # tracked arguments of the calls this side is running (innermost last)
        self.waiting: list[list] = []  # tracked arguments of the calls this side is waiting for

    def tag_rng(self, g: np.random.Generator) -> int:
        tag = self.rng_tags.get(id(g))
        if tag is None or self.rngs.get(tag) is not g:
            tag = id(g)
            self.rngs[tag], self.rng_tags[id(g)] = g, tag
        return tag

    def rng_from(self, obj: dict) -> np.random.Generator:
        tag, state = int(obj.get("tag", 0)), json.loads(obj["st"])
        g = self.rngs.get(tag)
        if g is None or type(g.bit_generator).__name__ != obj["n"]:
            if obj["n"] not in _BIT_GENERATORS:
                raise ProtocolError("unknown bit generator")
            g = np.random.Generator(_BIT_GENERATORS[obj["n"]]())
            self.rngs[tag], self.rng_tags[id(g)] = g, tag
        g.bit_generator.state = state
        return g

    def _rng_states(self) -> list:
        return [[tag, json.dumps(g.bit_generator.state)] for tag, g in self.rngs.items()]

    def _sync_rngs(self, states) -> None:
        for tag, state in states or []:
            g = self.rngs.get(int(tag))
            if g is not None:
                try:
                    g.bit_generator.state = json.loads(state)
                except (ValueError, TypeError, KeyError):
                    raise ProtocolError("bad generator state") from None

    def register(self, fn) -> int:
        for k, v in self.handles.items():
            if v is fn:
                return k
        k = len(self.handles) + 1000
        self.handles[k] = fn
        return k

    def _send(self, msg: dict):
        data = json.dumps(msg).encode()
        try:
            os.write(self.wfd, struct.pack(">Q", len(data)))
            view = memoryview(data)
            while view:
                n = os.write(self.wfd, view)
                view = view[n:]
        except OSError as exc:
            self._die(f"the connection broke ({exc.strerror})")

    def _read_exact(self, n: int, deadline: float | None) -> bytes:
        chunks, got = [], 0
        while got < n:
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self.rfd], [], [], left)[0]:
                    self._die("timed out", timeout=True)
            chunk = os.read(self.rfd, min(n - got, 1 << 20))
            if not chunk:
                self._die("ended")
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def _die(self, what: str, timeout: bool = False):
        if timeout and self.peer is not None:
            self.peer.kill()
        code = None
        if self.peer is not None:
            try:
                code = self.peer.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.peer.kill()
        detail = f" (exit code {code})" if code is not None and not timeout else ""
        self.dead = what
        if timeout:
            raise RemoteDied(f"your code did not finish within {self.timeout:g} s (infinite loop? far too slow?)")
        raise RemoteDied(f"the Python process running your code {what}{detail}: it crashed, called "
                         "os._exit, or ran out of memory")

    def _desync(self, what: str):
        """The stream can no longer be trusted to be in step: end the other side and refuse further calls."""
        self.dead = what
        if self.peer is not None:
            self.peer.kill()
        raise ProtocolError(what)

    def _recv(self, deadline: float | None) -> dict:
        (n,) = struct.unpack(">Q", self._read_exact(8, deadline))
        if n > MAX_MESSAGE:
            self._desync(f"sent a message of {n / 1e6:.0f} MB, more than the {MAX_MESSAGE >> 20} MB allowed")
        try:
            msg = json.loads(self._read_exact(n, deadline))
        except ValueError:
            self._desync("sent an invalid message")
        if not isinstance(msg, dict):
            raise ProtocolError("invalid message")
        return msg

    def remote_function(self, target: str, name: str) -> "RemoteFunction":
        return RemoteFunction(self, target, name)

    def remote_iterator(self, target: str, track: list | None) -> "RemoteIterator":
        return RemoteIterator(self, target, track)

    def call(self, target: str, args: tuple, kwargs: dict, track: list | None = None, repeat: int | None = None):
        """Ask the other side to run ``target(*args, **kwargs)``; serve its nested calls meanwhile.

        Returns ``(value, info)``; ``info["warnings"]``: the ``(category, message)`` warnings raised there
        during the call. With ``repeat=K`` the other side times K runs instead; the value is their durations.
        """
        if self.dead:
            raise RemoteDied(f"the Python process running your code {self.dead} earlier in this check")
        self.next_id += 1
        my_id = self.next_id
        track = [] if track is None else track  # an iterator's next() mirrors its creating call's arguments
        msg = {"op": "call", "id": my_id, "target": target,
               "args": [encode(a, self, track) for a in args],
               "kwargs": [[k, encode(v, self, track)] for k, v in kwargs.items()]}
        if repeat is not None:
            msg["repeat"] = int(repeat)
        if self.serving:  # a nested call: the caller sees the in-place changes made so far (e.g. x perturbed)
            try:
                msg["sync"] = after_state(self.serving[-1], self)
            except TypeError:
                pass
        self._send(msg)
        self.waiting.append(track)
        try:
            return self._await(my_id, track)
        finally:
            self.waiting.pop()

    def _await(self, my_id: int, track: list):
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        while True:
            msg = self._recv(deadline)
            op = msg.get("op")
            if op == "call":
                self._serve_one(msg)
            elif op in ("return", "raise") and msg.get("id") == my_id:
                self._sync_rngs(msg.get("rngs"))
                info = {"warnings": _warning_list(msg.get("warnings"))}
                if op == "return":
                    self.current_track = track
                    value = decode(msg.get("value"), self)
                    apply_after(track, msg.get("after") or [], self)
                    return value, info
                raise StudentError(str(msg.get("ename", "Exception"))[:100], str(msg.get("message", ""))[:2000],
                                   info["warnings"])
            else:
                raise ProtocolError(f"unexpected message {op!r}")

    def _serve_one(self, msg: dict):
        call_id = msg.get("id")
        track: list = []
        repeat = msg.get("repeat")
        try:
            fn = self.resolve(str(msg.get("target")))
            if repeat is not None:
                repeat = max(0, min(int(repeat), 1000))
            else:
                args = [decode(a, self, track) for a in msg.get("args", [])]
                kwargs = {str(k): decode(v, self, track) for k, v in msg.get("kwargs", [])}
        except Exception as exc:
            self._send({"op": "raise", "id": call_id, "ename": "ProtocolError", "message": str(exc)[:500]})
            return
        if repeat is not None:
            return self._serve_timing(call_id, fn, msg, repeat)
        if msg.get("sync") and self.waiting:
            try:
                apply_after(self.waiting[-1], msg["sync"], self)
            except Exception as exc:
                self._send({"op": "raise", "id": call_id, "ename": "ProtocolError", "message": str(exc)[:500]})
                return
        log: list = []
        self.serving.append(fn.track if isinstance(fn, Puller) else track)
        try:
            with recording_warnings(log):
                result = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: B036 - SystemExit/KeyboardInterrupt from student code are answers too
            if isinstance(exc, RemoteDied):
                raise
            self._send({"op": "raise", "id": call_id, "ename": type(exc).__name__,
                        "message": _safe_str(exc), "rngs": self._rng_states(), "warnings": log})
            return
        finally:
            self.serving.pop()
        if isinstance(fn, Puller):
            track = fn.track  # in-place changes made lazily, while the iterator runs
        try:
            self.current_track = track
            value = encode(result, self)
            after = after_state(track, self)
        except TypeError as exc:
            self._send({"op": "raise", "id": call_id, "ename": "TypeError",
                        "message": f"returned {exc}, which the checks cannot compare; return NumPy arrays, "
                                   "numbers, or tuples/lists/dicts of them", "warnings": log})
            return
        self._send({"op": "return", "id": call_id, "value": value, "after": after, "rngs": self._rng_states(),
                    "warnings": log})

    def _serve_timing(self, call_id, fn, msg: dict, repeat: int):
        """Run ``fn`` ``repeat`` times on fresh copies of the arguments; reply with the durations only."""
        log: list = []
        times = []
        try:
            args = [decode(a, self) for a in msg.get("args", [])]
            kwargs = {str(k): decode(v, self) for k, v in msg.get("kwargs", [])}
            with recording_warnings(log):
                for _ in range(repeat):
                    a, kw = _fresh(args), _fresh(kwargs)
                    t0 = time.perf_counter()
                    fn(*a, **kw)
                    times.append(time.perf_counter() - t0)
        except BaseException as exc:  # noqa: B036 - as in _serve_one
            if isinstance(exc, RemoteDied):
                raise
            self._send({"op": "raise", "id": call_id, "ename": type(exc).__name__, "message": _safe_str(exc),
                        "warnings": log[:50]})
            return
        self._send({"op": "return", "id": call_id, "value": encode(times, self), "warnings": log[:50]})

    def serve_forever(self):
        """Answer calls until the other side closes the channel."""
        while True:
            try:
                msg = self._recv(None)
            except RemoteDied:
                return
            if msg.get("op") == "call":
                self._serve_one(msg)
            elif msg.get("op") == "bye":
                return


def _safe_str(exc: BaseException) -> str:
    try:
        return str(exc)[:2000]
    except Exception:
        return "<unprintable message>"


def _fresh(value):
    """A copy of decoded arguments (arrays copied, containers rebuilt; generators and handles shared)."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        return {k: _fresh(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_fresh(v) for v in value)
    return value


def _warning_list(raw) -> list:
    """The reply's warnings as a list of (category, message) strings (anything else is dropped)."""
    out = []
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, list) and len(item) == 2 and all(isinstance(v, str) for v in item):
            out.append((item[0][:100], item[1][:500]))
    return out[:50]


class RemoteIterator:
    """An iterator (e.g. a generator) living on the other side; each ``next`` pulls one item from there."""

    def __init__(self, ep: Endpoint, target: str, track: list | None):
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

    def __init__(self, ep: Endpoint, target: str, name: str):
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
