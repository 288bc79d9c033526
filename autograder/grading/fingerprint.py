"""What a grading machine runs: a fingerprint of the course code, so that every Dask worker grades with the same
checks as the instructor's machine (:mod:`autograder.grading.dask_client` refuses a worker that differs).

The manifest is ``{relative path: sha256}`` of every file of the ``course`` and ``autograder`` packages (the
course package students import, every chapter's checks, references and answers, the trusted judge, the sandbox
and the grading code) plus the versions of Python and of the libraries that run and score a notebook. The
chapter's source notebook and ``nbgrader_config.py`` travel with every task (their hash is checked on arrival).
"""

from __future__ import annotations

import hashlib
import platform
from importlib import metadata
from pathlib import Path

from autograder.paths import ROOT

PACKAGES = ("course", "autograder")
LIBRARIES = ("numpy", "nbgrader", "nbconvert", "nbclient", "nbformat", "ipykernel", "jupyter_client")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def code_files(root: Path = ROOT) -> list[Path]:
    """Every file of :data:`PACKAGES` under ``root`` (no bytecode caches)."""
    return sorted(p for top in PACKAGES for p in (root / top).rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")


def manifest() -> dict[str, str]:
    """``{path: sha256}`` of the course code on disk now (what the grading processes a task starts will run),
    plus ``version:<library>`` entries. Read afresh each time (~20 ms): an update of a worker shows at once."""
    out = {str(p.relative_to(ROOT)): sha256(p.read_bytes()) for p in code_files()}
    out["version:python"] = platform.python_version()
    for lib in LIBRARIES:
        try:
            out[f"version:{lib}"] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            out[f"version:{lib}"] = "not installed"
    return out


def fingerprint(entries: dict[str, str] | None = None) -> str:
    """One hash of a manifest (this process's by default)."""
    entries = manifest() if entries is None else entries
    return sha256("\n".join(f"{k}\t{v}" for k, v in sorted(entries.items())).encode())


def differences(mine: dict[str, str], theirs: dict[str, str], limit: int = 8) -> list[str]:
    """What differs between two manifests, as short lines (at most ``limit``, then a count)."""
    keys = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
    lines = []
    for k in keys[:limit]:
        if k.startswith("version:"):
            lines.append(f"{k[8:]} {theirs.get(k, 'missing')} (here {mine.get(k, 'missing')})")
        elif k not in theirs:
            lines.append(f"{k} is missing")
        elif k not in mine:
            lines.append(f"{k} is extra")
        else:
            lines.append(f"{k} differs")
    if len(keys) > limit:
        lines.append(f"and {len(keys) - limit} more")
    return lines
