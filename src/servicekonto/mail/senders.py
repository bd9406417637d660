"""Ways a message leaves the service: `.eml` files for development, SMTP for production.

Both build the same RFC 5322 message and differ only in the body's transfer encoding, so what a
developer reads in `var/mail/` is what the SMTP server would have received.
"""

from __future__ import annotations

import os
import secrets
import smtplib
import ssl
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from typing import Literal, Protocol

from servicekonto.clock import Clock, SystemClock
from servicekonto.config import MailSettings, Settings
from servicekonto.errors import ServicekontoError
from servicekonto.mail.message import OutgoingMail

MAIL_DIRECTORY_NAME = "mail"
# quoted-printable keeps the body 7-bit clean for SMTP servers without 8BITMIME; files use
# 8bit so a developer can copy a link straight out of the raw `.eml` (QP would break it).
TransferEncoding = Literal["quoted-printable", "8bit"]


class MailSender(Protocol):
    def send(self, mail: OutgoingMail) -> None:
        """Deliver the message or raise `MailDeliveryError`."""
        ...


class MailDeliveryError(ServicekontoError):
    """The message could not be handed over.

    The text names where it should have gone and why, for the operator's log; it never holds a
    password, because delivery errors are logged and may be shown in the CLI.
    """


def build_mail_sender(settings: Settings) -> MailSender:
    """The sender the settings ask for: files under the var directory, or SMTP."""
    if settings.mail.backend == "file":
        return FileMailSender(settings.var_dir / MAIL_DIRECTORY_NAME, settings.mail.sender)
    return SmtpMailSender(settings.mail)


def build_message(
    mail: OutgoingMail, sender: str, clock: Clock, *, transfer_encoding: TransferEncoding
) -> EmailMessage:
    """The RFC 5322 message for `mail`.

    The SMTP policy writes CRLF line ends and encodes non-ASCII headers as RFC 2047 words, so
    the message passes any server, also one without SMTPUTF8. Header values with line breaks
    are refused by the policy (ValueError): that stops header injection through an address or
    subject.
    """
    message = EmailMessage(policy=SMTP_POLICY)
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(clock.now())
    message["Message-ID"] = make_msgid(domain=_domain_of(sender))
    message.set_content(mail.text, charset="utf-8", cte=transfer_encoding)
    return message


def _domain_of(sender: str) -> str:
    # Without a domain make_msgid asks DNS for our own name, which can hang on a bad resolver.
    return parseaddr(sender)[1].rpartition("@")[2] or "localhost"


class FileMailSender:
    """Writes each message as `<UTC timestamp>-<random hex>.eml`, so a listing sorts by time.

    Mail holds confirmation and reset links, which are as good as a password until used: the
    directory is private to the service user (0700) and each file is too (0600).
    """

    def __init__(self, directory: Path, sender: str, *, clock: Clock | None = None) -> None:
        self.directory = directory
        self._sender = sender
        self._clock = clock or SystemClock()

    def send(self, mail: OutgoingMail) -> None:
        message = build_message(mail, self._sender, self._clock, transfer_encoding="8bit")
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            _write_private(self.directory / self._file_name(), message.as_bytes())
        except OSError as error:
            raise MailDeliveryError(
                f"could not write mail to {self.directory}: {_describe(error)}"
            ) from error

    def _file_name(self) -> str:
        # Microseconds keep the order within one second; the random part keeps names unique.
        stamp = self._clock.now().strftime("%Y%m%dT%H%M%S%fZ")
        return f"{stamp}-{secrets.token_hex(8)}.eml"


def _write_private(path: Path, content: bytes) -> None:
    # O_EXCL: never overwrite, never follow a planted symlink; the mode applies at creation.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(content)


class SmtpMailSender:
    """Hands each message to an SMTP server with the standard library's `smtplib`.

    One connection per message: mail here is rare (registration, password reset), and a fresh
    connection cannot fail on a half-closed idle one.
    """

    def __init__(self, settings: MailSettings, *, clock: Clock | None = None) -> None:
        self._settings = settings
        self._clock = clock or SystemClock()

    def send(self, mail: OutgoingMail) -> None:
        message = build_message(
            mail, self._settings.sender, self._clock, transfer_encoding="quoted-printable"
        )
        try:
            with self._connect() as smtp:
                self._secure_and_log_in(smtp)
                smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as error:
            # `from None`: the chained exception could carry the server's reply to AUTH, which
            # we do not want in tracebacks; the reason below says what the operator needs.
            raise MailDeliveryError(self._reason(error)) from None

    def _connect(self) -> smtplib.SMTP:
        settings = self._settings
        if settings.smtp_security == "tls":
            return smtplib.SMTP_SSL(
                settings.smtp_host,
                settings.smtp_port,
                timeout=settings.smtp_timeout,
                context=ssl.create_default_context(),
            )
        return smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout)

    def _secure_and_log_in(self, smtp: smtplib.SMTP) -> None:
        settings = self._settings
        if settings.smtp_security == "starttls":
            # Fails when the server offers no STARTTLS: we never fall back to plain text.
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_username:
            smtp.login(settings.smtp_username, self._password())

    def _password(self) -> str:
        password = self._settings.smtp_password
        return password.get_secret_value() if password else ""

    def _reason(self, error: BaseException) -> str:
        settings = self._settings
        reason = f"could not send mail via {settings.smtp_host}:{settings.smtp_port}: "
        reason += _describe(error)
        password = self._password()
        # A server may echo what it was sent; the password must not reach a log that way.
        return reason.replace(password, "***") if password else reason


def _describe(error: BaseException) -> str:
    first_line = str(error).strip().partition("\n")[0]
    name = type(error).__name__
    return f"{name}: {first_line}" if first_line else name
