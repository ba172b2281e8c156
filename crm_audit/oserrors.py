"""An operating-system error (``OSError``) said in the CLI's language: the OS's own text is English (``strerror``),
so a Russian line never carries it raw — the errno picks a translated text, the OS's text stays only as a value."""

from __future__ import annotations

import errno
import socket

from crm_audit.i18n import _


def os_error_text(exc: OSError) -> str:
    """«нет такого файла или папки», «в соединении отказано: …» — what went wrong, without the file name."""
    if isinstance(exc, socket.gaierror):
        return _("unknown host name")
    texts = {
        errno.ENOENT: _("no such file or folder"),
        errno.EACCES: _("permission denied"),
        errno.EPERM: _("operation not permitted"),
        errno.EISDIR: _("it is a folder, not a file"),
        errno.ENOTDIR: _("a part of the path is not a folder"),
        errno.EEXIST: _("it already exists"),
        errno.ENOSPC: _("no space left on the disk"),
        errno.EROFS: _("the file system is read-only"),
        errno.ENAMETOOLONG: _("the name is too long"),
        errno.ECONNREFUSED: _("connection refused: nothing listens on that port"),
        errno.ECONNRESET: _("the connection was reset"),
        errno.ETIMEDOUT: _("the connection timed out"),
        errno.EHOSTUNREACH: _("the host is unreachable"),
        errno.ENETUNREACH: _("the network is unreachable"),
        errno.EPIPE: _("the connection was closed"),
    }
    if exc.errno in texts:
        return texts[exc.errno]
    if exc.errno:
        return _("system error {code}: {text}").format(code=exc.errno, text=exc.strerror or exc)
    return str(exc)
