"""The translated student guide and README against the English they translate (issue 30), like the chapters'
translation store (:mod:`autograder.authoring.translations`): each translated section records, on the line after its
heading, the English section it translates and a hash of that section's text (:func:`autograder.chapters.store.
source_hash`)::

    ## 学习一章的步骤
    <!-- en: ## Working through a chapter | source: 3f0c9a1b2d4e -->

A section written for the translation only says ``<!-- en: none -->``. A section is *stale* when its English
section changed since it was translated (or no longer exists), *unmarked* when it has no such line; an English
section no translated section covers is *missing* (the guide translates every section; the Chinese README is a
shorter one and may leave sections out). A section runs from its heading to the next heading of any level (a
``###`` subsection is a section of its own), code blocks aside.

Usage::

    python -m autograder.authoring.doc_translations status               # exit 1 when something is stale
    python -m autograder.authoring.doc_translations stamp FILE [HEADING ...]  # re-translated: record the new hashes
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from autograder.chapters.store import source_hash
from autograder.paths import ROOT

# translated document -> (the English document, whether every English section must be translated)
DOCS = {"docs/student-guide.zh-CN.md": ("docs/student-guide.md", True),
        "README.zh-CN.md": ("README.md", False)}
HEADING = re.compile(r"^#{1,6} \S")
FENCE = re.compile(r"^\s*(```|~~~)")
MARK = re.compile(r"^<!-- en: (?:none|(?P<heading>#{1,6} .+?) \| source: (?P<hash>[0-9a-f]{12})) -->$")


def sections(text: str) -> list[tuple[str, str]]:
    """``[(heading line, whole section text)]`` of a markdown document (the text before the first heading is left
    out; ``#`` lines inside code blocks are not headings)."""
    out: list[tuple[str, list[str]]] = []
    fenced = False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
        if not fenced and HEADING.match(line):
            out.append((line.rstrip(), []))
        if out:
            out[-1][1].append(line)
    return [(heading, "\n".join(lines)) for heading, lines in out]


def english_hashes(english: str) -> dict[str, str]:
    """``{heading line: hash}`` of the English document's sections (the hash without the marker lines)."""
    return {heading: source_hash(body) for heading, body in sections(english)}


@dataclass
class DocStatus:
    """What a translated document lacks against its English one (English headings, or translated ones)."""

    done: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    unmarked: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not (self.stale or self.unmarked or self.missing)


def marks(translated: str) -> list[tuple[str, re.Match | None]]:
    """``[(translated heading, its marker match or None)]``: the marker is the first non-blank line after it."""
    out = []
    for heading, body in sections(translated):
        first = next((ln.strip() for ln in body.splitlines()[1:] if ln.strip()), "")
        out.append((heading, MARK.match(first)))
    return out


def doc_status(translated: str, english: str, complete: bool) -> DocStatus:
    """Compare a translated document's markers with the English document's sections."""
    hashes = english_hashes(english)
    out = DocStatus()
    covered = set()
    for heading, mark in marks(translated):
        if mark is None:
            out.unmarked.append(heading)
        elif mark["heading"] is not None:
            covered.add(mark["heading"])
            fresh = hashes.get(mark["heading"]) == mark["hash"]
            (out.done if fresh else out.stale).append(f"{heading} ({mark['heading']})")
    if complete:
        out.missing = [h for h in hashes if h not in covered]
    return out


def stamp_text(translated: str, english: str, headings: list[str] | None = None) -> str:
    """``translated`` with the hash of each marked section (those translating ``headings``, English heading lines;
    every marked section when None) set to its English section's current hash. KeyError for an unknown heading."""
    hashes = english_hashes(english)
    wanted = set(hashes if headings is None else headings)
    unknown = wanted - set(hashes)
    if unknown:
        raise KeyError(f"no English section {sorted(unknown)}")

    def one(m: re.Match) -> str:
        heading = m["heading"]
        if heading is None or heading not in wanted:
            return m.group(0)
        return f"<!-- en: {heading} | source: {hashes[heading]} -->"

    return "\n".join(MARK.sub(one, line) for line in translated.split("\n"))


def status_all(root: Path | None = None) -> dict[str, DocStatus]:
    """``{translated document: its status}`` of every document in :data:`DOCS` (under the checkout ``root``)."""
    root = root or ROOT
    return {name: doc_status((root / name).read_text(encoding="utf-8"), (root / en).read_text(encoding="utf-8"),
                             complete) for name, (en, complete) in DOCS.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("status", "stamp"))
    parser.add_argument("args", nargs="*", help="stamp: FILE [ENGLISH HEADING ...] (e.g. '## Two commands')")
    args = parser.parse_args(argv)
    if args.command == "stamp":
        if not args.args or args.args[0] not in DOCS:
            parser.error(f"stamp FILE [HEADING ...] with FILE one of {', '.join(DOCS)}")
        path = ROOT / args.args[0]
        english = (ROOT / DOCS[args.args[0]][0]).read_text(encoding="utf-8")
        path.write_text(stamp_text(path.read_text(encoding="utf-8"), english, args.args[1:] or None),
                        encoding="utf-8")
        return 0
    bad = 0
    for name, s in status_all().items():
        bad += not s.complete
        print(f"{name}: {len(s.done)} section(s) current" + ("" if s.complete else ":"))
        for label, items in (("stale", s.stale), ("unmarked", s.unmarked), ("missing", s.missing)):
            for item in items:
                print(f"  {label}: {item}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
