"""The outbox: letters waiting for the print shop, exported in batches, listed for operators.

An export writes one merged PDF and a CSV manifest, and only then marks the letters exported
(and erases their PINs): if writing fails, nothing is marked and the files are removed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from servicekonto.clock import Clock
from servicekonto.config import Settings
from servicekonto.observability import get_logger
from servicekonto.pinletters.issuing import LetterTools, unseal_pin
from servicekonto.pinletters.letter import LetterContent
from servicekonto.pinletters.manifest import ManifestRow, write_manifest
from servicekonto.pinletters.models import LetterStatus, PinLetter
from servicekonto.pinletters.pins import grouped
from servicekonto.pinletters.repository import LetterRepository
from servicekonto.store.engine import Database

PIN_ENTRY_PATH = "/account/pin"
log = get_logger(__name__)


@dataclass(frozen=True)
class ExportResult:
    batch_id: uuid.UUID | None
    count: int
    pdf: Path | None
    manifest: Path | None


@dataclass(frozen=True)
class LetterListing:
    letter_number: str
    status: str
    created_at: datetime
    expires_at: datetime
    exported_at: datetime | None
    postal_code: str
    city: str
    attempts: int


def letter_content(letter: PinLetter, pin: str, settings: Settings) -> LetterContent:
    return LetterContent(
        letter_number=letter.letter_number,
        recipient_lines=(letter.recipient,),
        street_line=f"{letter.street} {letter.house_number}",
        city_line=f"{letter.postal_code} {letter.city}",
        pin=grouped(pin),
        pin_entry_url=f"{settings.issuer}{PIN_ENTRY_PATH}",
        issued_on=letter.created_at.date(),
        valid_until=letter.expires_at.date(),
        sender_name=settings.letters.sender_name,
        sender_address=settings.letters.sender_address,
        salutation=f"Guten Tag {letter.recipient},",
    )


class LetterOutbox:
    def __init__(
        self, settings: Settings, database: Database, clock: Clock, tools: LetterTools
    ) -> None:
        self._settings = settings
        self._database = database
        self._clock = clock
        self._tools = tools

    def export(self, out_dir: Path) -> ExportResult:
        batch_id = uuid.uuid4()
        stamp = self._clock.now().strftime("%Y%m%dT%H%M%SZ")
        pdf = out_dir / f"pin-letters-{stamp}-{batch_id.hex[:8]}.pdf"
        manifest = pdf.with_suffix(".csv")
        out_dir.mkdir(parents=True, exist_ok=True)
        with self._database.unit_of_work() as uow:
            now = self._clock.now()
            LetterRepository(uow.session).expire_due(now)
            try:
                count = self._write(uow.session, pdf, manifest, batch_id, now)
            except BaseException:
                pdf.unlink(missing_ok=True)
                manifest.unlink(missing_ok=True)
                raise
            if count == 0:
                pdf.unlink(missing_ok=True)
                manifest.unlink(missing_ok=True)
                return ExportResult(None, 0, None, None)
            uow.commit()
        return ExportResult(batch_id, count, pdf, manifest)

    def _write(
        self, session: Session, pdf: Path, manifest: Path, batch_id: uuid.UUID, now: datetime
    ) -> int:
        # Imported here: reportlab, pypdf and segno cost every worker ~13 MiB, and only an
        # export or the demo letterbox draws letters.
        from servicekonto.pinletters.render import (  # noqa: PLC0415 - lazy, see above
            AddressDoesNotFitError,
            LetterPdfWriter,
        )

        rows: list[ManifestRow] = []
        with LetterPdfWriter(pdf) as writer:
            for letter in LetterRepository(session).queued():
                pin = unseal_pin(letter, self._tools.box)
                if pin is None:  # cannot happen for a queued letter; never print a blank PIN
                    continue
                try:
                    writer.add(letter_content(letter, pin, self._settings))
                except AddressDoesNotFitError:
                    # Stays queued for a person to look at; the rest of the batch goes out.
                    log.warning("letter not exported", letter_number=letter.letter_number)
                    continue
                rows.append(_manifest_row(letter, page=len(rows) + 1))
                letter.exported(batch_id, now)
        write_manifest(manifest, rows)
        return len(rows)

    def mark_posted(self, batch_id: uuid.UUID) -> int:
        """The print shop confirms a batch went into the post."""
        with self._database.unit_of_work() as uow:
            now = self._clock.now()
            letters = LetterRepository(uow.session).in_batch(batch_id)
            for letter in letters:
                if letter.status == LetterStatus.EXPORTED:
                    letter.posted(now)
            uow.commit()
        return sum(1 for letter in letters if letter.status == LetterStatus.POSTED)

    def listing(self, status: str | None = None) -> list[LetterListing]:
        with self._database.unit_of_work() as uow:
            LetterRepository(uow.session).expire_due(self._clock.now())
            uow.commit()
            return [
                LetterListing(
                    letter.letter_number,
                    letter.status,
                    letter.created_at,
                    letter.expires_at,
                    letter.exported_at,
                    letter.postal_code,
                    letter.city,
                    letter.attempts,
                )
                for letter in LetterRepository(uow.session).listed(status)
            ]

    def demo_pdf(self, letter: PinLetter) -> bytes | None:
        """The letter as the person would receive it (demo letterbox only)."""
        from servicekonto.pinletters.render import render_letter  # noqa: PLC0415 - see _write

        pin = unseal_pin(letter, self._tools.box)
        return None if pin is None else render_letter(letter_content(letter, pin, self._settings))


def _manifest_row(letter: PinLetter, page: int) -> ManifestRow:
    return ManifestRow(
        letter_number=letter.letter_number,
        page=page,
        recipient=letter.recipient,
        street=f"{letter.street} {letter.house_number}",
        postal_code=letter.postal_code,
        city=letter.city,
        issued_on=letter.created_at.date(),
    )
