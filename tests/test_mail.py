"""Outgoing mail: a real local SMTP server, `.eml` files on disk, and the text templates."""

from __future__ import annotations

import logging
import socket
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from jinja2 import UndefinedError

from servicekonto.clock import FixedClock
from servicekonto.config import MailSettings, Settings
from servicekonto.mail.message import OutgoingMail
from servicekonto.mail.senders import (
    FileMailSender,
    MailDeliveryError,
    SmtpMailSender,
    build_mail_sender,
)
from servicekonto.mail.templates import LOCALES, TEMPLATE_NAMES, render_mail

TEMPLATE_DIR = Path(__file__).resolve().parents[1] / "src/servicekonto/mail/templates"
SENDER = "Bürgerservice Kreis Cochem-Zell <servicekonto@example.de>"
RECIPIENT = "erika.mustermann@example.de"
SMTP_USER = "sk-mailer"
SMTP_PASSWORD = "not-for-any-log-4711"
SAMPLE_CONTEXT: dict[str, object] = {
    "link": "https://konto.example.de/confirm?token=sk_ec_abc&lang=de",
    "login_link": "https://konto.example.de/login",
    "reset_link": "https://konto.example.de/password/forgot",
    "valid_hours": 48,
    "valid_minutes": 60,
    "new_email": "neu@example.de",
    "procedure": "Hundeanmeldung",
    "organisation": "Moselwinzer eG",
    "message": "Bitte laden Sie den aktuellen Registerauszug hoch.",
    "valid_days": 7,
}


# --- a real SMTP server on 127.0.0.1 ---------------------------------------------------------


@dataclass
class Inbox:
    """aiosmtpd handler and authenticator that remembers what it received."""

    envelopes: list[Envelope] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)

    async def handle_DATA(  # noqa: N802 - the hook name aiosmtpd calls
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        login, password = data.login.decode(), data.password.decode()
        self.logins.append((login, password))
        # handled=False: aiosmtpd then answers a failed login with 535 itself.
        accepted = (login, password) == (SMTP_USER, SMTP_PASSWORD)
        return AuthResult(success=accepted, handled=False)

    def only_message(self) -> tuple[Envelope, EmailMessage]:
        assert len(self.envelopes) == 1
        envelope = self.envelopes[0]
        assert isinstance(envelope.content, bytes)
        return envelope, parse(envelope.content)


@dataclass
class SmtpServer:
    inbox: Inbox
    port: int

    def settings(self, **overrides: Any) -> MailSettings:
        values: dict[str, Any] = {
            "backend": "smtp",
            "sender": SENDER,
            "smtp_host": "127.0.0.1",
            "smtp_port": self.port,
            "smtp_security": "none",
            "smtp_timeout": 5.0,
        }
        return MailSettings(**(values | overrides))


@pytest.fixture
def smtp_server(caplog: pytest.LogCaptureFixture) -> Iterator[SmtpServer]:
    # aiosmtpd logs every connection at info level from its own thread; that is noise here.
    caplog.set_level(logging.WARNING, logger="mail.log")
    inbox = Inbox()
    port = free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        ready_timeout=5.0,
        server_hostname="mail.test",  # skips a reverse DNS lookup that can stall
        # Without SMTPUTF8 the server accepts only 7-bit headers: proves we encode umlauts.
        enable_SMTPUTF8=False,
        # AUTH over plain TCP is for this loopback test only; auth_required stays False, so
        # aiosmtpd raises no warning and a sender without credentials is accepted too.
        auth_require_tls=False,
        authenticator=inbox.authenticate,
    )
    controller.start()
    try:
        yield SmtpServer(inbox, port)
    finally:
        controller.stop()


