"""A function of a file read once per process while the file is unchanged (its size and modification time): a
command reads its profile, its rule files and each export file's headers several times (init, inspect and run
alike), and parsing them again was a good part of every command's time. The result is shared: never change it."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def per_file(maxsize: int) -> Callable[[Callable[[Path], T]], Callable[[Path], T]]:
    """Decorate ``fn(path)``: called again only when the file at ``path`` (the same file wherever it is named from)
    changed; ``fn`` gets the path as the caller gave it (its messages name the file so). A file that cannot be
    looked at is never cached (``fn`` says what is wrong)."""

    def decorate(fn: Callable[[Path], T]) -> Callable[[Path], T]:
        @functools.lru_cache(maxsize=maxsize)
        def cached(_where: Path, given: str, _mtime: int, _size: int) -> T:
            return fn(Path(given))

        @functools.wraps(fn)
        def wrapper(path) -> T:
            try:
                st = Path(path).stat()
                where = Path(path).resolve()
            except OSError:
                return fn(Path(path))
            return cached(where, str(path), st.st_mtime_ns, st.st_size)

        wrapper.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
        return wrapper

    return decorate
