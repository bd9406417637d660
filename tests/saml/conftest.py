"""The SAML tests run against an independent SP (pysaml2), which checks times against the real
clock: our fixed clock stands a minute behind the real time here, so a test may advance it (for
a fresh TOTP step) and still issue nothing pysaml2 would call "not yet valid"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI

from servicekonto.clock import FixedClock
from servicekonto.config import Settings
from servicekonto.keys.service import KeyService
from servicekonto.store.engine import Database
from tests.saml.sp import ServiceProvider, register, sp_config, sp_metadata
from tests.web_helpers import Browser


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=60))


@pytest.fixture
def idp_metadata(web_app: FastAPI, settings: Settings, db: Database, clock: FixedClock) -> bytes:
    KeyService(settings, db, clock).ensure_keys()  # as `servicekonto serve` does at start
    browser = Browser(web_app)
    answer = browser.get("/saml/metadata")
    assert answer.status_code == 200, answer.text
    return bytes(answer.content)


@pytest.fixture
def sp(tmp_path: Path, idp_metadata: bytes, db: Database, clock: FixedClock) -> ServiceProvider:
    """A registered SP with signing and encryption keys, no consent page."""
    config = sp_config(tmp_path, idp_metadata)
    register(db, clock, sp_metadata(config))
    return ServiceProvider(config)
