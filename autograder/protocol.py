"""The channel between the trusted judge and the process that runs student code.

Both sides exchange *data* only: length-prefixed JSON messages with arrays serialised by
``np.save(allow_pickle=False)``; numbers, strings, arrays, lists/tuples/dicts of them and generator states,
never pickles or objects. Callables crossing the boundary become *handles*: calling one sends a request back to
its owner (nested calls are allowed). After each call, the callee reports the state of every argument object so
in-place changes (arrays, dict/list entries, generator states) are mirrored onto the caller's originals.

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

PKG_DIR = Path(__file__).resolve().parent
MAX_MESSAGE = 256 * 1024 * 1024


class ProtocolError(RuntimeError):
    """The other side sent something that is not a valid message (or died)."""


class RemoteDied(AssertionError):
    """The student's process ended (crash, os._exit, memory limit) or timed out during a check."""

    remote_died = True


class StudentError(Exception):
    """An exception raised by the student's code on the other side; ``ename`` is its type name."""

    def __init__(self, ename: str, message: str):
        super().__init__(message)
        self.ename = ename


# ----------------------------------------------------------------------------------------------- encoding
def _encode(value, ep: "Endpoint", track: list | None = None):
    """JSON-able form of ``value``. ``track`` collects arrays, generators and containers in pre-order, so
    that the other side's in-place changes can be mirrored onto the same objects after a call."""
    if track is not None and (isinstance(value, (np.ndarray, np.random.Generator, dict))
                              or type(value) in (list, tuple)):
        track.append(value)
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int) and type(value) is int:
        return value
    if isinstance(value, float) and type(value) is float:
        return {"t": "f", "v": repr(value)}
    if isinstance(value, np.ndarray) or isinstance(value, np.generic):
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
    if type(value) in (list, tuple):
        return {"t": "l" if type(value) is list else "u", "v": [_encode(v, ep, track) for v in value]}
    if type(value) is dict:
        return {"t": "d", "v": [[_encode(k, ep), _encode(v, ep, track)] for k, v in value.items()]}
    if isinstance(value, complex):
        return {"t": "c", "v": [value.real, value.imag]}
    if callable(value):
        return {"t": "h", "h": ep.register(value), "n": str(getattr(value, "__name__", "function"))[:80]}
    if hasattr(value, "__next__") and hasattr(value, "__iter__"):  # a generator/iterator: pulled lazily
        return {"t": "it", "h": ep.register(_Puller(value, ep.current_track)), "n": type(value).__name__}
    raise TypeError(f"a {type(value).__name__} object")


_BIT_GENERATORS = {"PCG64": np.random.PCG64, "PCG64DXSM": np.random.PCG64DXSM, "Philox": np.random.Philox,
                   "SFC64": np.random.SFC64, "MT19937": np.random.MT19937}


def _decode(obj, ep: "Endpoint", track: list | None = None):
    if obj is None or isinstance(obj, (bool, str, int)):
        return obj
    if not isinstance(obj, dict):
        raise ProtocolError("bad value")
    t = obj.get("t")
    if track is not None and t in ("a", "g", "l", "u", "d") and not (t == "a" and obj.get("s")):
        slot = len(track)
        track.append(None)
        value = _decode(obj, ep, None) if t in ("a", "g") else None
        if t == "l":
            value = []
            track[slot] = value
            value.extend(_decode(v, ep, track) for v in obj["v"])
        elif t == "u":
            value = tuple(_decode(v, ep, track) for v in obj["v"])
        elif t == "d":
            value = {}
            track[slot] = value
            for k, v in obj["v"]:
                value[_decode(k, ep)] = _decode(v, ep, track)
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
        return [_decode(v, ep) for v in obj["v"]]
    if t == "u":
        return tuple(_decode(v, ep) for v in obj["v"])
    if t == "d":
        return {_decode(k, ep): _decode(v, ep) for k, v in obj["v"]}
    if t == "c":
        return complex(*obj["v"])
    if t == "h":
        return RemoteFunction(ep, f"h:{int(obj['h'])}", str(obj.get("n", "function")))
    if t == "it":
        return RemoteIterator(ep, f"h:{int(obj['h'])}", ep.current_track)
    raise ProtocolError(f"unknown value type {t!r}")


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

    def _recv(self, deadline: float | None) -> dict:
        (n,) = struct.unpack(">Q", self._read_exact(8, deadline))
        if n > MAX_MESSAGE:
            raise ProtocolError(f"message of {n} bytes is too large")
        try:
            msg = json.loads(self._read_exact(n, deadline))
        except ValueError as exc:
            raise ProtocolError("invalid message") from exc
        if not isinstance(msg, dict):
            raise ProtocolError("invalid message")
        return msg

    def call(self, target: str, args: tuple, kwargs: dict, track: list | None = None):
        """Ask the other side to run ``target(*args, **kwargs)``; serve its nested calls meanwhile."""
        if self.dead:
            raise RemoteDied(f"the Python process running your code {self.dead} earlier in this check")
        self.next_id += 1
        my_id = self.next_id
        track = [] if track is None else track  # an iterator's next() mirrors its creating call's arguments
        self._send({"op": "call", "id": my_id, "target": target,
                    "args": [_encode(a, self, track) for a in args],
                    "kwargs": [[k, _encode(v, self, track)] for k, v in kwargs.items()]})
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        while True:
            msg = self._recv(deadline)
            op = msg.get("op")
            if op == "call":
                self._serve_one(msg)
            elif op in ("return", "raise") and msg.get("id") == my_id:
                self._sync_rngs(msg.get("rngs"))
                if op == "return":
                    self.current_track = track
                    value = _decode(msg.get("value"), self)
                    _apply_after(track, msg.get("after") or [], self)
                    return value, None
                raise StudentError(str(msg.get("ename", "Exception"))[:100], str(msg.get("message", ""))[:2000])
            else:
                raise ProtocolError(f"unexpected message {op!r}")

    def _serve_one(self, msg: dict):
        call_id = msg.get("id")
        track: list = []
        try:
            fn = self.resolve(str(msg.get("target")))
            args = [_decode(a, self, track) for a in msg.get("args", [])]
            kwargs = {str(k): _decode(v, self, track) for k, v in msg.get("kwargs", [])}
        except Exception as exc:
            self._send({"op": "raise", "id": call_id, "ename": "ProtocolError", "message": str(exc)[:500]})
            return
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: B036 - SystemExit/KeyboardInterrupt from student code are answers too
            if isinstance(exc, RemoteDied):
                raise
            self._send({"op": "raise", "id": call_id, "ename": type(exc).__name__,
                        "message": _safe_str(exc), "rngs": self._rng_states()})
            return
        if isinstance(fn, _Puller):
            track = fn.track  # in-place changes made lazily, while the iterator runs
        try:
            self.current_track = track
            value = _encode(result, self)
            after = _after(track, self)
        except TypeError as exc:
            self._send({"op": "raise", "id": call_id, "ename": "TypeError",
                        "message": f"returned {exc}, which the checks cannot compare; return NumPy arrays, "
                                   "numbers, or tuples/lists of them"})
            return
        self._send({"op": "return", "id": call_id, "value": value, "after": after, "rngs": self._rng_states()})

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


