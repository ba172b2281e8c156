"""E-mail through SMTP (the standard library's smtplib): STARTTLS, SSL or plain, optional login.

One connection for all messages; each message is its own transaction, so a
refused address fails only its own message. Every failure is reported per
recipient; ``on_sent`` is called right after each accepted message (the
caller records it at once). The password comes from the environment and is
never part of a message.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from typing import Callable

from crm_audit.i18n import _
from crm_audit.notify.delivery import Delivery
from crm_audit.notify.messages import Outgoing, email_message
from crm_audit.oserrors import os_error_text
from crm_audit.settings import SmtpConfig


def _context(cfg: SmtpConfig, ca_file: str | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    if ca_file:
        ctx.load_verify_locations(cafile=ca_file)
    return ctx


def _connect(cfg: SmtpConfig, password: str | None, ca_file: str | None) -> smtplib.SMTP:
    port = cfg.effective_port
    if cfg.security == "ssl":
        server: smtplib.SMTP = smtplib.SMTP_SSL(cfg.host, port, timeout=cfg.timeout, context=_context(cfg, ca_file))
    else:
        server = smtplib.SMTP(cfg.host, port, timeout=cfg.timeout)
    try:
        server.ehlo()
        if cfg.security == "starttls":
            if not server.has_extn("starttls"):
                raise smtplib.SMTPNotSupportedError("the server does not offer STARTTLS (set notify.smtp.security: ssl or none)")
            server.starttls(context=_context(cfg, ca_file))
            server.ehlo()
        if cfg.username:
            _login(server, cfg.username, password or "")
    except BaseException:
        server.close()
        raise
    return server


def _login(server: smtplib.SMTP, user: str, password: str) -> None:
    """LOGIN / PLAIN as smtplib does; a non-ASCII user or password (smtplib encodes them as ASCII) goes as UTF-8 PLAIN."""
    try:
        server.login(user, password)
    except UnicodeEncodeError:
        import base64

        token = base64.b64encode(f"\0{user}\0{password}".encode("utf-8")).decode("ascii")
        code, resp = server.docmd("AUTH", f"PLAIN {token}")
        if code not in (235, 503):  # 503: already authenticated
            raise smtplib.SMTPAuthenticationError(code, resp) from None


def connect_error(cfg: SmtpConfig, exc: BaseException) -> str:
    """Why the mail server could not be used, in one line (host, port, the cause; never the password)."""
    where = f"{cfg.host}:{cfg.effective_port}"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return (_("the mail server {where} refused the login of «{user}» ({code}): check the user and ${variable}")
                .format(where=where, user=cfg.username, code=exc.smtp_code, variable=cfg.password_env))
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        what = "STARTTLS" if "STARTTLS" in str(exc) else _("login (AUTH)")
        return (_("the mail server {where} does not offer {what} here; check notify.smtp.security (starttls / ssl / none) "
                  "and username").format(where=where, what=what))
    if isinstance(exc, ssl.SSLError):
        return _("TLS with {where} failed ({why}); check notify.smtp.security / ca_file").format(where=where, why=exc.reason or exc)
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return _("the mail server {where} did not answer within {seconds} s").format(where=where, seconds=f"{cfg.timeout:g}")
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return _("the mail server {where} closed the connection; the message is not known to be sent").format(where=where)
    if isinstance(exc, (ConnectionRefusedError, socket.gaierror, OSError)) and not isinstance(exc, smtplib.SMTPException):
        return _("cannot reach the mail server {where} ({why})").format(where=where, why=os_error_text(exc))
    if isinstance(exc, smtplib.SMTPResponseException):
        return _("the mail server {where} answered {code} {text}").format(where=where, code=exc.smtp_code, text=_text(exc.smtp_error))
    return _("the mail server {where} failed ({kind}): {why}").format(where=where, kind=type(exc).__name__, why=exc)


def _text(b) -> str:
    return b.decode("utf-8", "replace") if isinstance(b, bytes) else str(b)


def send_emails(cfg: SmtpConfig, messages: list[Outgoing], *, password: str | None, ca_file: str | None = None,
                on_sent: Callable[[Outgoing], None] = lambda o: None) -> list[Delivery]:
    """Send every message; one :class:`Delivery` per message, in order."""
    out: list[Delivery] = []
    if not messages:
        return out
    if cfg.username and not password:
        why = _("the SMTP password is not set: put it in the environment variable {variable}").format(variable=cfg.password_env)
        return [Delivery("email", o.recipient, o.kind, o.owner, False, why) for o in messages]
    server = None
    failure = None
    for o in messages:
        if server is None and failure is None:
            try:
                server = _connect(cfg, password, ca_file)
            except (smtplib.SMTPException, OSError) as exc:
                failure = connect_error(cfg, exc)
        if failure is not None:
            out.append(Delivery("email", o.recipient, o.kind, o.owner, False, failure))
            continue
        msg = email_message(o, cfg.sender)
        try:
            refused = server.send_message(msg)
            if refused:
                code, why = refused.get(o.recipient, next(iter(refused.values())))
                out.append(Delivery("email", o.recipient, o.kind, o.owner, False,
                                    _("the server refused the address: {code} {text}").format(code=code, text=_text(why))))
                continue
        except smtplib.SMTPRecipientsRefused as exc:
            code, why = next(iter(exc.recipients.values()), (None, b""))
            out.append(Delivery("email", o.recipient, o.kind, o.owner, False,
                                _("the server refused the address: {code} {text}").format(code=code, text=_text(why))))
            _reset(server)
            continue
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            out.append(Delivery("email", o.recipient, o.kind, o.owner, False, _("the server refused the message: {code} {text}")
                                .format(code=exc.smtp_code, text=_text(exc.smtp_error))))
            _reset(server)
            continue
        except (smtplib.SMTPServerDisconnected, OSError, smtplib.SMTPException) as exc:
            # the connection broke: this message is not known to be sent; the rest are tried on a new connection once
            out.append(Delivery("email", o.recipient, o.kind, o.owner, False, connect_error(cfg, exc)))
            _close(server)
            server = None
            continue
        on_sent(o)
        out.append(Delivery("email", o.recipient, o.kind, o.owner, True, message_hash=o.hash))
    if server is not None:
        _close(server, quit=True)
    return out


def _reset(server: smtplib.SMTP) -> None:
    try:
        server.rset()
    except (smtplib.SMTPException, OSError):
        pass


def _close(server: smtplib.SMTP, quit: bool = False) -> None:
    try:
        if quit:
            server.quit()
        else:
            server.close()
    except (smtplib.SMTPException, OSError):
        server.close()
