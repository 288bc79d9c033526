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

Values: :mod:`autograder.trusted.codec`; errors: :mod:`autograder.trusted.errors`; proxies for the other side's
functions: :mod:`autograder.trusted.proxies`. Design of the whole trusted-checking scheme: :mod:`autograder.trusted`.
"""

from __future__ import annotations

import json
import os
import select
import struct
import subprocess
import time

import numpy as np

from autograder.trusted.codec import BIT_GENERATORS, Puller, after_state, apply_after, decode, encode
from autograder.trusted.errors import ProtocolError, RemoteDied, StudentError
from autograder.trusted.proxies import RemoteFunction, RemoteIterator
from course.compare import recording_warnings

MAX_MESSAGE = 256 * 1024 * 1024

__all__ = ["Endpoint", "ProtocolError", "RemoteDied", "RemoteFunction", "RemoteIterator", "StudentError"]


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
            if obj["n"] not in BIT_GENERATORS:
                raise ProtocolError("unknown bit generator")
            g = np.random.Generator(BIT_GENERATORS[obj["n"]]())
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

    def say_goodbye(self):
        """Tell the other side to stop serving (its :meth:`serve_forever` returns)."""
        self._send({"op": "bye"})

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
