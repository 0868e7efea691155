"""Long work off the GUI thread, with progress and a way to cancel.

A `Job` wraps a plain function ``work(progress, cancelled) -> result``. It runs
on a `QThreadPool` thread; its signals arrive on the GUI thread (the worker
emits through a relay object that lives there, so every slot connected to a
job's public signals runs on the GUI thread, lambdas included).

`JobRunner` owns the pool and the status-bar widget (title, progress bar,
Cancel) for the job that is running.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from cadmium_app.signals import emit_from_worker
from engine.errors import OUT_OF_MEMORY, CadmiumError, out_of_memory

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
Cancelled = Callable[[], bool]
Work = Callable[[Progress, Cancelled], Any]


class _Relay(QObject):
    """Lives on the GUI thread; the worker emits through it."""

    progress = Signal(int, int)
    ended = Signal(str, object)  # "ok" | "failed" | "cancelled", payload


class _Runnable(QRunnable):
    def __init__(self, job: Job) -> None:
        super().__init__()
        self._job = job
        self.setAutoDelete(True)

    def run(self) -> None:
        job = self._job
        try:
            result = job.work(job.report, job.is_cancelled)
        except CadmiumError as exc:
            outcome, payload = "failed", str(exc)
        except OSError as exc:  # the disk or a folder said no: not a bug
            where = f"{exc.filename}: " if exc.filename else ""
            outcome, payload = (
                "failed",
                f"{job.title.rstrip('…')} failed: {where}{exc.strerror or exc}",
            )
        except Exception as exc:
            if out_of_memory(exc):
                log.warning("%s: out of memory (%r)", job.title, exc)
                payload = f"{job.title.rstrip('…')} failed: {OUT_OF_MEMORY}"
            else:  # a bug: keep the traceback in the log
                log.exception("%s failed", job.title)
                payload = f"{job.title} failed: {exc!r}"
            outcome = "failed"
        else:
            outcome = "cancelled" if job.is_cancelled() else "ok"
            payload = result
        emit_from_worker(job.relay.ended, outcome, payload)


class Job(QObject):
    """One piece of long work. Signals arrive on the GUI thread."""

    progress = Signal(int, int)
    succeeded = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    finished = Signal()  # after any of the three above

    def __init__(
        self,
        title: str,
        work: Work,
        *,
        cancellable: bool = True,
        edits_project: bool = False,
    ) -> None:
        """edits_project: its result is an edit of the open project, void
        once another project opens (so opening one cancels it)."""
        super().__init__()
        self.title = title
        self.work = work
        self.cancellable = cancellable
        self.edits_project = edits_project
        self.outcome: str | None = None
        self.result: Any = None
        self.error: str | None = None
        self._cancel = threading.Event()
        self._last_report = 0.0
        self.relay = _Relay()
        self.relay.progress.connect(self._on_progress)
        self.relay.ended.connect(self._on_ended)

    # worker side
    def report(self, done: int, total: int) -> None:
        now = time.monotonic()
        # Throttle: the GUI needs a few updates a second, not one per region.
        if done >= total or now - self._last_report > 0.05:
            self._last_report = now
            emit_from_worker(self.relay.progress, done, total)

    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    # GUI side
    def cancel(self) -> None:
        if self.cancellable:
            self._cancel.set()

    @property
    def done(self) -> bool:
        return self.outcome is not None

    @Slot(int, int)
    def _on_progress(self, done: int, total: int) -> None:
        self.progress.emit(done, total)

    @Slot(str, object)
    def _on_ended(self, outcome: str, payload: object) -> None:
        self.outcome = outcome
        if outcome == "ok":
            self.result = payload
            self.succeeded.emit(payload)
        elif outcome == "failed":
            self.error = str(payload)
            self.failed.emit(self.error)
        else:
            self.cancelled.emit()
        self.finished.emit()


class JobWidget(QWidget):
    """Status-bar strip: what runs, how far it is, and Cancel."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel()
        self.bar = QProgressBar()
        self.bar.setFixedWidth(180)
        self.bar.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancelJob")
        for widget in (self.label, self.bar, self.cancel_button):
            layout.addWidget(widget)
        self.hide()


class JobRunner(QObject):
    """Runs jobs one after another on a worker thread.

    ``exclusive`` jobs (propagation, colorize, export, a change of gap) are
    refused while another exclusive job runs: the caller tells the user.
    Jobs submitted ``alongside`` (saves and autosaves) run one after another
    on a thread of their own, beside the others: paint put on during a
    propagation of minutes is saved, and autosaved, when asked.
    """

    job_started = Signal(object)
    job_finished = Signal(object)

    def __init__(self, parent: QObject | None = None, *, threads: int = 1) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(threads)
        self.side_pool = QThreadPool(self)
        self.side_pool.setMaxThreadCount(1)
        self.widget = JobWidget()
        self.widget.cancel_button.clicked.connect(self.cancel_current)
        self._queue: list[Job] = []
        self._shown: Job | None = None
        self.exclusive: Job | None = None

    def submit(
        self, job: Job, *, exclusive: bool = False, alongside: bool = False
    ) -> bool:
        if exclusive:
            if self.exclusive is not None:
                return False
            self.exclusive = job
        self._queue.append(job)
        job.progress.connect(lambda d, t, j=job: self._on_progress(j, d, t))
        job.finished.connect(lambda j=job: self._on_finished(j))
        (self.side_pool if alongside else self.pool).start(_Runnable(job))
        self.job_started.emit(job)
        self._show()
        return True

    @property
    def running(self) -> list[Job]:
        return list(self._queue)

    def cancel_current(self) -> None:
        if self._shown is not None:
            self._shown.cancel()

    def cancel_all(self) -> None:
        for job in self._queue:
            job.cancel()

    def cancel_project_edits(self) -> None:
        """Cancel the work whose result would edit the project being closed
        (it would be refused anyway), so the next one need not wait for it."""
        for job in self._queue:
            if job.edits_project:
                job.cancel()

    def wait(self, timeout_ms: int = 30000) -> bool:
        pools = (self.side_pool, self.pool)
        # A list, not a generator: both are waited for, whatever the first says.
        return all([bool(pool.waitForDone(timeout_ms)) for pool in pools])

    def _show(self) -> None:
        shown = next((j for j in self._queue if j.cancellable), None)
        shown = shown or (self._queue[0] if self._queue else None)
        self._shown = shown
        if shown is None:
            self.widget.hide()
            return
        self.widget.label.setText(shown.title)
        self.widget.bar.setRange(0, 0)  # busy until the first progress report
        self.widget.cancel_button.setEnabled(shown.cancellable)
        self.widget.show()

    def _on_progress(self, job: Job, done: int, total: int) -> None:
        if job is self._shown and total > 0:
            self.widget.bar.setRange(0, total)
            self.widget.bar.setValue(done)
            self.widget.bar.setFormat(f"{done} / {total}")

    def _on_finished(self, job: Job) -> None:
        if job in self._queue:
            self._queue.remove(job)
        if job is self.exclusive:
            self.exclusive = None
        self.job_finished.emit(job)
        self._show()
