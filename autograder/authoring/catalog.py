"""The message catalogs of the ``course`` package (issue 30): ``course/locale/<lang>/LC_MESSAGES/course.po``,
managed with Babel, compiled to the ``.mo`` that :mod:`course.i18n` reads; and the chapters' check messages
(domain ``checks``: ``autograder/locale/<lang>/LC_MESSAGES/checks.po``, read by :mod:`autograder.chapters.messages`;
instructor-side, not shipped to students), from the modules that import ``autograder.chapters.messages``.

The messages are extracted from the modules of ``course`` (and of ``autograder``: self-check and feedback text) that
import ``course.i18n`` (calls of ``_``, ``gettext``, ``gettext_in``, ``ngettext`` and the marker ``N_``). The
``.po`` is the source (translators edit it); the ``.mo`` is committed so that an installed course needs no Babel,
and ``python -m autograder.build`` recompiles it (``--check``: exit 1 when it is out of date or the catalog is
incomplete).

Usage::

    python -m autograder.authoring.catalog update   # add new messages (empty) to every .po, drop obsolete ones
    python -m autograder.authoring.catalog check    # exit 1: missing, empty, fuzzy, placeholders differ, .mo stale
    python -m autograder.authoring.catalog compile  # .po -> .mo
"""

from __future__ import annotations

import argparse
import ast
import io
import re
import string
import sys
from collections import Counter
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from autograder.paths import ROOT

COURSE = ROOT / "course"
LOCALE_DIR = COURSE / "locale"
DOMAIN = "course"
AUTOGRADER = ROOT / "autograder"
CHECKS = "checks"
# domain: (its locale folder, the import that marks a module using it, the module that reads it)
DOMAINS = {DOMAIN: (LOCALE_DIR, "course.i18n import", COURSE / "i18n.py"),
           CHECKS: (AUTOGRADER / "locale", "autograder.chapters.messages import",
                    AUTOGRADER / "chapters" / "messages.py")}
# modules holding a domain's messages that may not import its reader (the sandbox loads them): they mark their
# messages with a local N_ and the trusted side translates them
ALSO = {CHECKS: (AUTOGRADER / "trusted" / "errors.py",),
        # the chapters' visible tests run in the learner's kernel: their case descriptions and messages are course's
        # (every chapter text; found, not named: test_layout)
        DOMAIN: tuple(sorted((AUTOGRADER / "chapters").glob("ch*/chapter.py")))}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "gettext_in": (2,),
            # course.testing's helpers translate their case description (``what``, the third argument)
            "assert_close": (3,), "assert_shape": (3,), "assert_returns_tuple": (3,)}


def po_path(lang: str, domain: str = DOMAIN) -> Path:
    return DOMAINS[domain][0] / lang / "LC_MESSAGES" / f"{domain}.po"


def languages(domain: str = DOMAIN) -> list[str]:
    return sorted(p.parent.parent.name for p in DOMAINS[domain][0].glob(f"*/LC_MESSAGES/{domain}.po"))


def sources(roots: tuple[Path, ...] = (COURSE, AUTOGRADER), domain: str = DOMAIN) -> list[Path]:
    """The modules that use the catalog of ``domain`` (course: course's modules, and autograder's self-check and
    feedback; checks: the chapters' checks)."""
    _folder, mark, reader = DOMAINS[domain]
    others = [m for d, (_f, m, _r) in DOMAINS.items() if d != domain]  # a module belongs to one domain
    also = [p for p in ALSO.get(domain, ()) if any(p.is_relative_to(root) for root in roots)]
    return sorted(also + [p for root in roots for p in root.rglob("*.py") if "__pycache__" not in p.parts
                          and p.name != "i18n.py" and p not in (reader, Path(__file__).resolve(), *also)
                          and mark in (text := p.read_text(encoding="utf-8")) and not any(m in text for m in others)])


def extract(paths: list[Path], domain: str = DOMAIN) -> Catalog:
    """A template catalog of every message the modules ``paths`` pass to ``_``/``gettext``/``ngettext``."""
    template = Catalog(domain=domain, project="nn-from-scratch-course")
    for path in paths:
        for lineno, message, comments, _context in extract_from_file("python", str(path), keywords=KEYWORDS):
            template.add(message, locations=[(str(path.relative_to(ROOT)) if path.is_relative_to(ROOT)
                                              else path.name, lineno)], auto_comments=comments)
    return template


