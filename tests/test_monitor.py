"""The training monitor picks the right mode and never draws under nbgrader or headless scripts."""

from __future__ import annotations

import subprocess
import sys

import pytest

from course.monitor import TrainingMonitor, detect_mode


def test_plain_python_is_off(monkeypatch):
    monkeypatch.delenv("COURSE_MONITOR", raising=False)
    assert detect_mode() == "off"


def test_nbgrader_execution_is_off_even_in_a_kernel(monkeypatch):
    monkeypatch.delenv("COURSE_MONITOR", raising=False)
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    monkeypatch.setattr("course.monitor._in_ipython_kernel", lambda: True)
    monkeypatch.setenv("JPY_SESSION_NAME", "x.ipynb")
    assert detect_mode() == "off"


def test_kernel_with_jupyter_server_is_live_and_without_is_static(monkeypatch):
    for var in ("COURSE_MONITOR", "NBGRADER_EXECUTION", "JPY_SESSION_NAME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr("course.monitor._in_ipython_kernel", lambda: True)
    assert detect_mode() == "static"
    monkeypatch.setenv("JPY_SESSION_NAME", "x.ipynb")
    assert detect_mode() == "live"


def test_env_var_forces_mode(monkeypatch):
    monkeypatch.setenv("COURSE_MONITOR", "static")
    assert detect_mode() == "static"


def test_bad_mode_is_a_clear_error():
    with pytest.raises(ValueError, match="mode must be one of"):
        TrainingMonitor(mode="fancy")


def test_off_mode_records_history_and_draws_nothing():
    with TrainingMonitor(metrics=["loss"], mode="off") as mon:
        for step in range(100):
            mon.update(step, loss=1.0 / (step + 1))
    assert len(mon.history["loss"]) == 100
    assert mon.redraws == 0


def test_render_png_is_a_png():
    mon = TrainingMonitor(metrics=["loss", "val_loss"], mode="off", log_scale=True)
    mon.update(0, loss=1.0, val_loss=2.0)
    mon.update(1, loss=0.5, val_loss=1.0)
    assert mon.render_png()[:8] == b"\x89PNG\r\n\x1a\n"


def _run_in_kernel(code: str, tmp_path, **env_extra) -> list:
    """Execute ``code`` in a real ipykernel via nbclient (no Jupyter server) and return the outputs."""
    import nbformat
    from nbclient import NotebookClient

    from tests.conftest import isolated_env

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(code)]
    env = isolated_env(tmp_path, **env_extra)
    script = (
        "import nbformat, sys\n"
        "from nbclient import NotebookClient\n"
        "nb = nbformat.read(sys.argv[1], as_version=4)\n"
        "NotebookClient(nb, timeout=120, kernel_name='python3').execute()\n"
        "nbformat.write(nb, sys.argv[1])\n"
    )
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    subprocess.run([sys.executable, "-c", script, str(path)], env=env, check=True, timeout=300)
    del NotebookClient
    return nbformat.read(path, as_version=4).cells[0].outputs


CODE = (
    "from course.monitor import TrainingMonitor\n"
    "with TrainingMonitor(metrics=['loss']) as m:\n"
    "    for i in range(50): m.update(i, loss=1/(i+1))\n"
    "print('mode', m.mode, 'redraws', m.redraws)\n"
)


@pytest.mark.slow
def test_headless_kernel_draws_one_static_figure(tmp_path):
    outputs = _run_in_kernel(CODE, tmp_path)
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "mode static redraws 0" in text
    images = [o for o in outputs if o.output_type == "display_data" and "image/png" in o.data]
    assert len(images) == 1


@pytest.mark.slow
def test_under_nbgrader_kernel_draws_nothing(tmp_path):
    outputs = _run_in_kernel(CODE, tmp_path, NBGRADER_EXECUTION="autograde")
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "mode off redraws 0" in text
    assert not [o for o in outputs if o.output_type == "display_data"]
