"""The monitor's live view in JupyterLab: an ipywidgets panel (status, diagnoses, browser-drawn plots, Stop button)
and the pump that handles the Stop button's messages while the training cell is still running."""

from __future__ import annotations

import html

from course.diagnose import Diagnosis
from course.i18n import gettext


class CommPump:
    """Handle widget (comm) messages that wait in the kernel's queue while a cell is running.

    ipykernel >= 7 receives shell messages in its shell-channel thread and passes them to the main thread through an
    inproc socket, which the main thread reads only between cells. :meth:`pump` reads that socket without blocking:
    ``comm_msg`` messages (a button click) are handled at once; every other message (execute requests of the next
    cells, ...) is handed, in arrival order, to the kernel's own handler, which runs it after the current cell.

    JupyterLab 4.4+ sends widget messages to a kernel subshell instead (its "comms over subshells" setting, on by
    default): there the click is handled at once in the subshell's thread and the pump finds nothing; it is what
    makes Stop work in Notebook 7, older JupyterLabs, or with that setting off. It never publishes a kernel status
    (the kernel showing "Idle" during a run came from the subshell's creation: :mod:`course.kernel_status`).
    """

    def __init__(self, kernel):
        import zmq

        self._zmq = zmq
        self.kernel = kernel
        pair = kernel.shell_channel_thread.manager.get_shell_channel_to_subshell_pair(None)
        self.socket = pair.to_socket
        self._deferred = getattr(pair.to_stream, "_recv_callback", None)
        if self._deferred is None:
            from functools import partial

            from ipykernel.utils import _async_in_context

            self._deferred = _async_in_context(partial(kernel.shell_main, None))

    @classmethod
    def create(cls):
        """A pump for the running kernel, or None where this is not possible (no kernel, older ipykernel)."""
        try:
            from IPython import get_ipython

            kernel = get_ipython().kernel
            if not getattr(kernel, "shell_channel_thread", None):
                return None
            return cls(kernel)
        except Exception:
            return None

    def pump(self) -> int:
        """Process the waiting comm messages now; returns how many messages were taken from the queue."""
        n = 0
        session = self.kernel.session
        while True:
            try:
                frames = self.socket.recv_multipart(self._zmq.NOBLOCK, copy=False)
            except self._zmq.Again:
                return n
            n += 1
            try:
                idents, body = session.feed_identities(frames, copy=False)
                header = session.deserialize(body, content=False, copy=False)["header"]
                if header.get("msg_type") == "comm_msg":
                    msg = session.deserialize(body, content=True, copy=False)
                    self.kernel.shell_handlers["comm_msg"](self.kernel.shell_stream, idents, msg)
                    continue
            except Exception:  # an unreadable message: let the kernel deal with it as it normally would
                pass
            self.kernel.io_loop.add_callback(self._deferred, frames)


def diagnoses_html(found: list[Diagnosis], x_label: str = "step") -> str:
    """The diagnosis log as HTML: current findings, then earlier ones (greyed) with the steps they held."""
    items = []
    x_label = gettext(x_label)
    marks = {"error": ("#b00020", "✖"), "warning": ("#a05a00", "⚠"), "info": ("#1f5f99", "ℹ")}
    for d in found:
        color, mark = marks.get(d.severity, marks["info"])
        where = ""
        if d.step is not None:
            span = f"{d.step}" if d.last_step in (None, d.step) else f"{d.step}–{d.last_step}"
            where = (f"{x_label} {span}: " if d.active
                     else gettext("earlier ({x_label} {span}), no longer: ", x_label=x_label, span=span))
        style = f"color:{color};margin:2px 0" + ("" if d.active else ";opacity:0.6")
        items.append(f"<div style='{style}'>{mark} {html.escape(where + d.message)}</div>")
    return "".join(items)


class LiveView:
    """The widget panel of one monitor: header (status and Stop button), diagnoses, and the browser-drawn plots
    (:class:`course.monitor_live.LivePlots` over ``history`` and ``stats``); ``on_stop`` is called when the Stop
    button is clicked. While the cell runs the kernel is kept shown busy (:class:`course.kernel_status.BusyKeeper`).
    """

    def __init__(self, title: str, on_stop, stop_button: bool = True, *, history: dict, stats: dict,
                 x_label: str = "step", log_scale: bool = False, smoothing: float = 0.6):
        import ipywidgets as widgets
        from IPython.display import display

        from course.kernel_status import BusyKeeper
        from course.monitor_live import LivePlots

        self.title = title
        self.pump = CommPump.create() if stop_button else None
        self.busy = BusyKeeper.install()
        bold = "<b>" + html.escape(title) + "</b>"
        waiting = gettext("{title}: waiting for the first step", title=bold)
        self.status = widgets.HTML(value=waiting,
                                   layout=widgets.Layout(flex="1 1 auto"))
        self.status.add_class("ctm-status")
        self.button = widgets.Button(description=gettext("Stop training"), icon="stop", button_style="danger",
                                     tooltip=gettext("End training after the current step; the parameters keep "
                                                     "their values"),
                                     layout=widgets.Layout(width="150px", flex="0 0 auto"))
        self.button.add_class("ctm-stop")
        self.button.on_click(lambda _b: on_stop())
        if self.pump is None:
            self.button.layout.display = "none"
        self.diag = widgets.HTML(value="")
        self.diag.add_class("ctm-diagnoses")
        self.plots = LivePlots(history, stats, title=title, x_label=gettext(x_label), log_scale=log_scale,
                               smoothing=smoothing)
        header = widgets.HBox([self.status, self.button], layout=widgets.Layout(align_items="center"))
        self.widget = widgets.VBox([header, self.diag, self.plots],
                                   layout=widgets.Layout(border="1px solid #ddd", padding="6px", width="fit-content"))
        self.widget.add_class("course-training-monitor")
        display(self.widget)

    def set_stopping(self, closed: bool) -> None:
        self.button.disabled = True
        self.button.description = gettext("Stopped") if closed else gettext("Stopping…")

    def finish(self, stopped: bool) -> None:
        self.button.disabled = True
        self.button.description = gettext("Stopped") if stopped else gettext("Finished")
        self.plots.finished = True