def placeholders(text: str) -> Counter:
    """The ``{name:spec!conv}`` fields of a message (a malformed one counts as ``<malformed>``)."""
    try:
        return Counter((f, s, c) for _, f, s, c in string.Formatter().parse(text) if f is not None)
    except ValueError:
        return Counter({("<malformed>", "", None): 1})


def is_code(text: str) -> bool:
    """Whether a message is pure code (``{name}(dout, cache)``: a Python call once its placeholders are values),
    which a translation may keep as it is; anything else is prose to translate (``x is wrong`` parses too)."""
    try:
        tree = ast.parse(re.sub(r"\{[^{}]*\}", "x", text).strip(), mode="eval")
    except SyntaxError:
        return False
    return isinstance(tree.body, ast.Call)


def problems(template: Catalog, catalog: Catalog, lang: str) -> list[str]:
    """What a language's catalog lacks against the messages the code uses."""
    out = []
    for message in template:
        if not message.id:
            continue
        entry = catalog.get(message.id)
        ident = message.id if isinstance(message.id, str) else message.id[0]
        if entry is None:
            out.append(f"{lang}: missing {ident!r}")
            continue
        ids = list(message.id) if isinstance(message.id, (list, tuple)) else [message.id]
        strs = list(entry.string) if isinstance(entry.string, (list, tuple)) else [entry.string]
        if not all(s and s.strip() for s in strs):
            out.append(f"{lang}: empty translation of {ident!r}")
        elif entry.fuzzy:
            out.append(f"{lang}: fuzzy (unchecked) translation of {ident!r}")
        elif any(placeholders(s) != placeholders(ids[min(i, len(ids) - 1)]) for i, s in enumerate(strs)):
            out.append(f"{lang}: the placeholders of {ident!r} differ in its translation")
        elif strs[0] == ids[0] and not is_code(ids[0]):
            out.append(f"{lang}: {ident!r} is left in English (only a message that is pure code may stay as it is)")
    used = {m.id for m in template if m.id}
    out += [f"{lang}: obsolete entry {m.id!r} (run update)" for m in catalog if m.id and m.id not in used]
    return out


def read(lang: str, domain: str = DOMAIN) -> Catalog:
    with po_path(lang, domain).open("rb") as f:
        return read_po(f, locale=lang, domain=domain)


def compiled(catalog: Catalog) -> bytes:
    buf = io.BytesIO()
    write_mo(buf, catalog)
    return buf.getvalue()


def update() -> None:
    """Merge the extracted messages into every .po of every domain (new ones empty; obsolete ones dropped)."""
    for domain in DOMAINS:
        template = extract(sources(domain=domain), domain)
        for lang in languages():  # course's languages: every domain has a catalog for each
            path = po_path(lang, domain)
            path.parent.mkdir(parents=True, exist_ok=True)
            catalog = read(lang, domain) if path.exists() else Catalog(locale=lang, domain=domain)
            catalog.update(template, no_fuzzy_matching=True)
            catalog.obsolete.clear()
            with po_path(lang, domain).open("wb") as f:
                write_po(f, catalog, width=120, omit_header=False, sort_output=False)


def sync(check: bool = False) -> list[str]:
    """Compile every .po of every domain to its .mo (with ``check``: report an out-of-date .mo and an incomplete
    catalog; a domain's problems are prefixed with its name, except course's)."""
    found = []
    for domain in DOMAINS:
        found += sync_domain(domain, check)
    return found


def shown(path: Path) -> Path:
    """``path`` relative to the checkout when it is inside it."""
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def sync_domain(domain: str, check: bool) -> list[str]:
    """:func:`sync` for one domain."""
    template = extract(sources(domain=domain), domain)
    found = []
    for lang in languages():  # course's languages: every domain has a catalog for each
        if not po_path(lang, domain).exists():
            found.append(f"{shown(po_path(lang, domain))} is missing (run update)")
            continue
        catalog = read(lang, domain)
        mo = po_path(lang, domain).with_suffix(".mo")
        if check:
            found += [p if domain == DOMAIN else f"{domain}: {p}" for p in problems(template, catalog, lang)]
            if not mo.exists() or mo.read_bytes() != compiled(catalog):
                found.append(f"{shown(mo)} is out of date (run `python -m autograder.build`)")
        else:
            mo.write_bytes(compiled(catalog))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("update", "check", "compile"))
    args = parser.parse_args(argv)
    if args.command == "update":
        update()
        return 0
    found = sync(check=args.command == "check")
    for p in found:
        print(p)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
