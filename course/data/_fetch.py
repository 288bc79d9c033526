"""Download, checksum and cache machinery shared by the real data loaders (MNIST, CIFAR-10).

- Cache folder ``cache_dir()``: the ``data_dir`` argument, else ``$COURSE_DATA_DIR``, else
  ``~/.cache/nn-from-scratch``.
- ``fetch(name, urls, dest, md5=...)``: tries each mirror in order; each download goes to a temporary ``.part`` file
  next to ``dest`` with a progress display, is checked against its md5 and only then moved (atomically) to ``dest``.
  A corrupted download is deleted, never cached (``ChecksumError`` names expected and got); when every mirror fails
  (offline) ``DownloadError`` lists what was tried plus the caller's hint (what to download, where to put it).
- ``save_arrays`` / ``load_arrays``: atomic ``.npz`` cache of parsed arrays.
- ``Progress``: bytes/percent (or items) display; a self-updating line on a terminal or in Jupyter, throttled plain
  text lines otherwise (logs, CI).
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
import zlib
from pathlib import Path

import numpy as np

CACHE_ENV = "COURSE_DATA_DIR"
DEFAULT_CACHE = "~/.cache/nn-from-scratch"
USER_AGENT = "nn-from-scratch-course/1.0 (python urllib)"
CHUNK = 1 << 20

# The opener used for every download; tests replace it (no network in tests).
urlopen = urllib.request.urlopen


class DataError(RuntimeError):
    """A data set could not be loaded; the message says why and what to do."""


class ChecksumError(DataError):
    """A file's md5 is not the published one (corrupted or wrong file); the file is never cached."""


class DownloadError(DataError):
    """Every mirror failed (usually: no network); the message says what to download by hand and where to put it."""


# ----------------------------------------------------------------------------------------------------------------
# cache folder and checksums


def _publish(tmp: str | os.PathLike, dest: Path) -> None:
    """Move the finished temporary file ``tmp`` onto ``dest`` atomically, with the usual (umask) permissions."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, dest)


def cache_dir(data_dir: str | os.PathLike | None = None, sub: str | None = None) -> Path:
    """The cache folder (created): ``data_dir``, else ``$COURSE_DATA_DIR``, else ``~/.cache/nn-from-scratch``."""
    if data_dir is None:
        data_dir = os.environ.get(CACHE_ENV, "").strip() or DEFAULT_CACHE
    root = Path(data_dir).expanduser()
    if sub:
        root = root / sub
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"cannot create the data cache folder {root} ({exc}); set {CACHE_ENV} to a writable folder") \
            from exc
    return root


def md5_bytes(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def md5_file(path: str | os.PathLike, *, gunzip: bool = False) -> str:
    """md5 hex digest of a file, or of its unzipped content with ``gunzip=True`` (OSError/EOFError if not gzip)."""
    digest = hashlib.md5(usedforsecurity=False)
    opener = gzip.open if gunzip else open
    with opener(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


# ----------------------------------------------------------------------------------------------------------------
# progress display


def _human(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"  # pragma: no cover


def _is_interactive(stream) -> bool:
    try:
        if stream.isatty():
            return True
    except (AttributeError, ValueError):
        return False
    # Jupyter renders carriage returns in stream output, so a self-updating line works there too.
    return "ipykernel" in sys.modules and stream in (sys.stdout, sys.stderr)


class Progress:
    """Progress of ``total`` units (bytes with ``unit="B"``, else items; ``total`` may be None when unknown).

    On a terminal (or in Jupyter) one line updates in place at most every 0.1 s; otherwise (logs, CI) plain lines
    are printed at most every ``min_interval`` seconds (default 5), plus a final line. ``enabled=False`` prints nothing.
    """

    def __init__(self, total: int | None, desc: str, *, unit: str = "B", stream=None, enabled: bool = True,
                 min_interval: float | None = None):
        self.total = total if total and total > 0 else None
        self.desc = desc
        self.unit = unit
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.interactive = enabled and _is_interactive(self.stream)
        self.min_interval = min_interval if min_interval is not None else (0.1 if self.interactive else 5.0)
        self.count = 0
        self.start = time.monotonic()
        self._last = -float("inf")
        self._closed = False

    def _line(self) -> str:
        if self.unit == "B":
            done = _human(self.count) + (f" / {_human(self.total)}" if self.total else "")
        else:
            done = f"{self.count}" + (f" / {self.total}" if self.total else "") + f" {self.unit}"
        pct = f" ({100 * self.count / self.total:3.0f}%)" if self.total else ""
        elapsed = time.monotonic() - self.start
        rate = ""
        if elapsed > 0 and self.count:
            per_s = self.count / elapsed
            rate = f", {_human(per_s)}/s" if self.unit == "B" else f", {per_s:.0f} {self.unit}/s"
        return f"{self.desc}: {done}{pct}{rate}, {elapsed:.1f} s"

    def _emit(self, final: bool = False) -> None:
        if self.interactive:
            self.stream.write("\r" + self._line() + ("\n" if final else ""))
        else:
            self.stream.write(self._line() + "\n")
        self.stream.flush()

    def update(self, n: int) -> None:
        self.count += n
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last >= self.min_interval:
            self._last = now
            self._emit()

    def close(self) -> None:
        if self.enabled and not self._closed:
            self._emit(final=True)
        self._closed = True

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ----------------------------------------------------------------------------------------------------------------
# downloads

# Errors that mean "this mirror did not work, try the next one".
_NETWORK_ERRORS = (OSError, urllib.error.URLError, http.client.HTTPException, ValueError)


def _download(url: str, out, desc: str, progress: bool, timeout: float) -> int:
    """Stream ``url`` into the open binary file ``out``; returns the byte count (raises on incomplete downloads)."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    with urlopen(request, timeout=timeout) as response:
        length = response.headers.get("Content-Length") if getattr(response, "headers", None) else None
        total = int(length) if length and str(length).isdigit() else None
        with Progress(total, f"downloading {desc}", enabled=progress) as bar:
            while True:
                block = response.read(CHUNK)
                if not block:
                    break
                out.write(block)
                bar.update(len(block))
            count = bar.count
    if total is not None and count != total:
        raise OSError(f"incomplete download: got {count} of {total} bytes")
    return count


