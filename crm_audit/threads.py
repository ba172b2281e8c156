"""A call run in a second thread whose result — or error — the caller takes later.

For work that releases the GIL (hashing a file, DuckDB formatting a CSV) beside the caller's own: the thread is a
daemon (a Ctrl-C never waits for it) and runs in a copy of the caller's context variables (the CLI's language).
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class InThread(Generic[T]):
    """``fn(*args)`` started in a daemon thread named ``name``; :meth:`result` waits for it and returns its value or
    raises what it raised, in the caller's thread."""

    def __init__(self, fn: Callable[..., T], *args: Any, name: str):
        self._value: T | None = None
        self._error: BaseException | None = None
        ctx = contextvars.copy_context()
        self._thread = threading.Thread(target=ctx.run, args=(self._run, fn, args), name=name, daemon=True)
        self._thread.start()

    def _run(self, fn: Callable[..., T], args: tuple) -> None:
        try:
            self._value = fn(*args)
        except BaseException as exc:  # raised in the caller's thread by result()
            self._error = exc

    def join(self) -> None:
        """Wait for the call to end, whatever its outcome."""
        self._thread.join()

    def result(self) -> T:
        """The call's value; raises what the call raised."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]
