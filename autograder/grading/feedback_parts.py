"""The class's ``nbgrader generate_feedback`` split over the workers (issue 29): at the end of a run, one fork per
part of the class instead of one for everyone, so the feedback pages scale with the workers like the grading.

nbgrader takes one ``--student`` id (or a glob), but ``--CourseDirectory.student_id_exclude`` takes a comma list
(checked before anything of a student's feedback folder is touched). Each part is therefore a run for everyone that
excludes the students of the other parts; the first part also makes the pages of any other folder in
``autograded/`` (as the single run did), the others exclude every folder that is not theirs, so no page is made
twice. Ids course-grade grades never hold a comma (:mod:`autograder.grading.student_ids`); if a folder name does,
the class is one part.
"""

from __future__ import annotations

from pathlib import Path

EXCLUDE = "--CourseDirectory.student_id_exclude={}"


def split(students: list[str], parts: int) -> list[list[str]]:
    """``students`` in at most ``parts`` non-empty parts of nearly equal size (round robin, order kept)."""
    parts = max(1, min(parts, len(students)))
    return [part for part in (students[i::parts] for i in range(parts)) if part]


def part_args(course: Path, assignment: str, students: list[str], parts: int) -> list[list[str]]:
    """The extra arguments of each part's ``generate_feedback`` for everyone: ``[[]]`` (one run, as before) or one
    ``[--CourseDirectory.student_id_exclude=...]`` per part."""
    groups = split(students, parts)
    present = sorted(p.parent.name for p in (course / "autograded").glob(f"*/{assignment}") if p.is_dir())
    if len(groups) <= 1 or any("," in s for s in [*present, *students]):
        return [[]]
    out = []
    for i, group in enumerate(groups):
        mine = set(group)
        if i == 0:  # every other part's students: this part also makes the pages of any other folder
            others = [s for j, g in enumerate(groups) if j != i for s in g]
        else:  # everything but its own students
            others = [s for s in dict.fromkeys([*present, *students]) if s not in mine]
        out.append([EXCLUDE.format(",".join(others))])
    return out
