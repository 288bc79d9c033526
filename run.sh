#!/usr/bin/env bash
# The README's two commands:
#   ./run.sh course   set up .venv and start JupyterLab on release/ (the student notebooks)
#                     (--lang zh_CN, or COURSE_LANG=zh_CN: on release-zh_CN/, messages and JupyterLab in Chinese)
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
        shift
        lang=${COURSE_LANG:-en} asked=""  # --lang zh_CN (or COURSE_LANG=zh_CN): the notebooks of release-zh_CN/
        case "${1:-}" in
            --lang) lang=${2:?--lang needs a language, e.g. --lang zh_CN} asked=1; shift 2 ;;
            --lang=*) lang=${1#--lang=} asked=1; shift ;;
        esac
        lang=${lang%%.*}; lang=${lang/-/_}  # zh-CN, zh_CN.UTF-8 -> zh_CN
        languages="en $(ls -d release-* 2>/dev/null | sed 's/^release-//' | tr '\n' ' ')"
        if [ "$lang" != en ] && [ ! -d "release-$lang" ]; then
            if [ -n "$asked" ]; then
                echo "no notebooks in $lang (release-$lang/ is missing); languages: $languages" >&2
                exit 2
            fi
            # COURSE_LANG without notebooks of its own (C, POSIX, a language not translated): English, as the
            # course's messages fall back to English
            echo "COURSE_LANG=$COURSE_LANG: no notebooks in that language (languages: $languages); English" >&2
            lang=en
        fi
        notebooks=release lab_flags=()
        if [ "$lang" != en ]; then
            notebooks="release-$lang"
            export COURSE_LANG="$lang"  # the course's messages (visible tests, monitor, self-check) in $lang
            # JupyterLab's own interface in $lang (its language pack is a course dependency): a settings folder of
            # this language's own, so the English run keeps its settings (Settings > Language changes it here too)
            settings="$VENV/share/course-lab-settings/$lang"
            plugin="$settings/@jupyterlab/translation-extension/plugin.jupyterlab-settings"
            if [ ! -f "$plugin" ]; then
                mkdir -p "$(dirname "$plugin")"
                echo "{\"locale\": \"$lang\"}" > "$plugin"
            fi
            lab_flags=(--LabApp.user_settings_dir="$settings")
        fi
        setup ""
        # JupyterLab refuses to start as root unless told so (containers, Binder-like images).
        if [ "$(id -u)" -eq 0 ]; then lab_flags+=(--allow-root); fi
        exec "$VENV/bin/jupyter" lab --notebook-dir="$notebooks" "${lab_flags[@]}" "$@"
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
        echo "usage: ./run.sh course [--lang zh_CN] [jupyter lab args] | ./run.sh test [pytest args]" >&2
        exit 2
        ;;
esac
