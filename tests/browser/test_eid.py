"""The eID card in a real browser, against the mock eID-Server running as its own process.

The demo citizen links her test card on the account page, then logs in with the card alone.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Audit, LiveServer
from tests.cli_helpers import COMMAND, clean_env, free_port, run_cli, stop, wait_until_ready


def _started(command: list[str], cwd: Path, log: Path, **env: str) -> subprocess.Popen[str]:
    # The log goes to a file: a pipe nobody reads would block the process once it is full.
    with log.open("w", encoding="utf-8") as out:
        return subprocess.Popen(
            [*COMMAND, *command], cwd=cwd, env=clean_env(**env), stdout=out, stderr=out, text=True
        )


@pytest.fixture(scope="module")
def eid_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """`servicekonto eid-mock serve` and `servicekonto serve` using it, with the demo data."""
    directory = tmp_path_factory.mktemp("eid-browser")
    eid_port, port = free_port(), free_port()
    base_url = f"http://127.0.0.1:{port}"
    mock = _started(
        ["eid-mock", "serve", "--host", "127.0.0.1", "--port", str(eid_port)],
        directory,
        directory / "eid-mock.log",
    )
    env = {
        "SERVICEKONTO_ISSUER": base_url,
        "SERVICEKONTO_EID_URL": f"http://127.0.0.1:{eid_port}",
        "SERVICEKONTO_ARGON2_TIME_COST": "1",
        "SERVICEKONTO_ARGON2_MEMORY_COST_KIB": "8192",
        "SERVICEKONTO_MAIL_BACKEND": "file",
    }
    server = None
    try:
        wait_until_ready(f"http://127.0.0.1:{eid_port}/healthz", mock, seconds=30)
        assert run_cli(directory, "demo", "--json", **env).returncode == 0
        server = _started(
            ["serve", "--host", "127.0.0.1", "--port", str(port)],
            directory,
            directory / "server.log",
            **env,
        )
        wait_until_ready(f"{base_url}/readyz", server, seconds=30)
        yield LiveServer(base_url=base_url, directory=directory)
    finally:
        for process in (server, mock):
            if process is not None:
                stop(process)


@pytest.fixture
def eid_page(page: Page, eid_world: LiveServer) -> Page:
    page.context.set_default_navigation_timeout(15_000)
    return page


def _show_card(page: Page, audit: Audit, holder: str) -> None:
    """On the stand-in eID client: choose the card, enter the PIN, identify."""
    expect(page.locator("h1")).to_be_visible()
    audit.check("eID client")
    page.get_by_label(holder).check()
    page.get_by_role("textbox", name="PIN").fill("123456")
    page.get_by_role("button", name="Ausweisen").click()


def test_link_the_card_then_log_in_with_it_alone(
    eid_page: Page, eid_world: LiveServer, audit: Audit
) -> None:
    page = eid_page
    page.goto(f"{eid_world.base_url}/login")
    page.get_by_label("E-Mail-Adresse", exact=True).fill("erika.mustermann@example.org")
    page.get_by_label("Passwort", exact=True).fill("Kaffee am Moselufer")
    page.get_by_role("button", name="Anmelden", exact=True).click()
    page.goto(f"{eid_world.base_url}/account")
    audit.check("account with eID")
    page.get_by_role("button", name="Mit Online-Ausweis bestätigen").click()
    _show_card(page, audit, "Erika Mustermann")
    expect(page.get_by_role("status")).to_contain_text("Online-Ausweis ist mit dem Konto verbunden")
    expect(page.get_by_text("Hoch", exact=False).first).to_be_visible()

    page.get_by_role("button", name="Abmelden", exact=True).click()
    page.goto(f"{eid_world.base_url}/login")
    page.get_by_role("button", name="Mit Online-Ausweis anmelden").click()
    _show_card(page, audit, "Erika Mustermann")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mein Konto")
