"""``python -m autograder.build``: build the course notebooks (the command of :mod:`autograder.authoring.build`)."""

import sys

from autograder.authoring.build import main

if __name__ == "__main__":
    sys.exit(main())