def free_port() -> int:
    """A port nothing listens on (bound once by the kernel's choice, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def parse(raw: bytes) -> EmailMessage:
    message = BytesParser(policy=default_policy).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    return message


def body_of(message: EmailMessage) -> str:
    content = message.get_content()
    assert isinstance(content, str)
    return content.replace("\r\n", "\n")


def sample_mail(
    subject: str = "Bestätigen Sie Ihre Adresse \u2013 schön, dass Sie da sind",
) -> OutgoingMail:
    return OutgoingMail(to=RECIPIENT, subject=subject, text="Grüße aus Müllheim\nZeile zwei\n")


# --- SMTP ------------------------------------------------------------------------------------


def test_smtp_delivers_a_correctly_encoded_message(smtp_server: SmtpServer) -> None:
    mail = sample_mail()
    SmtpMailSender(smtp_server.settings()).send(mail)

    envelope, message = smtp_server.inbox.only_message()
    assert envelope.mail_from == "servicekonto@example.de"
    assert envelope.rcpt_tos == [RECIPIENT]
    assert isinstance(envelope.content, bytes) and envelope.content.isascii()
    assert message["From"].addresses[0].display_name == "Bürgerservice Kreis Cochem-Zell"
    assert message["To"] == RECIPIENT
    assert message["Subject"] == mail.subject
    assert body_of(message) == mail.text
    assert message["Message-ID"].endswith("@example.de>")
    assert message["Date"].datetime.tzinfo is not None
    assert smtp_server.inbox.logins == []


def test_smtp_logs_in_when_a_user_is_configured(smtp_server: SmtpServer) -> None:
    settings = smtp_server.settings(smtp_username=SMTP_USER, smtp_password=SMTP_PASSWORD)
    SmtpMailSender(settings).send(sample_mail())

    assert smtp_server.inbox.logins == [(SMTP_USER, SMTP_PASSWORD)]
    assert smtp_server.inbox.only_message()[1]["To"] == RECIPIENT


def test_rejected_login_is_a_delivery_error_without_the_password(
    smtp_server: SmtpServer,
) -> None:
    wrong = "wrong-" + SMTP_PASSWORD
    settings = smtp_server.settings(smtp_username=SMTP_USER, smtp_password=wrong)
    with pytest.raises(MailDeliveryError) as caught:
        SmtpMailSender(settings).send(sample_mail())

    assert "SMTPAuthenticationError" in str(caught.value)
    assert wrong not in str(caught.value)
    assert smtp_server.inbox.envelopes == []


def test_starttls_is_never_skipped_when_the_server_lacks_it(smtp_server: SmtpServer) -> None:
    with pytest.raises(MailDeliveryError, match="STARTTLS extension not supported"):
        SmtpMailSender(smtp_server.settings(smtp_security="starttls")).send(sample_mail())
    assert smtp_server.inbox.envelopes == []


def test_implicit_tls_against_a_plain_server_fails_cleanly(smtp_server: SmtpServer) -> None:
    with pytest.raises(MailDeliveryError, match=f"127.0.0.1:{smtp_server.port}"):
        SmtpMailSender(smtp_server.settings(smtp_security="tls")).send(sample_mail())
    assert smtp_server.inbox.envelopes == []


def test_server_down_names_host_and_port_but_not_the_password() -> None:
    port = free_port()
    settings = MailSettings(
        backend="smtp",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security="none",
        smtp_username=SMTP_USER,
        smtp_password=SMTP_PASSWORD,
        smtp_timeout=2.0,
    )
    with pytest.raises(MailDeliveryError) as caught:
        SmtpMailSender(settings).send(sample_mail())

    assert f"127.0.0.1:{port}" in str(caught.value)
    assert "ConnectionRefusedError" in str(caught.value)
    assert SMTP_PASSWORD not in str(caught.value)


# --- files -----------------------------------------------------------------------------------


def test_file_sender_writes_a_private_parseable_eml_file(tmp_path: Path) -> None:
    directory = tmp_path / "var" / "mail"
    subject, text = render_mail("confirm_email", "de", **SAMPLE_CONTEXT)
    FileMailSender(directory, SENDER).send(OutgoingMail(to=RECIPIENT, subject=subject, text=text))

    (path,) = directory.iterdir()
    assert path.suffix == ".eml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    raw = path.read_bytes()
    # A developer copies the link out of the raw file: it must appear unencoded.
    assert f"\r\n{SAMPLE_CONTEXT['link']}\r\n".encode() in raw
    message = parse(raw)
    assert message["Subject"] == subject == "ServiceKonto: Bitte bestätigen Sie Ihre E-Mail-Adresse"
    assert body_of(message) == text
    assert message["To"] == RECIPIENT
    assert message["Message-ID"]


def test_file_names_sort_in_the_order_mails_were_sent(tmp_path: Path) -> None:
    clock = FixedClock(datetime(2026, 11, 21, 9, 59, 59, 999_998, tzinfo=UTC))
    sender = FileMailSender(tmp_path, SENDER, clock=clock)
    # Steps across a microsecond, a second and a day boundary, where naive formats misorder.
    for number, step in enumerate([timedelta(0), timedelta(microseconds=1), timedelta(hours=15)]):
        clock.advance(step)
        sender.send(sample_mail(subject=f"Nachricht {number}"))

    names = sorted(path.name for path in tmp_path.iterdir())
    subjects = [parse((tmp_path / name).read_bytes())["Subject"] for name in names]
    assert subjects == ["Nachricht 0", "Nachricht 1", "Nachricht 2"]
    assert names[0].startswith("20261121T095959999998Z-")


def test_unwritable_mail_directory_is_a_delivery_error(tmp_path: Path) -> None:
    blocker = tmp_path / "mail"
    blocker.write_text("a file where the directory should be")
    with pytest.raises(MailDeliveryError, match="could not write mail"):
        FileMailSender(blocker, SENDER).send(sample_mail())


def test_line_breaks_in_headers_are_refused(tmp_path: Path) -> None:
    # A subject or address with a line break could smuggle in a Bcc header.
    injected = sample_mail(subject="Hallo\r\nBcc: everyone@example.org")
    with pytest.raises(ValueError, match="linefeed"):
        FileMailSender(tmp_path, SENDER).send(injected)
    assert list(tmp_path.iterdir()) == []


# --- choosing the sender ---------------------------------------------------------------------


def test_build_mail_sender_follows_the_backend_setting(tmp_path: Path) -> None:
    file_sender = build_mail_sender(Settings(var_dir=tmp_path))
    assert isinstance(file_sender, FileMailSender)
    assert file_sender.directory == tmp_path / "mail"

    smtp_settings = Settings(var_dir=tmp_path, mail=MailSettings(backend="smtp"))
    assert isinstance(build_mail_sender(smtp_settings), SmtpMailSender)


# --- templates -------------------------------------------------------------------------------


def test_every_template_exists_in_every_locale_and_nothing_else() -> None:
    for locale in LOCALES:
        names = {path.stem for path in (TEMPLATE_DIR / locale).iterdir()}
        assert names == set(TEMPLATE_NAMES), locale


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_template_renders_with_subject_links_and_signature(name: str, locale: str) -> None:
    subject, body = render_mail(name, locale, **SAMPLE_CONTEXT)

    assert subject and "\n" not in subject and "\r" not in subject
    assert subject.startswith("ServiceKonto: ")
    template = (TEMPLATE_DIR / locale / f"{name}.txt").read_text(encoding="utf-8")
    for key, value in SAMPLE_CONTEXT.items():
        if "{{ " + key + " }}" not in template:
            continue
        if key.endswith("link"):
            assert f"\n{value}\n" in body, key  # links stand alone on a line: easy to tap
        else:
            assert str(value) in body, key
    signature = "Ihr ServiceKonto-Team" if locale == "de" else "Your ServiceKonto team"
    assert body.endswith(signature + "\n")
    assert "{{" not in body and "Subject:" not in body


def test_links_are_not_html_escaped() -> None:
    _, body = render_mail(
        "reset_password", "de", link="https://k.example/r?a=1&b=2", valid_minutes=1
    )
    assert "https://k.example/r?a=1&b=2" in body
    assert "1 Minute gültig" in body


def test_missing_context_variable_raises() -> None:
    with pytest.raises(UndefinedError, match="link"):
        render_mail("confirm_email", "de", valid_hours=48)


def test_unknown_locale_falls_back_to_german_and_regions_are_understood() -> None:
    german = render_mail("password_changed_notice", "de")
    assert render_mail("password_changed_notice", "fr") == german
    assert render_mail("password_changed_notice", "de_AT") == german
    english = render_mail("password_changed_notice", "en-GB")
    assert english != german
    assert english[0] == "ServiceKonto: Your password has been changed"


def test_unknown_template_name_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown mail template 'welcome'"):
        render_mail("welcome", "de")
