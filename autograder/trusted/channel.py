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
from autograder.trusted.errors import REMOTE_KEYS, ProtocolError, RemoteDied, StudentError, english, key_of, tagged
from autograder.trusted.proxies import RemoteFunction, RemoteIterator
from course.compare import recording_warnings

MAX_MESSAGE = 256 * 1024 * 1024

__all__ = ["Endpoint", "ProtocolError", "RemoteDied", "RemoteFunction", "RemoteIterator", "StudentError"]


class Endpoint:
    """One side of a length-prefixed JSON channel. Both sides can call the other (nested calls allowed).

    ``render(key, names)``: the text of a keyed message (:data:`autograder.trusted.errors.MESSAGES`) this side
    raises; English by default (the sandbox's side), the learner's language on the trusted side
    (:func:`autograder.trusted.wording.render`)."""

    def __init__(self, rfd: int, wfd: int, resolve, timeout: float | None = None, peer=None, render=None):
        self.rfd, self.wfd = rfd, wfd
        self.resolve = resolve  # target string -> local callable (raises KeyError if not allowed)
        self.handles: dict[int, object] = {}
        self.timeout = timeout
        self.peer = peer  # Popen of the other side, to report its exit code
        self.next_id = 0
        self.dead: str | None = None
        self.render = render or english
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
            self._die(f"the connection broke ({exc.strerror})", key="broke", names={"error": exc.strerror})

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

    def _die(self, what: str, timeout: bool = False, key: str = "crashed", names: dict | None = None):
        if timeout and self.peer is not None:
            self.peer.kill()
        code = None
        if self.peer is not None:
            try:
                code = self.peer.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.peer.kill()
        self.dead = what
        if timeout:
            key, names = "timeout", {"seconds": self.timeout}
        elif key == "crashed" and code is not None:
            key, names = "crashed_code", {"code": code}
        raise self._keyed(RemoteDied, key, names or {})

    def _keyed(self, kind, key: str, names: dict) -> BaseException:
        """An error of type ``kind`` whose message is ``key``'s, rendered on this side (and remembering its key)."""
        return tagged(kind(self.render(key, names)), key, names)

    def _desync(self, what: str, key: str | None = None, names: dict | None = None):
        """The stream can no longer be trusted to be in step: end the other side and refuse further calls."""
        self.dead = what
        if self.peer is not None:
            self.peer.kill()
        raise self._keyed(ProtocolError, key, names or {}) if key else ProtocolError(what)

    def _recv(self, deadline: float | None) -> dict:
        (n,) = struct.unpack(">Q", self._read_exact(8, deadline))
        if n > MAX_MESSAGE:
            self._desync("too big", key="too_big", names={"size": n / 1e6, "limit": MAX_MESSAGE >> 20})
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
            raise self._keyed(RemoteDied, "dead_timeout" if self.dead == "timed out" else "dead_earlier", {})
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
                raise self._student_error(msg, info["warnings"])
            else:
                raise ProtocolError(f"unexpected message {op!r}")

    def _student_error(self, msg: dict, warnings: list) -> StudentError:
        """The error the other side's code raised. A message it sent by key (one of ``REMOTE_KEYS``, with plain
        values) is rendered here, in this side's language; any other text is kept as sent, never parsed."""
        ename, text = str(msg.get("ename", "Exception"))[:100], str(msg.get("message", ""))[:2000]
        key, names = msg.get("key"), msg.get("names")
        if key in REMOTE_KEYS and isinstance(names, dict) and len(names) <= 5 \
                and all(isinstance(k, str) and type(v) in (str, int, float) for k, v in names.items()):
            names = {k[:40]: v[:1000] if isinstance(v, str) else v for k, v in names.items()}
            try:
                return tagged(StudentError(ename, self.render(key, names), warnings), key, names)
            except (KeyError, IndexError, ValueError):
                pass
        return StudentError(ename, text, warnings)

    def _raise_reply(self, call_id, exc: BaseException, ename: str | None = None, **extra) -> dict:
        """The ``raise`` message for ``exc`` (its key and values too when it carries them, see ``tagged``)."""
        msg = {"op": "raise", "id": call_id, "ename": ename or type(exc).__name__, "message": _safe_str(exc),
               **extra}
        key = key_of(exc)
        if key in REMOTE_KEYS:
            msg["key"], msg["names"] = key, getattr(exc, "message_names", {})
        return msg

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
            self._send(self._raise_reply(call_id, exc, "ProtocolError"))
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
            self._send(self._raise_reply(call_id, exc, rngs=self._rng_states(), warnings=log))
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
            key = key_of(exc) or "uncomparable_type"
            names = getattr(exc, "message_names", None) or {"type_name": type(result).__name__}
            self._send(self._raise_reply(call_id, self._keyed(TypeError, key, names), warnings=log))
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
