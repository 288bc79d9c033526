"""The student edition in another language: ``course-build --student-edition DIR --lang zh_CN`` (issue 30).

Same files and layout as the English edition (:mod:`autograder.authoring.student_edition`; the notebooks keep their
``release/NN_name/NN_name.ipynb`` names, so nbgrader's exchange and the gradebook are the same), except:

- each published chapter's notebook is the translated release ``release-<lang>/NN_name/`` (the build writes it
  for every chapter whose translation is complete); a chapter not translated yet stays English and is named in
  a warning;
- ``start`` (repo2docker runs it when a server starts) and the kernel spec installed by ``postBuild`` set
  ``COURSE_LANG``, so the course's messages, hints and monitor are in the language; ``postBuild`` also makes
  it JupyterLab's default interface language (the language pack is among the dependencies);
- ``apt.txt`` installs a CJK font (Debian's ``fonts-noto-cjk``: the plots' Chinese labels, :mod:`course.fonts`);
- README.md is the edition README's translation (``edition/README.<lang>.md.in``) with the translated student
  guide ``docs/student-guide.<lang-tag>.md`` when both exist (else the English one).
"""

from __future__ import annotations

from pathlib import Path

from autograder.authoring.translations import LANGS
from course.fonts import needs_cjk

ENGLISH = "en"
CJK_FONT_PACKAGE = "fonts-noto-cjk"


def check_language(lang: str | None) -> str:
    """``lang`` if the course has it (``en`` or one of the translation store's languages), else ValueError."""
    lang = lang or ENGLISH
    if lang != ENGLISH and lang not in LANGS:
        raise ValueError(f"no {lang!r} edition; known: {', '.join((ENGLISH, *LANGS))}")
    return lang


def guide_path(root: Path, lang: str) -> Path:
    """The translated student guide (``docs/student-guide.zh-CN.md`` for ``zh_CN``)."""
    return root / "docs" / f"student-guide.{lang.replace('_', '-')}.md"


def readme_template(templates: Path, lang: str) -> Path:
    return templates / f"README.{lang}.md.in"


def translated_notebooks(root: Path, lang: str, chapters: list[str]) -> tuple[dict[str, bytes], list[str]]:
    """({edition path: content} of the translated release files of ``chapters``, [chapters without one])."""
    files, english = {}, []
    for chapter in chapters:
        folder = root / f"release-{lang}" / chapter
        found = sorted(p for p in folder.rglob("*") if p.is_file() and ".ipynb_checkpoints" not in p.parts) \
            if folder.is_dir() else []
        if not any(p.suffix == ".ipynb" for p in found):
            english.append(chapter)
            continue
        files.update({f"release/{chapter}/{p.relative_to(folder).as_posix()}": p.read_bytes() for p in found})
    return files, english


def start_script(lang: str) -> bytes:
    """repo2docker's ``start``: the server (and every kernel it starts) gets ``COURSE_LANG``."""
    return ("#!/bin/bash\n# repo2docker runs this each time a server starts: the course's messages in the edition's "
            f"language.\nexport COURSE_LANG={lang}\nexec \"$@\"\n").encode()


def post_build_lines(lang: str) -> str:
    """Lines appended to ``postBuild``: the kernel spec sets ``COURSE_LANG`` (for images not started by
    repo2docker's ``start``), and JupyterLab's interface language defaults to ``lang``."""
    return f"""
# The {lang} edition: the course's messages in {lang} in every kernel (also where repo2docker's `start` does not run),
# and JupyterLab's own interface in {lang} by default (Settings > Language switches it back).
python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (ipykernel)" --env COURSE_LANG {lang}
settings="$(python -c 'import sys; print(sys.prefix)')/share/jupyter/lab/settings"
mkdir -p "$settings"
cat > "$settings/overrides.json" <<'JSON'
{{"@jupyterlab/translation-extension:plugin": {{"locale": "{lang}"}}}}
JSON
"""


def language_files(root: Path, lang: str, chapters: list[str], post_build: bytes) -> tuple[dict[str, bytes], list[str]]:
    """The files of the ``lang`` edition that differ from the English one (notebooks, ``start``, ``postBuild``,
    ``apt.txt``), and the published chapters that stay English (no translation yet)."""
    files, english = translated_notebooks(root, lang, chapters)
    files["start"] = start_script(lang)
    files["postBuild"] = post_build + post_build_lines(lang).encode()
    if needs_cjk(lang):
        files["apt.txt"] = f"# Debian packages repo2docker installs: a CJK font for the plots' labels\n" \
                           f"{CJK_FONT_PACKAGE}\n".encode()
    return files, english
