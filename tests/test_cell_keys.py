"""Every markdown cell of every chapter text has a stable key, unique in the course (translations refer to it),
and the key reaches the source and release notebooks."""

from __future__ import annotations

import pytest

from autograder.chapters import all_chapters
from autograder.chapters.text import ChapterError, read_chapter, write_chapter
from autograder.notebook import load
from autograder.paths import release_path, source_path


def chapter_notebooks():
    return [(c.name, read_chapter(c.text.read_text(encoding="utf-8"), c.name)) for c in all_chapters()]


def test_every_markdown_cell_has_a_key_unique_in_the_course():
    where: dict[str, str] = {}
    for name, nb in chapter_notebooks():
        for cell in nb.cells:
            if cell.cell_type != "markdown":
                assert "key" not in cell.metadata, f"{name}: a code cell has a key"
                continue
            key = cell.metadata.get("key")
            assert key, f"{name}: a markdown cell has no key: {cell.source[:60]!r}"
            assert key not in where, f"key {key!r} is used by {where[key]} and {name}"
            assert key.startswith(f"ch{name[:2]}-"), f"{name}: key {key!r} does not name its chapter"
            where[key] = name


@pytest.mark.parametrize("chapter", [c.name for c in all_chapters()])
def test_the_keys_reach_the_source_and_release_notebooks(chapter):
    for path in (source_path(chapter), release_path(chapter)):
        cells = [c for c in load(path)["cells"] if c["cell_type"] == "markdown"]
        assert cells and all(c["metadata"].get("key") for c in cells), f"{path}: a markdown cell without its key"


def test_a_key_survives_the_round_trip_and_a_duplicate_is_refused():
    text = '# %% [markdown] key="ch01-a"\n# A\n\n# %% [markdown] key="ch01-b"\n# B\n'
    nb = read_chapter(text, "t.py")
    assert [c.metadata["key"] for c in nb.cells] == ["ch01-a", "ch01-b"]
    assert 'key="ch01-b"' in write_chapter(nb)
    with pytest.raises(ChapterError, match="a key belongs to a markdown cell, once"):
        read_chapter(text.replace("ch01-b", "ch01-a"), "t.py")
    with pytest.raises(ChapterError, match="a key belongs to a markdown cell, once"):
        read_chapter('# %% key="ch01-c"\nx = 1\n', "t.py")
