#!/usr/bin/env bash
# The README's two commands:
#   ./run.sh course   set up .venv and start JupyterLab on release/ (the student notebooks)
#   ./run.sh test     set up .venv with test extras and run the whole test suite
set -euo pipefail
cd "$(dirname "$0")"
VENV=${COURSE_VENV:-.venv}
case "$VENV" in /*) ;; *) VENV="$PWD/$VENV" ;; esac
PY=${PYTHON:-python3}

setup() {  # $1: extras ("" or "[test]")
    if [ ! -x "$VENV/bin/python" ]; then
        echo "==> creating virtual environment $VENV"
        "$PY" -m venv "$VENV"
    fi
    local stamp="$VENV/.installed$1" want
    want=$(cat pyproject.toml | sha256sum | cut -c1-16)
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        echo "==> installing the course package$1 into $VENV"
        "$VENV/bin/python" -m pip install --upgrade --quiet pip
        "$VENV/bin/python" -m pip install --quiet -e ".$1"
        echo "$want" > "$stamp"
    fi
}

# nbgrader runs helper programs (alembic) from PATH: put the venv first, as activation would.
export PATH="$VENV/bin:$PATH"

case "${1:-}" in
    course)
        setup ""
        shift
        # JupyterLab refuses to start as root unless told so (containers, Binder-like images).
        root_flag=()
        if [ "$(id -u)" -eq 0 ]; then root_flag=(--allow-root); fi
        exec "$VENV/bin/jupyter" lab --notebook-dir=release "${root_flag[@]}" "$@"
        ;;
    test)
        setup "[test]"
        shift
        if [ -x .ci/browser-deps ]; then .ci/browser-deps; fi
        if [ -x .ci/system-deps ]; then .ci/system-deps; fi
        if [ -x .ci/hub-deps ]; then .ci/hub-deps "$VENV"; fi
        echo "==> ruff"
        "$VENV/bin/ruff" check .
        echo "==> pytest"
        # one test process per core (pytest-xdist), a file per process at a time: module fixtures are built once
        # (one more process than cores was slower on 2 cores: 16 min 29 s against 16 min 05 s)
        workers=${COURSE_TEST_WORKERS:-$(nproc 2>/dev/null || echo 2)}
        exec "$VENV/bin/python" -m pytest -n "$workers" --dist loadfile --durations=40 "$@"
        ;;
    *)
        echo "usage: ./run.sh course | ./run.sh test [pytest args]" >&2
        exit 2
        ;;
esac
