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
            try:
                _login(server, cfg.username, password or "")
            except smtplib.SMTPServerDisconnected as exc:
                # a server that hangs up on a refused AUTH (smtplib tries the next method on the closed line): a
                # refused login, before any message — never logged in again for the next message
                raise LoginDropped(str(exc)) from exc
        _track(server)
    except BaseException:
        server.close()
        raise
    return server


class LoginDropped(smtplib.SMTPServerDisconnected):
    """The server closed the connection during the login: the login counts as refused."""


#: where a transaction can break with the message known not to be sent: before the DATA command was sent
_BEFORE_DATA = ("ready", "mail", "rcpt")


def _track(server: smtplib.SMTP) -> None:
    """Keep in ``server.phase`` the last step of the current transaction (ready, mail, rcpt, data): a connection that
    breaks before DATA has not sent the message; during or after DATA it is not known."""
    server.phase = "ready"  # type: ignore[attr-defined]
    for name in ("mail", "rcpt", "data"):
        step = getattr(server, name)

        def tracked(*args, _step=step, _name=name, **kw):
            server.phase = _name  # type: ignore[attr-defined]
            return _step(*args, **kw)

        setattr(server, name, tracked)


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


def connect_error(cfg: SmtpConfig, exc: BaseException, sent: bool | None = None) -> str:
    """Why the mail server could not be used, in one line (host, port, the cause; never the password). ``sent``: False
    when the connection broke before the message's DATA (known not sent), None when that is not known."""
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
    if isinstance(exc, LoginDropped):
        return (_("the mail server {where} closed the connection at the login of «{user}» (a refused login): check the user "
                  "and ${variable}; not sent").format(where=where, user=cfg.username, variable=cfg.password_env))
    if isinstance(exc, smtplib.SMTPServerDisconnected) and sent is False:
        return _("the mail server {where} closed the connection before the message was sent; not sent").format(where=where)
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
    drops = 0  # connections broken while sending: the rest are tried on a new connection once, not once per message
    for o in messages:
        if server is None and failure is None:
            try:
                server = _connect(cfg, password, ca_file)
            except (smtplib.SMTPException, OSError) as exc:
                failure = connect_error(cfg, exc, sent=False)
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
            # the connection broke: before DATA the message is not sent, after it not known; the rest are tried on a
            # new connection once
            before = getattr(server, "phase", "data") in _BEFORE_DATA
            out.append(Delivery("email", o.recipient, o.kind, o.owner, False, connect_error(cfg, exc, sent=False if before else None)))
            _close(server)
            server = None
            drops += 1
            if drops > 1:
                failure = _("the mail server {where} broke the connection twice; not sent").format(
                    where=f"{cfg.host}:{cfg.effective_port}")
            continue
        server.phase = "ready"  # type: ignore[attr-defined]
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
