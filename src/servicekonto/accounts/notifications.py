"""The e-mails the account lifecycle sends, composed from the mail templates.

Mail goes out after the transaction that made it necessary has committed. A failed delivery is
logged (without the address) and reported to the caller as False; it never undoes the change,
and every mail can be asked for again (a new link) from the pages.
"""

from __future__ import annotations

from typing import Any

from servicekonto.mail.message import OutgoingMail
from servicekonto.mail.senders import MailDeliveryError, MailSender
from servicekonto.mail.templates import render_mail
from servicekonto.observability import get_logger

log = get_logger(__name__)


class Notifier:
    def __init__(self, sender: MailSender, issuer: str) -> None:
        self._sender = sender
        self._issuer = issuer

    def link(self, path: str, token: str) -> str:
        return f"{self._issuer}{path}?token={token}"

    def send(self, to: str, template: str, locale: str, **context: Any) -> bool:
        subject, text = render_mail(template, locale, **context)
        try:
            self._sender.send(OutgoingMail(to=to, subject=subject, text=text))
        except MailDeliveryError as error:
            log.error("mail not delivered", template=template, reason=str(error))
            return False
        log.info("mail sent", template=template)
        return True

    def confirm_email(self, to: str, locale: str, token: str, valid_hours: int) -> bool:
        link = self.link("/confirm-email", token)
        return self.send(to, "confirm_email", locale, link=link, valid_hours=valid_hours)

    def already_registered(self, to: str, locale: str) -> bool:
        return self.send(
            to,
            "already_registered",
            locale,
            login_link=f"{self._issuer}/login",
            reset_link=f"{self._issuer}/password/forgot",
        )

    def reset_password(self, to: str, locale: str, token: str, valid_minutes: int) -> bool:
        link = self.link("/password/reset", token)
        return self.send(to, "reset_password", locale, link=link, valid_minutes=valid_minutes)

    def change_email(self, to: str, locale: str, token: str, valid_hours: int) -> bool:
        link = self.link("/account/email/confirm", token)
        return self.send(to, "change_email_confirm", locale, link=link, valid_hours=valid_hours)

    def email_changed(self, to: str, locale: str, new_email: str) -> bool:
        return self.send(to, "email_changed_notice", locale, new_email=new_email)

    def password_changed(self, to: str, locale: str) -> bool:
        return self.send(to, "password_changed_notice", locale)

    def new_document(self, to: str, locale: str, procedure: str) -> None:
        """Only that there is something, and from whom: the content stays behind the login."""
        self.send(to, "safe_new_document", locale, procedure=procedure, link=f"{self._issuer}/safe")

    def organisation_decided(
        self, to: str, locale: str, organisation: str, state: str, message: str | None
    ) -> None:
        link = f"{self._issuer}/organisations"
        self.send(
            to,
            f"organisation_{state}",
            locale,
            organisation=organisation,
            message=message or "",
            link=link,
        )

    def organisation_invitation(
        self, to: str, locale: str, organisation: str, token: str, valid_days: int
    ) -> bool:
        link = self.link("/organisations/invitations/accept", token)
        return self.send(
            to,
            "organisation_invitation",
            locale,
            organisation=organisation,
            link=link,
            valid_days=valid_days,
        )
