"""What course-grade checks of a submitted file before anything runs it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path


def check_notebook_file(path: Path, backup_dir: Path) -> tuple[bool, list[str]]:
    """(usable, notes). Upgrades nbformat 3 in place (original kept in backup_dir)."""
    import nbformat

    if not path.exists():
        return False, [f"{path.name} is missing"]
    raw = path.read_bytes()
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return False, [f"{path.name} is not valid JSON ({str(exc)[:80]})"]
    if not isinstance(data, dict) or not isinstance(data.get("nbformat"), int):
        return False, [f"{path.name} is not a Jupyter notebook (no nbformat version)"]
    try:
        nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
        nbformat.validate(nb)
    except Exception as exc:
        return False, [f"{path.name} is not a valid notebook (nbformat {data.get('nbformat')}: "
                       f"{type(exc).__name__}: {str(exc).splitlines()[0][:80] if str(exc) else ''})"]
    if data["nbformat"] != 4:
        backup_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, backup_dir / path.name)
        nbformat.write(nb, str(path))
        return True, [f"{path.name} was nbformat {data['nbformat']}: upgraded to 4 (original in {backup_dir})"]
    return True, []
