"""Values on the judge's channel as JSON-able data, never objects (see :mod:`autograder.trusted.channel`).

Numbers, strings, arrays via ``np.save(allow_pickle=False)``, lists/tuples/dicts of them and their subclasses,
generator states; callables become *handles* (``ep.register``), iterators are pulled lazily. After a call, the
callee reports the state of every argument object (:func:`after_state`) and the caller mirrors it onto its
originals (:func:`apply_after`), so in-place changes at any depth cross the boundary.
"""

from __future__ import annotations

import base64
import io
import json

import numpy as np

from autograder.trusted.errors import ProtocolError, tagged

# Values as JSON-able data, never objects. Subclasses of dict/list/tuple (OrderedDict, defaultdict, namedtuples)
# travel as their base type: the receiving side only ever builds dict, list and tuple. ``track`` lists the
# arrays, generators and containers of a call's arguments in pre-order, so that the other side's in-place
# changes, at any depth, can be mirrored onto the same objects afterwards (after_state / apply_after).
MAX_DEPTH = 60  # containers nested deeper than this (or cyclic) are refused


BIT_GENERATORS = {"PCG64": np.random.PCG64, "PCG64DXSM": np.random.PCG64DXSM, "Philox": np.random.Philox,
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
        raise tagged(TypeError("a structure nested too deeply (or containing itself)"), "uncomparable_nested", {})
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
            raise tagged(TypeError("an array of Python objects"), "uncomparable_objects", {})
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
    name = type(value).__name__
    raise tagged(TypeError(f"a {name} object"), "uncomparable_type", {"type_name": name})


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
                value[hashable_key(decode(k, ep))] = decode(v, ep, track)
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
        return {hashable_key(decode(k, ep)): decode(v, ep) for k, v in obj["v"]}
    if t == "c":
        return complex(*obj["v"])
    if t == "h":
        return ep.remote_function(f"h:{int(obj['h'])}", str(obj.get("n", "function")))
    if t == "it":
        return ep.remote_iterator(f"h:{int(obj['h'])}", ep.current_track)
    raise ProtocolError(f"unknown value type {t!r}")


def hashable_key(k):
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
            items = {hashable_key(decode(k, ep)): resolve(v) for k, v in entry["items"]}
            if list(items) != list(orig) or any(items[k] is not orig[k] for k in items):
                orig.clear()
                orig.update(items)
        elif entry.get("k") == "l" and isinstance(orig, list):
            items = [resolve(v) for v in entry["items"]]
            if len(items) != len(orig) or any(a is not b for a, b in zip(items, orig)):
                orig[:] = items