class _Puller:
    """Student side of a returned iterator: ``next`` on demand, remembering the creating call's arguments."""

    def __init__(self, it, track):
        self.it, self.track = it, track if track is not None else []

    def __call__(self):
        return next(self.it)


class RemoteIterator:
    """An iterator (e.g. a generator) living on the other side; each ``next`` pulls one item from there."""

    def __init__(self, ep: Endpoint, target: str, track: list | None):
        self._ep, self._target, self._track = ep, target, track if track is not None else []

    def __iter__(self):
        return self

    def __next__(self):
        try:
            value, _ = self._ep.call(self._target, (), {}, track=self._track)
        except StudentError as exc:
            if exc.ename == "StopIteration":
                raise StopIteration from None
            raise
        return value


class RemoteFunction:
    """A function living on the other side of an Endpoint; calling it runs it there."""

    def __init__(self, ep: Endpoint, target: str, name: str):
        self._ep, self._target, self.__name__ = ep, target, name
        self.__qualname__ = name

    def __repr__(self):
        return f"<student function {self.__name__}>"

    def __call__(self, *args, **kwargs):
        value, _ = self._ep.call(self._target, args, kwargs)
        return value


def _after(track: list, ep: Endpoint) -> list:
    """Student side, after a call: the state of every argument object (arrays' contents, generators' states,
    containers' entries as references to argument objects or new values)."""
    ids = {id(o): j for j, o in enumerate(track)}

    def ref(v):
        j = ids.get(id(v))
        return {"ref": j} if j is not None and track[j] is v else {"new": _encode(v, ep)}

    out = []
    for o in track:
        if isinstance(o, np.ndarray):
            out.append({"k": "v", "v": _encode(o, ep)})
        elif type(o) is dict:
            out.append({"k": "d", "items": [[_encode(k, ep), ref(v)] for k, v in o.items()]})
        elif type(o) is list:
            out.append({"k": "l", "items": [ref(v) for v in o]})
        else:
            out.append(None)
    return out


def _apply_after(track: list, after: list, ep: Endpoint):
    """Judge side: mirror the other side's in-place changes onto the original argument objects, keeping
    object identity (so a check can tell ``p -= g`` from ``params[k] = p - g``)."""
    if len(after) != len(track):
        return

    def resolve(item):
        if "ref" in item:
            return track[int(item["ref"])]
        return _decode(item.get("new"), ep)

    for orig, entry in zip(track, after):
        if not entry:
            continue
        if entry.get("k") == "v":
            new = _decode(entry["v"], ep)
            if isinstance(orig, np.random.Generator) and isinstance(new, np.random.Generator):
                orig.bit_generator.state = new.bit_generator.state
            elif (isinstance(orig, np.ndarray) and isinstance(new, np.ndarray) and orig.flags.writeable
                  and orig.shape == new.shape and orig.dtype == new.dtype):
                if not np.array_equal(orig, new, equal_nan=orig.dtype.kind in "fc"):
                    orig[...] = new
        elif entry.get("k") == "d" and type(orig) is dict:
            items = {_decode(k, ep): resolve(v) for k, v in entry["items"]}
            if list(items) != list(orig) or any(items[k] is not orig[k] for k in items):
                orig.clear()
                orig.update(items)
        elif entry.get("k") == "l" and type(orig) is list:
            items = [resolve(v) for v in entry["items"]]
            if len(items) != len(orig) or any(a is not b for a, b in zip(items, orig)):
                orig[:] = items
