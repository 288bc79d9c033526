"""The Chinese student edition (``course-build --student-edition DIR --lang zh_CN``, issue 30): translated notebooks
under the same names, COURSE_LANG for the kernel, a CJK font, JupyterLab in Chinese, a Chinese README when the
guide is translated; a chapter not translated yet stays English with a warning."""

from __future__ import annotations

import json
import shutil

import pytest

from autograder.authoring import edition_lang
from autograder.authoring import student_edition as se
from autograder.paths import ROOT

FIRST = "01_perceptron"


def fake_root(tmp_path, chapters=(FIRST,), translated=(FIRST,), guide_zh: str | None = None):
    """A course folder with the real package, pyproject and guide, the given releases and translated releases."""
    root = tmp_path / "course-root"
    (root / "docs").mkdir(parents=True)
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    shutil.copy(ROOT / "docs" / "student-guide.md", root / "docs" / "student-guide.md")
    (root / "course").symlink_to(ROOT / "course")
    for chapter in chapters:
        shutil.copytree(ROOT / "release" / chapter, root / "release" / chapter)
    for chapter in translated:
        shutil.copytree(ROOT / "release-zh_CN" / chapter, root / "release-zh_CN" / chapter)
    if guide_zh is not None:
        (root / "docs" / "student-guide.zh-CN.md").write_text(guide_zh, encoding="utf-8")
    return root


def notebook(files, chapter=FIRST) -> dict:
    return json.loads(files[f"release/{chapter}/{chapter}.ipynb"])


def test_chinese_edition_has_the_translated_notebook_the_language_and_the_font(tmp_path):
    root = fake_root(tmp_path)
    english = se.edition_files(root)
    files = se.edition_files(root, lang="zh_CN")
    assert files[f"release/{FIRST}/{FIRST}.ipynb"] == (root / "release-zh_CN" / FIRST / f"{FIRST}.ipynb").read_bytes()
    assert notebook(files)["metadata"]["course"]["language"] == "zh_CN"
    assert "language" not in notebook(english)["metadata"].get("course", {})
    # same cells, ids and code as the English release: only prose differs
    assert [c["id"] for c in notebook(files)["cells"]] == [c["id"] for c in notebook(english)["cells"]]
    assert "export COURSE_LANG=zh_CN" in files["start"].decode() and files["start"].decode().endswith('exec "$@"\n')
    assert "fonts-noto-cjk" in files["apt.txt"].decode().split()
    post = files["postBuild"].decode()
    assert post.startswith(english["postBuild"].decode())
    assert "--env COURSE_LANG zh_CN" in post and '"locale": "zh_CN"' in post
    assert {"start", "apt.txt"}.isdisjoint(english)
    assert "jupyterlab-language-pack-zh-cn" in files["environment.yml"].decode()
    assert not se.scan(files)


def test_readme_in_chinese_only_with_the_translated_guide(tmp_path):
    without = se.edition_files(fake_root(tmp_path / "a"), lang="zh_CN")["README.md"].decode()
    assert without.startswith("# Neural Networks from Scratch")
    guide = "# 学生指南\n\n## 自测\n\n运行可见测试。\n<!-- self-learner -->\n自学者的部分\n<!-- /self-learner -->\n"
    readme = se.edition_files(fake_root(tmp_path / "b", guide_zh=guide), lang="zh_CN")["README.md"].decode()
    assert readme.startswith("# 从零开始用 NumPy 实现神经网络") and "## 自测" in readme
    assert "COURSE_LANG=zh_CN" in readme
    assert "自学者的部分" not in readme and "学生指南" not in readme


def test_an_untranslated_chapter_stays_english_and_is_named(tmp_path, capsys):
    second = "02_dense_backprop"
    root = fake_root(tmp_path, chapters=(FIRST, second), translated=(FIRST,))
    files = se.edition_files(root, lang="zh_CN")
    assert notebook(files)["metadata"]["course"]["language"] == "zh_CN"
    assert files[f"release/{second}/{second}.ipynb"] == (root / "release" / second / f"{second}.ipynb").read_bytes()
    assert f"{second} has no zh_CN translation yet" in capsys.readouterr().err


def test_unknown_language_is_refused(tmp_path):
    with pytest.raises(ValueError, match="no 'fr' edition"):
        se.edition_files(fake_root(tmp_path), lang="fr")
    assert edition_lang.check_language(None) == "en"


def test_cli_writes_a_chinese_edition(tmp_path):
    from autograder.authoring.build import main

    dest = tmp_path / "edition"
    assert main(["--student-edition", str(dest), "--lang", "zh_CN", FIRST]) == 0
    nb = json.loads((dest / "release" / FIRST / f"{FIRST}.ipynb").read_text(encoding="utf-8"))
    assert nb["metadata"]["course"]["language"] == "zh_CN"
    assert (dest / "start").stat().st_mode & 0o111 and (dest / "apt.txt").is_file()


def test_the_edition_ships_the_compiled_catalog_and_its_messages_read_in_chinese(tmp_path):
    """The edition's ``course`` package carries course.mo (files and package data), so a learner of the Chinese
    edition reads the visible-test messages in Chinese, not the English fallback."""
    import subprocess
    import sys
    import tomllib

    files = se.edition_files(fake_root(tmp_path), lang="zh_CN")
    assert "course/locale/zh_CN/LC_MESSAGES/course.mo" in files
    package_data = tomllib.loads(files["pyproject.toml"].decode())["tool"]["setuptools"]["package-data"]["course"]
    assert "locale/*/LC_MESSAGES/course.mo" in package_data
    edition = tmp_path / "edition"
    for name, data in files.items():
        if name.startswith("course/"):
            (edition / name).parent.mkdir(parents=True, exist_ok=True)
            (edition / name).write_bytes(data)
    code = ("from course.i18n import available, gettext\n"
            "print(available(), gettext('{name} is not implemented yet: replace `raise NotImplementedError()` with "
            "your code.', name='f'))")
    out = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(edition)!r})\n{code}"],
                         capture_output=True, text=True, env={"COURSE_LANG": "zh_CN", "PATH": "/usr/bin:/bin"},
                         cwd=edition, check=True).stdout
    assert "['zh_CN']" in out and "is not implemented" not in out and "NotImplementedError" in out, out
