"""The feedback pages of course-grade: the judge's verdict shown in each test cell, nbgrader's pages (scripts
forbidden by a Content-Security-Policy), and a plain page where a notebook could not be run."""

from __future__ import annotations

import html
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from autograder.grading.feedback_page import render_page
from autograder.grading.feedback_parts import part_args
from autograder.grading.page_reasons import worded
from autograder.grading.processes import run_nbgrader
from autograder.grading.submission_language import localise_page, submitted_language
from autograder.grading.verdict_box import META_KEY, verdicts_of, with_verdicts
from autograder.notebook import grade_id
from autograder.paths import tool_env
from course.i18n import current, gettext, using

VERDICT_PREFIX = "graded by the course's checker: "
# Feedback pages: no script may run (the page is opened by the student and by the instructor). The HTML of
# outputs is cleaned by nbconvert's SanitizeHTML (bleach) and the page forbids every script by its CSP.
CSP = ("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; "
       "style-src 'unsafe-inline'; font-src data:\">")



def add_csp(html_text: str) -> str:
    """``html_text`` with :data:`CSP` as the first element of ``<head>`` (idempotent)."""
    if CSP in html_text:
        return html_text
    i = html_text.find("<head>")
    if i < 0:
        return CSP + html_text
    return html_text[: i + 6] + "\n" + CSP + html_text[i + 6:]


def write_simple_feedback(course: Path, assignment: str, student: str, notebook: str, reasons: list[str],
                          score: str = "0", graded: bool = False):
    """A plain page: the notebook was not graded (``reasons``), or (``graded``) the checker scored it but the run
    that makes nbgrader's detailed page failed."""
    out = course / "feedback" / student / assignment
    out.mkdir(parents=True, exist_ok=True)
    items = "".join(f"<li>{html.escape(r)}</li>" for r in reasons)
    if graded:
        heading = gettext("{assignment}: no detailed feedback page", assignment=html.escape(assignment))
        score_text = gettext("Score: {score}, from the course's checker, which ran every test on its own. The run "
                             "of your notebook that makes the detailed page failed:", score=html.escape(score))
    else:
        heading = gettext("{assignment}: not graded automatically", assignment=html.escape(assignment))
        score_text = gettext("Score: {score}. Your submission could not be run:", score=html.escape(score))
    told = gettext("Your instructor has been told and will look at it.")
    (out / f"{notebook}.html").write_text(add_csp(
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(assignment)}</title>"
        f"</head><body><h1>{heading}</h1><p>{score_text}</p><ul>{items}</ul><p>{told}</p></body></html>\n"),
        encoding="utf-8")


def annotate(path: Path, verdicts: dict):
    """Store the judge's verdict in each test cell's metadata of the autograded notebook (the feedback page draws
    it apart from the outputs: :mod:`autograder.grading.verdict_box`); outputs imitating it are dropped."""
    import nbformat

    if not path.exists():
        return
    nb = nbformat.read(str(path), as_version=4)
    for cell in nb.cells:
        gid = grade_id(cell)
        if cell.cell_type != "code" or gid not in verdicts:
            continue
        v = verdicts[gid]
        text = gettext("passed") if v["ok"] else gettext("failed: {message}", message=v["message"])
        if v.get("note"):
            text += gettext(" (note: {note})", note=v["note"])
        prefixes = (VERDICT_PREFIX, gettext(VERDICT_PREFIX))
        cell.outputs = [o for o in cell.outputs if not any(p in str(o.get("text", "")) for p in prefixes)]
        # drawn apart from outputs (verdict_box), in the language it was written in
        cell.metadata[META_KEY] = {"ok": bool(v["ok"]), "text": text[:2000], "lang": current()}
    os.chmod(path, 0o644)
    nbformat.write(nb, str(path))


def feedback(course: Path, assignment: str, students: list[str], results: list[dict], notebooks: list[str],
             everyone: bool, parallel: int = 1):
    """``nbgrader generate_feedback`` (for everyone: ``parallel`` runs at once, each for its part of the class,
    :mod:`autograder.grading.feedback_parts`; else per student; forks of the grader's fork server, which has
    imported nbgrader already); a plain page for each of
    ``notebooks`` where it fails; every page gets the no-script Content-Security-Policy."""
    env = tool_env()
    base = ["generate_feedback", assignment, "--force",
            f"--CourseDirectory.root={course}"]
    print(f"[grade] feedback for {len(students)} students", flush=True)
    if everyone:
        parts = part_args(course, assignment, students, parallel)
        with ThreadPoolExecutor(max_workers=len(parts)) as pool:
            list(pool.map(lambda extra: run_nbgrader(base + extra, course, env, 60 + 10 * len(students)), parts))
    else:
        with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
            list(pool.map(lambda student: run_nbgrader(base + [f"--student={student}"], course, env, 300), students))
    for r in results:
        for nb_name in notebooks:
            page = course / "feedback" / r["student"] / assignment / f"{nb_name}.html"
            # the page in the language of the notebook the student submitted (issue 30)
            lang = submitted_language(course / "submitted" / r["student"] / assignment / f"{nb_name}.ipynb")
            if not page.exists():
                with using(lang):
                    reasons = worded(r["review"], r.get("page_reasons", []))  # the keyed ones in `lang`
                    write_simple_feedback(course, assignment, r["student"], nb_name,
                                          reasons or [gettext("the feedback page could not be generated")],
                                          f"{r['total']:g}", graded=r["status"] == "graded")
                if r["status"] == "graded":
                    r["review"].append("nbgrader generate_feedback failed: a plain feedback page was written")
            else:
                graded = verdicts_of(course / "autograded" / r["student"] / assignment / f"{nb_name}.ipynb")
                page.write_text(add_csp(render_page(with_verdicts(localise_page(page.read_text(encoding="utf-8"),
                                                                                lang), graded))), encoding="utf-8")
