"""The numbers README.md's chapter table quotes, tied to what the notebooks and benchmarks print.

benchmarks/results.json holds every quoted figure ("results") and each table row's measured cell as a template
("readme", placeholders ``{key:format}``). Notebooks print their figures as ``RESULT key=value`` lines.

- ``render_readme_cells()`` / ``readme_cells()``: the cells the results file gives vs the ones README.md has.
- ``check_notebook_results(chapter, executed)``: for benchmarks/bench_notebooks.py (full mode), the list of problems
  (empty when fine) between an executed notebook's RESULT lines and the results file.
- ``python -m tests.results_lines --write-readme``: rewrite README.md's measured cells from the results file.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS_FILE = ROOT / "benchmarks" / "results.json"
README = ROOT / "README.md"
BENCH_RESULTS = ROOT / "benchmarks" / "RESULTS.md"
RESULT_LINE = re.compile(r"^RESULT ([\w.\-]+)=(\S+)\s*$", re.MULTILINE)
PLACEHOLDER = re.compile(r"\{([\w.\-]+):([^}]*)\}")
ROW = re.compile(r"^(\| (\d+) \|(?:[^|\n]*\|){2} )(.*?)( \|[ \t]*)$", re.MULTILINE)


def load_results(path: Path = RESULTS_FILE) -> dict:
    """The results file as a dict with "results", "readme" and "structural"."""
    return json.loads(Path(path).read_text())


def parse_result_lines(text: str) -> dict[str, float]:
    """{key: value} of every ``RESULT key=value`` line in text (the last one wins)."""
    return {key: float(value) for key, value in RESULT_LINE.findall(text)}


def notebook_text(executed) -> str:
    """All stream text of an executed notebook (a path to .ipynb, or the notebook as a dict)."""
    nb = json.loads(Path(executed).read_text()) if isinstance(executed, (str, Path)) else executed
    parts = []
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                text = out.get("text", "")
                parts.append(text if isinstance(text, str) else "".join(text))
    return "\n".join(parts)


def check_notebook_results(chapter: str, executed, results: dict | None = None) -> list[str]:
    """Problems between the RESULT lines of an executed chapter notebook (full mode, offline fixtures) and the
    results file: a figure the file attributes to the chapter that is missing or outside its tolerance."""
    results = (results or load_results())["results"]
    printed = parse_result_lines(notebook_text(executed))
    problems = []
    for key, entry in results.items():
        if entry["source"] != f"notebook {chapter}":
            continue
        if key not in printed:
            problems.append(f"{chapter} printed no 'RESULT {key}=...' line")
        elif abs(printed[key] - entry["value"]) > entry.get("tol", 0):
            problems.append(f"{chapter}: {key} = {printed[key]:g}, results.json says {entry['value']:g} "
                            f"(tolerance {entry.get('tol', 0):g})")
    return problems


def _fill(template: str, results: dict) -> str:
    def value(match):
        key, fmt = match.group(1), match.group(2)
        if key not in results:
            raise KeyError(f"README template names {key!r}, which benchmarks/results.json does not have")
        v = results[key]["value"]
        return format(int(v) if fmt.endswith("d") else float(v), fmt)
    return PLACEHOLDER.sub(value, template)


def render_readme_cells(data: dict | None = None) -> dict[int, str]:
    """{chapter number: measured cell} as the results file renders them."""
    data = data or load_results()
    return {int(n): _fill(t, data["results"]) for n, t in data["readme"].items()}


def readme_cells(text: str | None = None) -> dict[int, str]:
    """{chapter number: measured cell} of README.md's chapter table (its last column)."""
    text = README.read_text() if text is None else text
    return {int(n): cell.strip() for _, n, cell, _ in ROW.findall(text)}


def untied_numbers(data: dict | None = None) -> list[str]:
    """Numbers written literally in a README template (outside placeholders and the structural phrases)."""
    data = data or load_results()
    found = []
    for n, template in data["readme"].items():
        literal = PLACEHOLDER.sub(" ", template)
        for phrase in sorted(data.get("structural", []), key=len, reverse=True):
            literal = literal.replace(phrase, " ")
        found += [f"row {n}: {num}" for num in re.findall(r"\d+(?:\.\d+)?", literal)]
    return found


def write_readme(data: dict | None = None) -> None:
    """Rewrite README.md's measured cells from the results file."""
    cells = render_readme_cells(data)
    text = README.read_text()

    def row(match):
        n = int(match.group(2))
        return match.group(1) + cells[n] + match.group(4) if n in cells else match.group(0)
    README.write_text(ROW.sub(row, text))


if __name__ == "__main__":
    if sys.argv[1:] == ["--write-readme"]:
        write_readme()
        print("README.md chapter table rewritten from", RESULTS_FILE.relative_to(ROOT))
    else:
        print("usage: python -m tests.results_lines --write-readme", file=sys.stderr)
        raise SystemExit(2)
