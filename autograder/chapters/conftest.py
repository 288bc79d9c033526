"""pytest: the chapters' own tests (``chNN_*/test_chNN.py``) use the shared fixtures of tests/conftest.py."""

from tests.conftest import fixtures_env  # noqa: F401
