"""Single-use links hold under concurrency: on PostgreSQL, parallel redemptions give one winner."""

from __future__ import annotations

import threading

import pytest

from servicekonto.accounts.context import build_account_context
from servicekonto.accounts.service import AccountService
from servicekonto.clock import FixedClock
from servicekonto.config import Settings
from servicekonto.store.engine import Database
from tests.web_helpers import EMAIL, REGISTRATION, RecordingMailSender, cheap_settings

pytestmark = pytest.mark.postgres
PARALLEL = 6


def _run_together(action: object, count: int) -> list[object]:
    barrier = threading.Barrier(count)
    results: list[object] = []
    lock = threading.Lock()

    def attempt() -> None:
        barrier.wait(timeout=10)
        outcome = action()  # type: ignore[operator]
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=attempt) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_one_reset_link_sets_the_password_once(
    race_db: Database, settings: Settings, clock: FixedClock
) -> None:
    mail = RecordingMailSender()
    context = build_account_context(cheap_settings(settings), race_db, clock, mail)
    accounts = AccountService(context)
    assert accounts.register(REGISTRATION, "de").ok
    accounts.request_password_reset(EMAIL, "de")
    token = mail.last_link().split("token=")[1]

    def reset() -> object:
        outcome = accounts.reset_password(token, "Weinberge im Nebel", "Weinberge im Nebel")
        return outcome is not None and outcome.ok

    results = _run_together(reset, PARALLEL)
    assert sorted(results) == [False] * (PARALLEL - 1) + [True]
    assert len([m for m in mail.sent if "Passwort" in m.subject]) >= 1


def test_one_confirmation_link_confirms_once(
    race_db: Database, settings: Settings, clock: FixedClock
) -> None:
    mail = RecordingMailSender()
    accounts = AccountService(build_account_context(cheap_settings(settings), race_db, clock, mail))
    accounts.register(REGISTRATION, "de")
    token = mail.last_link().split("token=")[1]
    results = _run_together(lambda: accounts.confirm_email(token) is not None, PARALLEL)
    assert sorted(results) == [False] * (PARALLEL - 1) + [True]
