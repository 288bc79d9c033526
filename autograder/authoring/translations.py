"""The translation store: per chapter, ``<lang>.md`` beside the chapter text, one keyed block per markdown cell.

A block starts with a marker line naming the cell's key and a hash of the English cell it translates::

    <!-- key: ch01-predict source: 3f0c9a1b2d4e -->
    ## 1. 预测
    ...

A block whose hash is not that of the current English cell is *stale* (the English changed since it was
translated); a cell without a block, or with a ``source: todo`` stub, is *missing*; a block whose key no chapter
cell has is an *orphan*. Code cells are never translated: the translated notebook is the English one with the
markdown sources replaced, so code, nbgrader metadata, cell ids and grade ids are the same in both editions.

Usage::

    python -m autograder.authoring.translations status [--lang zh_CN] [chapter ...]   # exit 1 if incomplete
    python -m autograder.authoring.translations stub [--lang zh_CN] [chapter ...]     # add todo blocks (English)
    python -m autograder.authoring.translations stamp CHAPTER KEY ...   # the translation was checked: new hash

``status`` also reports the translated student guide and README (:mod:`autograder.authoring.doc_translations`).
"""

from __future__ import annotations

import argparse
import copy
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder.chapters import Chapter, all_chapters, get
from autograder.chapters.store import (
    LANGS,
    TODO,
    Block,
    StoreError,
    format_store,
    load_store,
    parse_store,
    source_hash,
    store_path,
)
from autograder.chapters.text import read_chapter


@dataclass
class Status:
    """What a store lacks against the English cells: keys in chapter order."""

    total: int = 0
    done: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not (self.missing or self.stale or self.orphans)


def english_cells(nb: nbformat.NotebookNode) -> list[tuple[str, str]]:
    """``[(key, source)]`` of a chapter notebook's markdown cells, in order (a cell without a key, not yet given
    one, counts as ``<cell N has no key>``: never translated)."""
    return [(c.metadata.get("key", f"<cell {i} has no key>"), c.source)
            for i, c in enumerate(nb.cells) if c.cell_type == "markdown"]


def status(english: list[tuple[str, str]], blocks: dict[str, Block]) -> Status:
    """Compare a store with the English cells it translates."""
    out = Status(total=len(english))
    for key, source in english:
        block = blocks.get(key)
        if block is None or block.source_hash == TODO:
            out.missing.append(key)
        elif block.source_hash != source_hash(source):
            out.stale.append(key)
        else:
            out.done.append(key)
    keys = {k for k, _ in english}
    out.orphans = [k for k in blocks if k not in keys]
    return out


def translate(nb: nbformat.NotebookNode, blocks: dict[str, Block], lang: str) -> nbformat.NotebookNode:
    """A copy of ``nb`` (a source or release notebook) with every markdown cell in ``lang``: only the markdown
    sources change (and ``metadata.course.language``). Refuses an incomplete or stale translation."""
    english = english_cells(nb)
    state = status(english, blocks)
    if state.missing or state.stale:
        raise StoreError(f"{lang}: missing {state.missing}, stale {state.stale}")
    out = copy.deepcopy(nb)
    for cell in out.cells:
        if cell.cell_type == "markdown":
            cell.source = blocks[cell.metadata["key"]].text
            if "checksum" in cell.metadata.get("nbgrader", {}):
                cell.metadata.nbgrader.checksum = translated_checksum(cell)
    out.metadata.setdefault("course", {})["language"] = lang
    return out


def translated_checksum(cell: nbformat.NotebookNode) -> str:
    """nbgrader's checksum of a read-only markdown cell after translation. nbgrader hashes a locked cell's source
    (``nbgrader.utils.compute_checksum``: source, type, flags, grade id, points), and ``nbgrader validate`` (the
    Assignments tab's Validate) flags a locked cell whose source no longer matches its recorded checksum: the
    translated release records the checksum of its own text. (``course-grade`` knows the translation is no edit:
    :class:`autograder.grading.preprocessors.overwrite_cells.CourseOverwriteCells`.)"""
    from nbgrader.utils import compute_checksum

    return compute_checksum(cell)


def without_checksum(cell: dict) -> dict:
    """``cell`` without nbgrader's checksum (the rest of its metadata kept)."""
    meta = dict(cell.get("metadata", {}))
    if "nbgrader" in meta:
        meta["nbgrader"] = {k: v for k, v in meta["nbgrader"].items() if k != "checksum"}
    return {**cell, "metadata": meta}


