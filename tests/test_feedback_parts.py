"""The class's generate_feedback split over the workers (autograder.grading.feedback_parts): every folder of
``autograded/`` gets its page from exactly one part, as nbgrader's student_id_exclude reads the arguments."""

from __future__ import annotations

import pytest

from autograder.grading.feedback_parts import EXCLUDE, part_args, split

PREFIX = EXCLUDE.format("")


def _made_by(parts: list[list[str]], folders: list[str]) -> dict[str, int]:
    """How many parts make each folder's page (nbgrader: a folder is skipped when its id is in the comma list)."""
    count = dict.fromkeys(folders, 0)
    for extra in parts:
        excluded = set(extra[0][len(PREFIX):].split(",")) if extra else set()
        for folder in folders:
            count[folder] += folder not in excluded
    return count


@pytest.mark.parametrize("n, workers", [(1, 2), (5, 1), (5, 2), (8, 3), (3, 8)])
def test_every_page_is_made_once(tmp_path, n, workers):
    students = [f"s{i:02d}.x-y@z" for i in range(n)]
    folders = [*students, "graded-earlier"]  # a folder of a student not in this run: the first part makes it
    for s in folders:
        (tmp_path / "autograded" / s / "ch").mkdir(parents=True)
    parts = part_args(tmp_path, "ch", students, workers)
    assert len(parts) == min(workers, n)
    assert _made_by(parts, folders) == dict.fromkeys(folders, 1)


def test_split_keeps_everyone_in_nearly_equal_parts():
    parts = split(list("abcdefg"), 3)
    assert sorted(x for p in parts for x in p) == list("abcdefg")
    assert sorted(len(p) for p in parts) == [2, 2, 3]


def test_a_folder_name_with_a_comma_makes_one_run(tmp_path):
    for s in ("a", "b", "c,d"):
        (tmp_path / "autograded" / s / "ch").mkdir(parents=True)
    assert part_args(tmp_path, "ch", ["a", "b"], 2) == [[]]
