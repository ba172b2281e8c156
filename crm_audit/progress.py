"""Progress of a long run on the terminal: one line, rewritten in place.

A 1M-deal audit takes tens of seconds; the analyst sees which stage is
running and how far it got. When stderr is not a terminal (a pipe, a log
file, CI) nothing is printed, so logs hold only the summary.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """``progress("evaluating rules 3/17")`` updates the line; :meth:`close` clears it."""

    def __init__(self, enabled: bool | None = None, stream: TextIO | None = None):
        self.stream = stream or sys.stderr
        self.enabled = bool(self.stream.isatty()) if enabled is None else enabled
        self.start = time.perf_counter()
        self._width = 0

    def __call__(self, text: str) -> None:
        if not self.enabled:
            return
        line = f"[{time.perf_counter() - self.start:6.1f} s] {text}"
        pad = max(0, self._width - len(line))
        self.stream.write("\r" + line + " " * pad)
        self.stream.flush()
        self._width = len(line) + pad  # what the terminal shows now

    def close(self) -> None:
        if self.enabled and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0


def silent(text: str) -> None:
    """The progress callback that prints nothing (library calls)."""
