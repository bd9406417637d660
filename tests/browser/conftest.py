"""A real `servicekonto serve` process and Debian's Chromium driven by Playwright.

The browser is never downloaded: Playwright launches /usr/bin/chromium. Without it the browser
tests are skipped with the reason, unless SERVICEKONTO_REQUIRE_BROWSER=1 (set in CI) makes that
a failure. Every page a test visits can be audited with axe-core (bundled by
axe_playwright_python) and a few structural checks of our own.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from tests.cli_helpers import COMMAND, clean_env, free_port, stop, wait_until_ready

# Read at import: the autouse fixture of tests/conftest.py clears SERVICEKONTO_* per test.
REQUIRE_BROWSER = os.environ.get("SERVICEKONTO_REQUIRE_BROWSER") == "1"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BLOCKING_IMPACTS = {"serious", "critical"}
# Inputs a person never fills in themselves need no label.
_LABEL_CHECK = """() => {
  const exempt = new Set(["hidden", "submit", "button", "reset", "image"]);
  const unlabelled = [];
  for (const control of document.querySelectorAll("input, select, textarea")) {
    const type = (control.getAttribute("type") || "").toLowerCase();
    if (exempt.has(type) || control.getClientRects().length === 0) continue;
    const named = [...(control.labels || [])].some((label) => label.textContent.trim() !== "");
    if (!named) unlabelled.push(control.outerHTML);
  }
  return {
    lang: document.documentElement.getAttribute("lang") || "",
    h1: document.querySelectorAll("h1").length,
    unlabelled,
  };
}"""


@dataclass(frozen=True)
class LiveServer:
    base_url: str
    directory: Path

    @property
    def mail_dir(self) -> Path:
        return self.directory / "var" / "mail"


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        reason = f"no Chromium at {CHROMIUM} (apt-get install chromium); browser tests not run"
        if REQUIRE_BROWSER:
            pytest.fail(f"SERVICEKONTO_REQUIRE_BROWSER=1 but {reason}")
        print(reason)
        pytest.skip(reason)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS, timeout=30_000
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """`servicekonto serve` in a scratch directory (so var/ lands there), mail as .eml files."""
    directory = tmp_path_factory.mktemp("browser-server")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = clean_env(
        SERVICEKONTO_ISSUER=base_url,
        SERVICEKONTO_ARGON2_TIME_COST="1",
        SERVICEKONTO_ARGON2_MEMORY_COST_KIB="8192",
        SERVICEKONTO_MAIL_BACKEND="file",
    )
    log_path = directory / "server.log"
    # The log goes to a file: a pipe nobody reads would block the server once it is full.
    with log_path.open("w", encoding="utf-8") as log:
        process = subprocess.Popen(
            [*COMMAND, "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=directory,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            wait_until_ready(f"{base_url}/readyz", process, seconds=30)
            yield LiveServer(base_url=base_url, directory=directory)
        finally:
            stop(process)
            tail = log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-30:]
            print("--- last lines of the server log ---", *tail, sep="\n")


@pytest.fixture
def page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A fresh browser context (no cookies) in German, with our CSP enforced as in production.

    Playwright's `evaluate` runs through the DevTools protocol, which the page's CSP
    (`script-src 'self'`) does not govern, so axe-core can be injected without `bypass_csp`.
    """
    context = browser.new_context(base_url=live_server.base_url, locale="de-DE")
    context.set_default_timeout(10_000)
    context.set_default_navigation_timeout(15_000)
    tab = context.new_page()
    try:
        yield tab
    finally:
        context.close()


@dataclass
class Audit:
    """Accessibility and structure checks, run on every page a test visits."""

    page: Page
    axe: Axe = field(default_factory=Axe)
    checked: list[str] = field(default_factory=list)
    console_problems: list[str] = field(default_factory=list)
    minor: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda error: self.console_problems.append(str(error)))

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.console_problems.append(message.text)

    def check(self, name: str) -> None:
        self.page.wait_for_load_state("load")
        where = f"{name} ({self.page.url})"
        structure: dict[str, Any] = self.page.evaluate(_LABEL_CHECK)
        assert structure["lang"], f"{where}: <html> has no lang"
        assert structure["h1"] == 1, f"{where}: {structure['h1']} <h1> elements, expected one"
        assert not structure["unlabelled"], f"{where}: controls without a label: " + "; ".join(
            structure["unlabelled"]
        )
        violations: list[dict[str, Any]] = self.axe.run(self.page).response["violations"]
        blocking = [v for v in violations if v.get("impact") in BLOCKING_IMPACTS]
        for violation in violations:
            line = describe(violation)
            print(f"axe on {where}: {line}")
            if violation not in blocking:
                self.minor.append(f"{where}: {line}")
        assert not blocking, f"axe on {where}:\n" + "\n".join(describe(v) for v in blocking)
        assert not self.console_problems, f"{where}: {self.console_problems}"
        self.checked.append(name)


def describe(violation: dict[str, Any]) -> str:
    targets = ", ".join(
        " ".join(str(part) for part in node.get("target", [])) for node in violation["nodes"]
    )
    return f"{violation['id']} [{violation.get('impact')}] {violation['help']} — {targets}"


@pytest.fixture
def audit(page: Page) -> Audit:
    return Audit(page)
