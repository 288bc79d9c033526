"""What course-grade checks of a submitted file before anything runs it."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from autograder.grading.safe_text import visible

MAX_DEPTH = 64  # nesting of JSON a notebook ever needs (nbformat's own structure is ~8 deep)
GRADE_ID = re.compile(r"[A-Za-z0-9_.-]{1,100}")
TOO_DEEP = ("{name} nests its JSON far deeper than any notebook (metadata edited by hand or by a program?): it was "
            "not run; restore the notebook's metadata")
BAD_GRADE_ID = ("{name} has nbgrader grade ids no notebook of the course has ({ids}): a cell's metadata was edited; "
                "it was not run; restore the cells' metadata")


def _depth(value, limit: int = MAX_DEPTH + 1) -> int:
    """Nesting depth of decoded JSON (stops counting past ``limit``), without recursion."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        node, d = todo.pop()
        deepest = max(deepest, d)
        if d > limit:
            return d
        if isinstance(node, dict):
            todo += [(v, d + 1) for v in node.values()]
        elif isinstance(node, list):
            todo += [(v, d + 1) for v in node]
    return deepest


def bad_grade_ids(nb) -> list[str]:
    """The grade ids of ``nb`` that are not plain identifiers (escaped for display)."""
    out = []
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader")
        gid = meta.get("grade_id") if isinstance(meta, dict) else None
        if gid is not None and not (isinstance(gid, str) and GRADE_ID.fullmatch(gid)):
            out.append(repr(visible(str(gid)))[:60])
    return out


def check_notebook_file(path: Path, backup_dir: Path) -> tuple[bool, list[str]]:
    """(usable, notes). Upgrades nbformat 3 in place (original kept in backup_dir)."""
    import nbformat

    if not path.exists():
        return False, [f"{path.name} is missing"]
    raw = path.read_bytes()
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return False, [f"{path.name} is not valid JSON ({visible(str(exc)[:80])})"]
    except RecursionError:
        return False, [TOO_DEEP.format(name=path.name)]
    if not isinstance(data, dict) or not isinstance(data.get("nbformat"), int):
        return False, [f"{path.name} is not a Jupyter notebook (no nbformat version)"]
    try:
        nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
        nbformat.validate(nb)
        depth_ok = _depth(data) <= MAX_DEPTH
    except RecursionError:
        return False, [TOO_DEEP.format(name=path.name)]
    except Exception as exc:
        return False, [f"{path.name} is not a valid notebook (nbformat {data.get('nbformat')}: "
                       f"{type(exc).__name__}: {str(exc).splitlines()[0][:80] if str(exc) else ''})"]
    if not depth_ok:
        return False, [TOO_DEEP.format(name=path.name)]
    bad = bad_grade_ids(nb)
    if bad:
        return False, [BAD_GRADE_ID.format(name=path.name, ids=", ".join(bad[:3]))]
    if data["nbformat"] != 4:
        backup_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, backup_dir / path.name)
        nbformat.write(nb, str(path))
        return True, [f"{path.name} was nbformat {data['nbformat']}: upgraded to 4 (original in {backup_dir})"]
    return True, []
