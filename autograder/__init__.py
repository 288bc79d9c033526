"""Instructor side of the course, one room per job (``course`` is what students import; it never imports this).

- ``autograder.chapters``: the chapter registry; one folder per chapter (``chNN_<topic>/``) holding its text,
  reference, checks, wrong and correct answers and its own tests.
- ``autograder.checks``: ``check_<function>(fn)`` for every graded function (what hidden test cells call): thin
  clients of the trusted judge.
- ``autograder.trusted``: trusted checking: the judge, its data-only channel, the sandbox, isolation and limits.
- ``autograder.grading``: the ``course-grade`` run: per student, processes, nbgrader fork and kernel,
  preprocessors, feedback, gradebook, CSV, similarity, LMS export.
- ``autograder.authoring``: ``course-build``: source/ and release/ from the chapter texts, the student edition.
- ``autograder.selfcheck``: ``course-selfcheck``, the learner's own check (the same verdict as the grade).
- ``autograder.paths``, ``autograder.notebook``: where things are, and how course notebooks mark their cells.
"""
