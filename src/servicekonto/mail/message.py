"""The one thing every sender accepts: a finished plain-text message to one recipient."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OutgoingMail:
    """A rendered message; the sender adds From, Date and Message-ID when it goes out."""

    to: str
    subject: str
    text: str
