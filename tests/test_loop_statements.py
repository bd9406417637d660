"""The token endpoints with their statements on the event loop (store/loop.py), on PostgreSQL.

The other tests hand the app one connection in a transaction, which runs everything in the
thread pool; here the app gets a real pooled engine and its own asynchronous pool, as it does
in service, and every answer is checked as the thread-pool answers are.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from jose import jwt as jose_jwt
from sqlalchemy import Column, Integer, MetaData, Table, select
from sqlalchemy.exc import ProgrammingError

from servicekonto.accounts.models import Person
from servicekonto.accounts.released import releasable_person
from servicekonto.app import create_app
from servicekonto.clock import FixedClock
from servicekonto.config import DatabaseSettings, Settings
from servicekonto.keys.service import KeyService
from servicekonto.store.engine import Database
from servicekonto.store.loop import LoopStatements
from servicekonto.tokens.codes import _FIND_CODE, _FIND_REFRESH
from servicekonto.tokens.models import AuthorizationCode, IssuedToken, RefreshToken
from servicekonto.tokens.repository import _BY_JTI, add_token, token_row
from tests.test_oidc_flow import (
    LiveBrowser,
    Procedure,
    Provider,
    add_procedure,
    log_in_with,
    registered_person,
    relying_party,
    serve_provider,
    userinfo,
)
from tests.test_oidc_negative import all_at_once, get_code, redeem, refresh, tokens, userinfo_with
from tests.web_helpers import Browser, RecordingMailSender, cheap_settings

pytestmark = pytest.mark.postgres


@pytest.fixture
def clock() -> FixedClock:
    # At the real time, so that python-jose can check `exp` as a procedure's library would.
    return FixedClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def loop_runs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the work run on the loop, to show the loop path was taken."""
    runs: list[str] = []
    original = LoopStatements.run

    async def counted(self: LoopStatements, work: Any, *args: Any) -> Any:
        runs.append(getattr(work, "__name__", repr(work)))
        return await original(self, work, *args)

    monkeypatch.setattr(LoopStatements, "run", counted)
    return runs


@pytest.fixture
def provider(
    settings: Settings, race_db: Database, clock: FixedClock, loop_runs: list[str]
) -> Iterator[Provider]:
    yield from serve_provider(settings, race_db, clock, statements_on_loop=True)


@pytest.fixture
def person(provider: Provider) -> Iterator[LiveBrowser]:
    yield from registered_person(provider)


def test_code_flow_refresh_and_userinfo_run_on_the_loop(
    provider: Provider,
    person: LiveBrowser,
    race_db: Database,
    clock: FixedClock,
    loop_runs: list[str],
) -> None:
    scopes = ["openid", "email"]
    rp = relying_party(provider, add_procedure(race_db, clock, "vg-test.hund"), scopes)
    login = log_in_with(provider, person, rp, clock)
    claims = userinfo(provider, rp)
    assert claims["sub"] == login.id_claims["sub"]
    renewed = rp.refresh_token(provider.metadata["token_endpoint"])
    assert renewed["refresh_token"] != login.token["refresh_token"]
    assert userinfo(provider, rp)["sub"] == login.id_claims["sub"]
    assert "create_token_response" in loop_runs
    assert "answer_userinfo" in loop_runs


# --- the same app through a TestClient, whose one portal loop serves every request -----------


@pytest.fixture
def citizen(
    settings: Settings, race_db: Database, clock: FixedClock, loop_runs: list[str]
) -> Iterator[Browser]:
    """A person signed in, on an app with its statements on the loop (lifespan running)."""
    KeyService(settings, race_db, clock).ensure_keys()
    mail = RecordingMailSender()
    app = create_app(
        cheap_settings(settings),
        database=race_db,
        clock=clock,
        mail_sender=mail,
        statements_on_loop=True,
    )
    browser = Browser(app)
    with browser.client:
        assert browser.register().status_code == 303
        assert browser.confirm(mail.last_link()).status_code == 200
        assert browser.login().status_code == 303
        yield browser


