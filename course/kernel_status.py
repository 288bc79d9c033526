"""Keep the kernel shown "Busy" while a cell with a live monitor runs.

Why it showed "Idle": JupyterLab (4.4+) sends widget comm messages to a kernel subshell and creates that subshell
with a ``create_subshell_request`` on the control channel as soon as a widget is displayed. ipykernel answers every
control request, and every comm message handled in a subshell, with a ``busy`` and then an ``idle`` status on
IOPub, and JupyterLab shows the last status it received, whatever request it belongs to: the widget's first
display turns the running cell's kernel "Idle" (measured: one ``create_subshell_request`` 0.2 s after the cell
started, then nothing until the cell's own idle).

:class:`BusyKeeper` wraps the kernel's status publisher for the rest of the running cell: an ``idle`` that belongs
to another request is followed at once by a ``busy`` for the running cell's request. It removes itself when the
cell ends (IPython's ``post_run_cell`` event), so the cell's own final ``idle`` goes out unchanged.
"""

from __future__ import annotations


class BusyKeeper:
    """Re-publish ``busy`` after any foreign ``idle`` while the current cell runs (see the module docstring)."""

    def __init__(self, shell, kernel):
        self.shell, self.kernel = shell, kernel
        self.parent = kernel.get_parent("shell")  # the running execute_request
        self.original = kernel._publish_status
        self._own_attr = "_publish_status" in vars(kernel)  # set on the instance before us (not ipykernel's way)
        self.reasserted = 0
        kernel._publish_status = self._publish_status
        shell.events.register("post_run_cell", self.remove)

    @classmethod
    def install(cls):
        """A keeper for the running cell, or None (no kernel, not inside a cell, an unknown ipykernel)."""
        try:
            from IPython import get_ipython

            shell = get_ipython()
            kernel = getattr(shell, "kernel", None)
            if kernel is None or not hasattr(kernel, "_publish_status"):
                return None
            if isinstance(getattr(kernel._publish_status, "__self__", None), cls):
                return None  # a keeper for this cell is already in place
            parent = kernel.get_parent("shell")
            if not parent or parent.get("header", {}).get("msg_type") != "execute_request":
                return None
            return cls(shell, kernel)
        except Exception:
            return None

    def _publish_status(self, status, channel, parent=None):
        self.original(status, channel, parent)
        if status != "idle":
            return
        ours = self.parent.get("header", {}).get("msg_id")
        theirs = (parent or self.kernel.get_parent(channel) or {}).get("header", {}).get("msg_id")
        if theirs != ours:
            self.original("busy", "shell", self.parent)
            self.reasserted += 1

    def remove(self, *_args) -> None:
        """Put the kernel's own publisher back (at the end of the cell)."""
        if getattr(self.kernel._publish_status, "__self__", None) is self:
            if self._own_attr:
                self.kernel._publish_status = self.original
            else:
                del self.kernel._publish_status
        try:
            self.shell.events.unregister("post_run_cell", self.remove)
        except ValueError:
            pass

