"""The citizen finds a document a procedure deposited over the API, and downloads it."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from servicekonto.safe.demo_documents import demo_pdf
from tests.browser.conftest import Audit, LiveServer
from tests.cli_helpers import run_cli


def _seed_demo(server: LiveServer) -> dict[str, dict[str, str]]:
    """The demo data in the live server's own var directory (same database, same secret)."""
    seeded = run_cli(server.directory, "demo", "--json", SERVICEKONTO_ISSUER=server.base_url)
    assert seeded.returncode == 0, seeded.stderr
    report: dict[str, dict[str, str]] = json.loads(seeded.stdout)
    return report


def _deposit_over_http(server: LiveServer, report: dict[str, dict[str, str]], pdf: bytes) -> None:
    procedure = report["procedure"]
    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        token = http.post(
            "/oidc/token",
            data={"grant_type": "client_credentials", "scope": "safe.deposit"},
            auth=(procedure["client_id"], procedure["client_secret"]),
        ).json()["access_token"]
        answer = http.post(
            "/api/v1/safe/documents",
            # The demo procedure has public subjects: the citizen's `sub` is the person id.
            data={
                "subject": report["citizen"]["id"],
                "title": "Zwischennachricht zur Hundeanmeldung",
                "category": "interim_message",
            },
            files={"document": ("nachricht.pdf", pdf, "application/pdf")},
            headers={"authorization": f"Bearer {token}", "idempotency-key": "browser-test-1"},
        )
    assert answer.status_code == 201, answer.text


def test_the_citizen_sees_and_downloads_the_deposited_pdf(
    page: Page, live_server: LiveServer, audit: Audit, tmp_path: Path
) -> None:
    report = _seed_demo(live_server)
    content = demo_pdf("Zwischennachricht", ["Wir prüfen Ihre Angaben."], date(2026, 11, 21))
    _deposit_over_http(live_server, report, content)

    page.goto("/login")
    page.get_by_label("E-Mail-Adresse", exact=True).fill(report["citizen"]["email"])
    page.get_by_label("Passwort", exact=True).fill(report["citizen"]["password"])
    page.get_by_role("button", name="Anmelden").click()
    page.goto("/safe")
    expect(page.get_by_role("heading", level=1)).to_have_text("Dokumentensafe")
    audit.check("safe")
    link = page.get_by_role("link", name="Zwischennachricht zur Hundeanmeldung")
    expect(link).to_be_visible()
    expect(page.get_by_role("link", name="Hundesteuerbescheid")).to_be_visible()
    with page.expect_download() as download_info:
        link.click()
    saved = tmp_path / "download.pdf"
    download_info.value.save_as(saved)
    assert saved.read_bytes() == content
    assert download_info.value.suggested_filename.endswith(".pdf")

    page.goto("/safe/cases")
    expect(page.get_by_text("HA-2026-0042")).to_be_visible()
    audit.check("cases")
