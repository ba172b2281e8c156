"""The audit runs in a second thread while the documents are read back (issue 17: the whole run).

Reading the previous workbook back (python-calamine parses the sheets' XML)
and loading the export (DuckDB) do not depend on each other; one after the
other they kept one of two cores idle for most of the load. Both release the
GIL for their heavy parts, so the audit is started first and the read-back
runs meanwhile in the calling thread. Nothing of the cycle's order changes
for the team: the audit only reads the export (or the CRM / the warehouse),
every document is still read back before anything is written, and carry-over
waits for both.

The audit's progress lines are held while the read-back reports its own and
shown once it is done, so the terminal tells the stages in the order they
always had. When the read-back fails (or the user presses Ctrl-C), the audit
is told to stop: its next progress line raises :class:`Cancelled` in its
thread, and the caller's error is what the user sees.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Generic, TypeVar

T = TypeVar("T")


class Cancelled(BaseException):
    """Raised inside the background call when its caller no longer wants the result.

    A BaseException, like KeyboardInterrupt: the audit's ``except Exception`` handlers (which turn a library's
    error into the user's message) let it through."""


class BackgroundCall(Generic[T]):
    """``fn(progress, wait)`` in a daemon thread (the caller's context variables copied); :meth:`result` waits for it.

    ``wait()``: the call may wait there until the caller's own work is done (:meth:`release`), e.g. so that two
    memory peaks do not add up; it raises :class:`Cancelled` when the caller gives up meanwhile.

    ``progress``: the caller's progress callback. Lines the call reports before :meth:`release` are held and
    given to it then, in order; later ones pass through.
    """

    def __init__(self, fn: Callable[[Callable[[str], None]], T], progress: Callable[[str], None]):
        self._progress = progress
        self._lock = threading.Lock()
        self._released = False
        self._held: list[str] = []
        self._cancel = threading.Event()
        self._go = threading.Event()  # set by release() and by cancel()
        self._future: Future[T] = Future()
        ctx = contextvars.copy_context()
        # daemon: a second Ctrl-C while waiting for a cancelled call must still end the process
        self._thread = threading.Thread(target=ctx.run, args=(self._run, fn), name="crm-audit-background", daemon=True)
        self._thread.start()

    def _run(self, fn) -> None:
        try:
            value = fn(self._say, self._wait)
        except BaseException as exc:  # handed to the caller's thread, which raises it
            self._future.set_exception(exc)
        else:
            self._future.set_result(value)

    def _say(self, text: str) -> None:
        if self._cancel.is_set():
            raise Cancelled()
        with self._lock:
            if not self._released:
                self._held.append(text)
                return
        self._progress(text)

    def _wait(self) -> None:
        self._go.wait()
        if self._cancel.is_set():
            raise Cancelled()

    def release(self) -> None:
        """From now on the call's progress lines are shown; the ones held are shown now."""
        with self._lock:
            self._released = True
            held, self._held = self._held, []
        for text in held:
            self._progress(text)
        self._go.set()

    def result(self) -> T:
        """The call's value (its exception raised here); releases its progress lines first."""
        self.release()
        return self._future.result()

    def __enter__(self) -> "BackgroundCall[T]":
        return self

    def __exit__(self, *exc) -> None:
        if exc[0] is not None and issubclass(exc[0], KeyboardInterrupt):
            self.cancel(wait=False)  # the user stops the run: not a moment longer for the load to reach its next line
        elif not self._future.done() or exc[0] is not None:
            self.cancel()

    def cancel(self, wait: bool = True) -> None:
        """Tell the call to stop at its next progress line and (``wait``) wait for it; its result or error is dropped."""
        self._cancel.set()
        self._go.set()
        if wait:
            self._thread.join()


__all__ = ["BackgroundCall", "Cancelled"]