def _service_token(browser: Browser, who: Procedure) -> Any:
    assert who.secret is not None
    return browser.client.post(
        "/oidc/token",
        data={"grant_type": "client_credentials", "scope": "safe.deposit"},
        auth=(who.client_id, who.secret),
    )


def _introspect(browser: Browser, who: Procedure, token: str) -> dict[str, Any]:
    assert who.secret is not None
    response = browser.client.post(
        "/oidc/introspect", data={"token": token}, auth=(who.client_id, who.secret)
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_service_tokens_introspection_and_revocation_on_the_loop(
    citizen: Browser, race_db: Database, clock: FixedClock, loop_runs: list[str]
) -> None:
    service = add_procedure(
        race_db,
        clock,
        "vg-test.dienst",
        grant_types=["client_credentials"],
        scopes=["safe.deposit"],
    )
    first = _service_token(citizen, service)  # reads the client: in the thread pool
    second = _service_token(citizen, service)  # the client is cached: on the loop, inline
    assert first.status_code == second.status_code == 200
    token = second.json()["access_token"]
    assert jose_jwt.get_unverified_claims(token)["client_id"] == service.client_id
    assert _introspect(citizen, service, token)["active"] is True
    assert "create_endpoint_response" in loop_runs
    assert service.secret is not None
    revoked = citizen.client.post(
        "/oidc/revoke", data={"token": token}, auth=(service.client_id, service.secret)
    )
    assert revoked.status_code == 200
    assert _introspect(citizen, service, token) == {"active": False}


def test_a_persons_tokens_on_the_loop_end_with_their_revocation(
    citizen: Browser, race_db: Database, clock: FixedClock, loop_runs: list[str]
) -> None:
    procedure = add_procedure(race_db, clock, "vg-test.hund", consent_required=False)
    tokens(citizen, procedure)  # caches the client
    loop_runs.clear()
    issued = tokens(citizen, procedure)
    assert loop_runs == ["create_token_response"]
    assert userinfo_with(citizen, issued["access_token"]).status_code == 200
    assert _introspect(citizen, procedure, issued["access_token"])["active"] is True
    renewed = refresh(citizen, procedure, issued["refresh_token"])
    assert renewed.status_code == 200, renewed.text
    # The used refresh token presented again: its family ends, the new tokens with it.
    again = refresh(citizen, procedure, issued["refresh_token"])
    assert again.json()["error"] == "invalid_grant"
    assert userinfo_with(citizen, renewed.json()["access_token"]).status_code == 401
    assert _introspect(citizen, procedure, renewed.json()["access_token"]) == {"active": False}
    assert loop_runs.count("create_token_response") == 3


def test_twenty_redemptions_of_one_code_on_the_loop_have_one_winner(
    citizen: Browser, race_db: Database, clock: FixedClock, loop_runs: list[str]
) -> None:
    procedure = add_procedure(race_db, clock, "vg-test.hund", consent_required=False)
    tokens(citizen, procedure)  # caches the client, so every contender runs on the loop
    code = get_code(citizen, procedure)
    loop_runs.clear()
    contenders = 20
    answers = all_at_once(contenders, lambda: redeem(citizen, procedure, code))
    assert loop_runs == ["create_token_response"] * contenders
    winners = [answer for answer in answers if answer.status_code == 200]
    assert len(winners) == 1, [answer.text for answer in answers]
    losers = [answer.json()["error"] for answer in answers if answer.status_code != 200]
    assert losers == ["invalid_grant"] * (contenders - 1)
    won = winners[0].json()
    # A reused code is an attack: what it gave is revoked, the winner's tokens included.
    assert userinfo_with(citizen, won["access_token"]).status_code == 401
    assert refresh(citizen, procedure, won["refresh_token"]).status_code != 200


# --- the statements themselves ---------------------------------------------------------------


def _on_loop(database: Database, work: Callable[[], Any]) -> Any:
    """`work` on a loop of its own, with a pool of its own (the app's stays the app's).

    In a thread of its own: the browser tests' Playwright leaves a loop running in this one.
    """

    async def run() -> Any:
        database.start_loop_statements(DatabaseSettings())
        try:
            return await database.on_loop(work)
        finally:
            await database.close_loop_statements()

    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(lambda: asyncio.run(run())).result()


def _first(database: Database, statement: Any, parameters: dict[str, Any]) -> Any:
    with database.reading() as connection:
        row = connection.execute(statement, parameters).first()
    return None if row is None else row._asdict()


def test_loop_rows_equal_sqlalchemys(
    citizen: Browser, race_db: Database, clock: FixedClock
) -> None:
    procedure = add_procedure(race_db, clock, "vg-test.hund", consent_required=False)
    issued = tokens(citizen, procedure)
    refresh(citizen, procedure, issued["refresh_token"])
    own = Database(race_db.bind)  # beside the app's, which has its loop statements started
    with race_db.reading() as connection:
        jti = connection.execute(select(IssuedToken.jti)).scalars().first()
        code = connection.execute(select(AuthorizationCode)).first()
        refreshed = connection.execute(select(RefreshToken)).first()
        person = connection.execute(select(Person.id)).scalar_one()
    assert jti is not None and code is not None and refreshed is not None
    reads = [
        (_BY_JTI, {"jti": jti}),
        (_FIND_CODE, {"digest": code.code_digest, "client_id": code.client_id}),
        (_FIND_REFRESH, {"digest": refreshed.token_digest, "client_id": refreshed.client_id}),
        (_FIND_CODE, {"digest": "none", "client_id": code.client_id}),
    ]
    for statement, parameters in reads:
        on_thread = _first(race_db, statement, parameters)
        on_loop = _on_loop(own, partial(_first, own, statement, parameters))
        assert on_loop == on_thread
    on_loop_person = _on_loop(own, partial(releasable_person, own, person))
    assert on_loop_person == releasable_person(race_db, person)


def _token_values(jti: str, now: datetime) -> dict[str, Any]:
    return {
        "jti": jti,
        "client_id": "vg-test.hund",
        "person_id": None,
        "scope": "openid",
        "family_id": uuid.uuid4(),
        "claims_request": {"userinfo": {"email": None}},
        "created_at": now,
        "expires_at": now + timedelta(minutes=10),
        "revoked_at": None,
    }


def test_a_transaction_on_the_loop_commits_or_leaves_nothing(race_db: Database) -> None:
    now = datetime.now(UTC)

    def write(jti: str, fail: bool) -> None:
        with race_db.transaction() as connection:
            add_token(connection, _token_values(jti, now))
            if fail:
                raise RuntimeError("after the insert")

    with pytest.raises(RuntimeError):
        _on_loop(race_db, partial(write, "loop-rolled-back", True))
    _on_loop(race_db, partial(write, "loop-committed", False))
    with race_db.reading() as connection:
        assert token_row(connection, "loop-rolled-back") is None
        kept = token_row(connection, "loop-committed")
    assert kept is not None
    assert kept.claims_request == {"userinfo": {"email": None}}
    assert kept.expires_at == now + timedelta(minutes=10)


def test_a_failing_statement_on_the_loop_is_sqlalchemys_error(race_db: Database) -> None:
    missing = Table("no_such_table", MetaData(), Column("id", Integer))

    def read_missing_then_a_token() -> Any:
        with pytest.raises(ProgrammingError):
            _first(race_db, select(missing), {})
        return _first(race_db, _BY_JTI, {"jti": "none"})

    # The connection that failed went back to the pool in a usable state.
    assert _on_loop(race_db, read_missing_then_a_token) is None
