"""Offline fixture subsets (used by the tests and CI instead of downloading the real data)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from course.i18n import gettext

ENV_VAR = "COURSE_DATA_FIXTURES"


def fixture_dir() -> Path | None:
    """The fixture folder named by ``COURSE_DATA_FIXTURES``, or None when it is not set."""
    value = os.environ.get(ENV_VAR, "").strip()
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(gettext("{env}={value!r} is not a folder; unset it to use the real data", env=ENV_VAR,
                                        value=value))
    return path


def load_fixture(name: str) -> dict[str, np.ndarray] | None:
    """Arrays of ``<fixture dir>/<name>.npz`` as a dict, or None when no fixture folder is configured."""
    folder = fixture_dir()
    if folder is None:
        return None
    path = folder / f"{name}.npz"
    if not path.exists():
        raise FileNotFoundError(gettext("{env} is set but {path} does not exist", env=ENV_VAR, path=path))
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}
