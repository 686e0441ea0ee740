"""The SMTP adapter behind ``ports.MailTransport``: one connection per mail, with smtplib.

``SMTP_URL`` says where and how: ``smtp://user:password@host:587`` connects in the clear and
upgrades with STARTTLS when the server offers it (``?starttls=required`` refuses to send when it
does not, ``?starttls=false`` never upgrades: a relay on the same host); ``smtps://host:465`` is
TLS from the first byte. Certificates are verified (the system's CAs). The user and password,
percent-decoded, log in (only over TLS, unless starttls=false says the network is trusted).

A mail is handed over when the server answers 250 to its DATA: ``send`` returns right then,
so the outbox can mark it sent with as little time as possible in between (the window in
which a crash would send it again: see ``service.outbox``).
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

from ..errors import MailDeliveryError
from ..model import OutgoingMail

DEFAULT_PORTS = {"smtp": 587, "smtps": 465}


class SmtpTransport:
    """Send each mail over a new connection to ``url`` (no pool: mail is rare and a stale
    pooled connection would only add failure modes)."""

    def __init__(self, url: str, mail_from: str, timeout_s: float, domain: str = "localhost") -> None:
        parsed = urlsplit(url)
        self._tls = parsed.scheme == "smtps"
        self._host = parsed.hostname or "localhost"
        self._port = parsed.port or DEFAULT_PORTS[parsed.scheme]
        self._user = unquote(parsed.username) if parsed.username else None
        self._password = unquote(parsed.password) if parsed.password else ""
        self._starttls = parse_qs(parsed.query).get("starttls", ["auto"])[-1]
        self._mail_from = mail_from
        self._timeout_s = timeout_s
        self._domain = mail_from.rpartition("@")[2] or domain

    def send(self, mail: OutgoingMail) -> None:
        message = self.message(mail)
        try:
            with self._connect() as smtp:
                self._secure(smtp)
                if self._user:
                    smtp.login(self._user, self._password)
                smtp.send_message(message)
        except smtplib.SMTPResponseException as exc:  # refused: 5xx for good, 4xx for now
            raise MailDeliveryError(
                f"{exc.smtp_code} {exc.smtp_error!r}", permanent=exc.smtp_code >= 500
            ) from exc
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _text in exc.recipients.values()]
            raise MailDeliveryError(
                f"recipient refused {codes}", permanent=all(c >= 500 for c in codes)
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:  # unreachable, timed out, TLS, dropped
            raise MailDeliveryError(f"{type(exc).__name__}: {exc}") from exc

    def message(self, mail: OutgoingMail) -> EmailMessage:
        """The mail as sent. Its Message-ID is derived from ``mail_id``: if a crash makes the
        outbox send it again, the copy carries the same id (many mail clients show one)."""
        message = EmailMessage()
        message["From"] = self._mail_from
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message["Date"] = formatdate(mail.created_at / 1000, usegmt=True)
        message["Message-ID"] = f"<{mail.mail_id}@{self._domain}>" if mail.mail_id else make_msgid()
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to it
        message.set_content(mail.text)
        return message

    def _connect(self) -> smtplib.SMTP:
        if self._tls:
            return smtplib.SMTP_SSL(
                self._host, self._port, timeout=self._timeout_s, context=ssl.create_default_context()
            )
        return smtplib.SMTP(self._host, self._port, timeout=self._timeout_s)

    def _secure(self, smtp: smtplib.SMTP) -> None:
        if self._tls or self._starttls == "false":
            return
        smtp.ehlo()
        if smtp.has_extn("starttls"):
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        elif self._starttls == "required":
            raise MailDeliveryError("the server does not offer STARTTLS (SMTP_URL says starttls=required)")
        elif self._user:
            raise MailDeliveryError("refusing to send the SMTP password in the clear (no STARTTLS offered)")
