"""What the grader's fork server (:mod:`autograder.grading.nbgrader_fork`) imports once, beyond nbgrader itself.

Measured (2026-12-03, ``sys.modules`` of a fork after an ``nbgrader autograde`` of one student): every fork imported
numpy, IPython, ipykernel's kernelspec, SQLAlchemy's SQLite dialect and the ``course`` package again (~0.3 s a
student at load 4), and every judge process (``python -I -m autograder.trusted.recheck``) started Python and imported
nbformat, numpy, the re-check and every chapter's checks (~0.3 s). Imported here, each fork has them already.

BLAS is made single-threaded first (as course-grade's commands always ran: ``OPENBLAS_NUM_THREADS=1``), before numpy
is imported: the fork server must stay single-threaded to fork safely, and a forked judge computes on one core.
Everything imported here is the grader's own trusted code; no student code ever runs in the fork server.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import ipykernel.kernelspec  # noqa: E402,F401
import IPython  # noqa: E402,F401  (nbclient/ipykernel import it in every nbgrader fork)
import nbformat  # noqa: E402,F401
import numpy  # noqa: E402,F401
import sqlalchemy.dialects.sqlite  # noqa: E402,F401  (nbgrader's gradebook)

import course  # noqa: E402,F401  (the sandbox binds its folder: autograder.trusted.isolation)
import course.runtime  # noqa: E402,F401
from autograder.trusted import isolation, recheck  # noqa: E402,F401
from autograder.trusted.judge import real_checks  # noqa: E402

real_checks()  # every chapter's checks module (and what it imports), as the judge imports them
