"""Two small PDFs the demo procedure deposits: a receipt and a notice for a dog registration."""
# mypy: disable-error-code="import-untyped"

from __future__ import annotations

import io
from datetime import date

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

LEFT = 72
TOP = 770


def demo_pdf(title: str, lines: list[str], today: date) -> bytes:
    """A one-page A4 PDF with a heading and a few lines, reproducible for a given day."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=True)
    canvas.setTitle(title)
    canvas.setFont("Helvetica-Bold", 14)
    canvas.drawString(LEFT, TOP, title)
    canvas.setFont("Helvetica", 11)
    canvas.drawString(LEFT, TOP - 24, f"Datum: {today:%d.%m.%Y}")
    for index, line in enumerate(lines):
        canvas.drawString(LEFT, TOP - 56 - 16 * index, line)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def dog_registration_receipt(today: date) -> bytes:
    return demo_pdf(
        "Eingangsbestätigung Hundeanmeldung",
        [
            "Verbandsgemeindeverwaltung Cochem",
            "Ihre Anmeldung eines Hundes ist bei uns eingegangen.",
            "Aktenzeichen: HA-2026-0042",
            "Dieses Dokument ist ein Beispiel aus den Demodaten des ServiceKontos.",
        ],
        today,
    )


def dog_tax_notice(today: date) -> bytes:
    return demo_pdf(
        "Hundesteuerbescheid",
        [
            "Verbandsgemeindeverwaltung Cochem",
            "Für Ihren Hund wird Hundesteuer nach der Hundesteuersatzung festgesetzt.",
            "Aktenzeichen: HA-2026-0042",
            "Dieses Dokument ist ein Beispiel aus den Demodaten des ServiceKontos.",
        ],
        today,
    )
