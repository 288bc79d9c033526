"""The translation store's format, read by the build (:mod:`autograder.authoring.translations`) and by the grading
run (a read-only cell of a translated notebook is the released translation, not an edit): per chapter,
``<lang>.md`` beside the chapter text, one keyed block per markdown cell, each recording a hash of the English cell
it translates (see the translations module for the whole story)."""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from autograder.chapters import Chapter, all_chapters

LANGS = ("zh_CN",)
TODO = "todo"
MARKER = re.compile(r"^<!-- key: (?P<key>[A-Za-z0-9_.-]+) source: (?P<hash>[0-9a-f]{12}|todo) -->$")


class StoreError(ValueError):
    """A malformed translation store."""


@dataclass(frozen=True)
class Block:
    key: str
    source_hash: str  # of the English cell translated, or "todo" (a stub: not translated yet)
    text: str


def source_hash(text: str) -> str:
    """The 12-hex-digit hash of an English markdown cell's source (trailing whitespace aside)."""
    return hashlib.sha256(text.rstrip().encode("utf-8")).hexdigest()[:12]


def parse_store(text: str, name: str = "<store>") -> dict[str, Block]:
    """``{key: Block}`` of a store's text; anything before the first marker is a comment. Duplicate keys and
    empty blocks are errors."""
    blocks: dict[str, Block] = {}
    current: tuple[str, str] | None = None
    lines: list[str] = []

    def close():
        if current is None:
            return
        body = "\n".join(lines).strip("\n")
        if not body.strip():
            raise StoreError(f"{name}: block {current[0]!r} is empty")
        blocks[current[0]] = Block(current[0], current[1], body)

    for number, line in enumerate(text.splitlines(), 1):
        match = MARKER.match(line.rstrip())
        if match:
            close()
            if match["key"] in blocks or (current and current[0] == match["key"]):
                raise StoreError(f"{name}:{number}: key {match['key']!r} has two blocks")
            current, lines = (match["key"], match["hash"]), []
        elif line.startswith("<!-- key:"):
            raise StoreError(f"{name}:{number}: malformed marker {line!r} (expected <!-- key: K source: HASH -->)")
        else:
            lines.append(line)
    close()
    return blocks


def format_store(blocks: list[Block], preamble: str = "") -> str:
    """The text of a store holding ``blocks`` in the order given (inverse of :func:`parse_store`)."""
    parts = [preamble.rstrip("\n") + "\n"] if preamble.strip() else []
    parts += [f"<!-- key: {b.key} source: {b.source_hash} -->\n{b.text.strip(chr(10))}\n" for b in blocks]
    return "\n".join(parts)


def store_path(chapter: Chapter, lang: str) -> Path:
    return chapter.folder / f"{lang}.md"


def load_store(chapter: Chapter, lang: str) -> dict[str, Block]:
    path = store_path(chapter, lang)
    return parse_store(path.read_text(encoding="utf-8"), str(path)) if path.exists() else {}




@functools.cache
def translations_of(lang: str) -> dict[str, frozenset[str]]:
    """{hash of an English cell: the texts translating it} over every chapter's ``lang`` store (current blocks)."""
    out: dict[str, set[str]] = {}
    for chapter in all_chapters():
        try:
            blocks = load_store(chapter, lang)
        except (OSError, StoreError):
            continue
        for block in blocks.values():
            if block.source_hash != TODO:
                out.setdefault(block.source_hash, set()).add(block.text.strip())
    return {h: frozenset(texts) for h, texts in out.items()}


def is_translation(lang: str, english: str, text: str) -> bool:
    """Whether ``text`` is the store's current ``lang`` translation of the English cell ``english``."""
    return text.strip() in translations_of(lang).get(source_hash(english), frozenset())