def fetch(name: str, urls: list[str] | tuple[str, ...], dest: str | os.PathLike, *, md5: str, gunzip_md5: bool = False,
          progress: bool = True, timeout: float = 30.0, hint: str = "") -> Path:
    """Download ``name`` from the first of ``urls`` that works into ``dest``, verified against ``md5``.

    ``gunzip_md5=True`` checks the md5 of the unzipped content (for mirrors that re-zip). The file is written to a
    temporary file in ``dest``'s folder and moved into place only when the checksum matches. Raises ChecksumError
    (expected vs got; the bad file is deleted) if a mirror served a wrong file and no mirror served the right one,
    DownloadError (with ``hint`` appended) if no mirror could be reached.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    unreachable: list[str] = []
    mismatched: list[str] = []
    for url in urls:
        fd, tmp_name = tempfile.mkstemp(prefix=dest.name + ".", suffix=".part", dir=dest.parent)
        tmp = Path(tmp_name)
        try:
            try:
                with os.fdopen(fd, "wb") as out:
                    _download(url, out, name, progress, timeout)
            except _NETWORK_ERRORS as exc:
                unreachable.append(f"  {url}: {exc}")
                continue
            try:
                got = md5_file(tmp, gunzip=gunzip_md5)
            except (OSError, EOFError, zlib.error) as exc:
                got = f"a file that cannot be unzipped ({exc})"
            if got != md5:
                what = "md5 of the unzipped content" if gunzip_md5 else "md5"
                mismatched.append(f"  {url}: {what} expected {md5}, got {got}")
                continue
            _publish(tmp, dest)
            return dest
        finally:
            tmp.unlink(missing_ok=True)
    if mismatched:
        raise ChecksumError(
            f"checksum mismatch for {name}: the downloaded file is corrupted or not the official one, "
            f"so it was deleted and nothing was cached.\n" + "\n".join(mismatched + unreachable)
            + "\nRun again to retry the download." + (f"\n{hint}" if hint else ""))
    raise DownloadError(f"could not download {name} (no network?). Tried:\n" + "\n".join(unreachable)
                        + (f"\n{hint}" if hint else ""))


# ----------------------------------------------------------------------------------------------------------------
# parsed-array cache


def save_arrays(path: str | os.PathLike, **arrays: np.ndarray) -> Path:
    """Write ``arrays`` to ``path`` (.npz, uncompressed) atomically: readers never see a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=path.name + ".", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        _publish(tmp_name, path)
    finally:
        Path(tmp_name).unlink(missing_ok=True)
    return path


def load_arrays(path: str | os.PathLike, keys: tuple[str, ...]) -> dict[str, np.ndarray] | None:
    """Arrays ``keys`` from the cache file ``path``, or None if it is missing or unreadable (then it is deleted)."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in keys}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        path.unlink(missing_ok=True)
        return None