def edition_differences(english: dict, translated: dict) -> list[str]:
    """What differs between two editions of a notebook besides the markdown text: cell count, order, types,
    ids, metadata, and every code cell's source. Empty when only the prose differs."""
    problems = []
    a, b = english["cells"], translated["cells"]
    if len(a) != len(b):
        return [f"{len(a)} cells against {len(b)}"]
    for i, (x, y) in enumerate(zip(a, b)):
        if x.get("cell_type") == "markdown":  # a read-only markdown cell's checksum is of its own text
            x, y = without_checksum(x), without_checksum(y)
        for part in ("cell_type", "id", "metadata"):
            if x.get(part) != y.get(part):
                problems.append(f"cell {i}: {part} differs")
        if x["cell_type"] != "markdown" and x["source"] != y["source"]:
            problems.append(f"cell {i} ({x.get('metadata', {}).get('nbgrader', {}).get('grade_id', 'code')}): "
                            "the code differs")
    strip = {k: v for k, v in translated.get("metadata", {}).items() if k != "course"}
    if strip != {k: v for k, v in english.get("metadata", {}).items() if k != "course"}:
        problems.append("notebook metadata differs")
    return problems


def chapter_notebook(chapter: Chapter) -> nbformat.NotebookNode:
    return read_chapter(chapter.text.read_text(encoding="utf-8"), chapter.name)


def chapter_status(chapter: Chapter, lang: str) -> Status:
    return status(english_cells(chapter_notebook(chapter)), load_store(chapter, lang))


def translated_releases(chapter: Chapter, release_nb: Path) -> dict[str, str | None]:
    """``{lang: notebook text}`` of the translated releases of a freshly built English release notebook;
    ``None`` for a language whose translation of the chapter is incomplete (no release in that language)."""
    english = nbformat.read(str(release_nb), as_version=4)
    out: dict[str, str | None] = {}
    for lang in LANGS:
        blocks = load_store(chapter, lang)
        if status(english_cells(english), blocks).complete:
            out[lang] = nbformat.writes(translate(english, blocks, lang)) + "\n"
        else:
            out[lang] = None
    return out


def stub(chapter: Chapter, lang: str) -> list[str]:
    """Add a ``todo`` block (the English text, to be replaced) for every missing cell; the store is rewritten in
    chapter order, its translated blocks unchanged. Returns the keys added."""
    path = store_path(chapter, lang)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    blocks = parse_store(text, str(path))
    preamble = text.split("<!-- key:", 1)[0] if text else f"<!-- {lang} translation of chapter {chapter.name}; " \
        "see docs/glossary-zh.md and `python -m autograder.authoring.translations status` -->\n"
    added, ordered = [], []
    for key, source in english_cells(chapter_notebook(chapter)):
        if key not in blocks:
            blocks[key] = Block(key, TODO, source)
            added.append(key)
        ordered.append(blocks.pop(key))
    path.write_text(format_store(ordered + list(blocks.values()), preamble), encoding="utf-8")
    return added


def stamp(chapter: Chapter, lang: str, keys: list[str]) -> None:
    """Record that the blocks ``keys`` translate the current English cells (after checking them by hand)."""
    path = store_path(chapter, lang)
    text = path.read_text(encoding="utf-8")
    english = dict(english_cells(chapter_notebook(chapter)))
    blocks = parse_store(text, str(path))
    unknown = [k for k in keys if k not in english or k not in blocks]
    if unknown:
        raise StoreError(f"{path}: no English cell or no block for {unknown}")
    for key in keys:
        text = text.replace(f"<!-- key: {key} source: {blocks[key].source_hash} -->",
                            f"<!-- key: {key} source: {source_hash(english[key])} -->")
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("status", "stub", "stamp"))
    parser.add_argument("--lang", default=LANGS[0], choices=LANGS)
    parser.add_argument("args", nargs="*", help="chapters (status, stub); CHAPTER KEY ... (stamp)")
    args = parser.parse_args(argv)
    if args.command == "stamp":
        if len(args.args) < 2:
            parser.error("stamp CHAPTER KEY ...")
        stamp(get(args.args[0]), args.lang, args.args[1:])
        return 0
    chapters = [get(n) for n in args.args] if args.args else all_chapters()
    incomplete = 0
    for chapter in chapters:
        if args.command == "stub":
            print(f"{chapter.name}: {len(stub(chapter, args.lang))} todo block(s) added")
            continue
        s = chapter_status(chapter, args.lang)
        incomplete += not s.complete
        print(f"{chapter.name}: {len(s.done)}/{s.total} translated" + ("" if s.complete else ":"))
        for label, keys in (("missing", s.missing), ("stale", s.stale), ("orphan", s.orphans)):
            if keys:
                print(f"  {label}: {' '.join(keys)}")
    if args.command == "status" and not args.args:  # every chapter: the translated guide and README too
        from autograder.authoring import doc_translations

        incomplete += doc_translations.main(["status"])
    return 1 if incomplete else 0


if __name__ == "__main__":
    sys.exit(main())
