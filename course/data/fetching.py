"""Download, checksum and cache machinery shared by the real data loaders (MNIST, CIFAR-10).

- Cache folder ``cache_dir()``: the ``data_dir`` argument, else ``$COURSE_DATA_DIR``, else
  ``~/.cache/nn-from-scratch``.
- ``fetch(name, urls, dest, md5=...)``: tries each mirror in order; each download goes to a temporary ``.part`` file
  next to ``dest`` with a progress display, is checked against its md5 and only then moved (atomically) to ``dest``.
  A corrupted download is deleted, never cached (``ChecksumError`` names expected and got); when every mirror fails
  (offline) ``DownloadError`` lists what was tried plus the caller's hint (what to download, where to put it).
- ``save_arrays`` / ``load_arrays``: atomic ``.npz`` cache of parsed arrays.
- ``progress_bar``: one ``tqdm.auto`` bar per job (widget in a notebook, rewriting line on a terminal, one final line in
  logs/CI).
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
from tqdm import tqdm as tqdm_std
from tqdm.auto import tqdm as tqdm_auto

from course.i18n import gettext

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
        raise DataError(gettext("cannot create the data cache folder {root} ({error}); set {env} to a writable "
                                "folder", root=root, error=exc, env=CACHE_ENV)) \
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


def _in_kernel() -> bool:
    """True inside a Jupyter (IPython) kernel, where tqdm.auto draws a widget bar."""
    shell = sys.modules.get("IPython")
    try:
        ip = shell.get_ipython() if shell is not None else None
    except AttributeError:
        return False
    return ip is not None and "ipykernel" in type(ip).__module__


class FinalLine:
    """Progress where output is not interactive (logs, CI): silent while running, one summary line on close.

    ``n`` counts like tqdm's; ``stream=None`` prints nothing at all.
    """

    def __init__(self, total: int | None, desc: str, unit: str, stream):
        self.total, self.desc, self.unit, self.stream = total, desc, unit, stream
        self.n = 0
        self.start = time.monotonic()
        self._closed = False

    def update(self, n: int = 1) -> None:
        self.n += n

    def close(self) -> None:
        if self.stream is not None and not self._closed:
            line = tqdm_std.format_meter(self.n, self.total, time.monotonic() - self.start, prefix=self.desc,
                                         unit=self.unit, unit_scale=self.unit == "B", unit_divisor=1000, ncols=0)
            self.stream.write(line + "\n")
            self.stream.flush()
        self._closed = True

    def __enter__(self) -> FinalLine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def progress_bar(total: int | None, desc: str, *, unit: str = "B", enabled: bool = True, stream=None):
    """One progress bar for one job (a download: ``unit="B"``; decoding: ``unit="images"``).

    ``tqdm.auto``: a widget bar in a notebook (a headless run stores it as one output), a single rewriting line
    on a terminal; elsewhere (logs, CI) one final line on close; nothing with ``enabled=False``. Use it as a
    context manager; ``update(k)`` adds k units, ``.n`` is the count so far.
    """
    total = total if total and total > 0 else None
    stream = stream if stream is not None else sys.stderr
    if not enabled:
        return FinalLine(total, desc, unit, None)
    options = dict(total=total, desc=desc, unit=unit, unit_scale=unit == "B", unit_divisor=1000, leave=True)
    if _in_kernel() and stream in (sys.stdout, sys.stderr):
        return tqdm_auto(**options)
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    if tty:
        return tqdm_std(file=stream, mininterval=0.1, **options)
    return FinalLine(total, desc, unit, stream)


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
        count = 0
        with progress_bar(total, gettext("downloading {name}", name=desc), enabled=progress) as bar:
            while True:
                block = response.read(CHUNK)
                if not block:
                    break
                out.write(block)
                count += len(block)
                bar.update(len(block))
    if total is not None and count != total:
        raise OSError(gettext("incomplete download: got {count} of {total} bytes", count=count, total=total))
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
                got = gettext("a file that cannot be unzipped ({error})", error=exc)
            if got != md5:
                line = (gettext("{url}: md5 of the unzipped content expected {md5}, got {got}", url=url, md5=md5,
                                got=got) if gunzip_md5 else
                        gettext("{url}: md5 expected {md5}, got {got}", url=url, md5=md5, got=got))
                mismatched.append("  " + line)
                continue
            _publish(tmp, dest)
            return dest
        finally:
            tmp.unlink(missing_ok=True)
    if mismatched:
        raise ChecksumError(gettext(
            "checksum mismatch for {name}: the downloaded file is corrupted or not the official one, so it was deleted "
            "and nothing was cached.\n{tried}\nRun again to retry the download.", name=name,
            tried="\n".join(mismatched + unreachable)) + (f"\n{hint}" if hint else ""))
    raise DownloadError(gettext("could not download {name} (no network?). Tried:\n{tried}", name=name,
                                tried="\n".join(unreachable)) + (f"\n{hint}" if hint else ""))


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
