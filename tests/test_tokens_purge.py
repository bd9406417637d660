"""`servicekonto tokens purge`: expired and spent token records go, what still counts stays."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, update
from typer.testing import CliRunner

from servicekonto.cli import cli
from servicekonto.config import load_settings
from servicekonto.security.secrets import Digester
from servicekonto.store.engine import Database
from servicekonto.store.schema import upgrade_to_head
from servicekonto.tokens.codes import Grant, GrantStore
from servicekonto.tokens.models import AuthorizationCode, IssuedToken, RefreshToken
from servicekonto.tokens.purge import purge_tokens
from servicekonto.tokens.repository import add_token

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
LONG_AGO = NOW - timedelta(days=40)
REFRESH_LIFETIME = timedelta(days=30)


def _grants(db: Database) -> GrantStore:
    return GrantStore(db, Digester("purge-test-secret-" + "x" * 32, "grant"), REFRESH_LIFETIME)


def _grant(family_id: uuid.UUID | None = None) -> Grant:
    return Grant(
        client_id="vg-test.hund",
        person_id=uuid.uuid4(),
        scope="openid",
        acr="loa-2",
        amr=["pwd"],
        auth_time=LONG_AGO,
        family_id=family_id or uuid.uuid4(),
    )


def _access_token(db: Database, expires_at: datetime, family_id: uuid.UUID | None = None) -> str:
    jti = uuid.uuid4().hex
    with db.unit_of_work() as uow:
        add_token(
            uow.session,
            {
                "jti": jti,
                "client_id": "vg-test.hund",
                "person_id": None,
                "scope": "safe.deposit",
                "family_id": family_id,
                "claims_request": None,
                "created_at": expires_at - timedelta(minutes=10),
                "expires_at": expires_at,
            },
        )
        uow.commit()
    return jti


def _mark(
    db: Database, model: type[RefreshToken], token_family: uuid.UUID, **values: object
) -> None:
    with db.unit_of_work() as uow:
        uow.session.execute(update(model).where(model.family_id == token_family).values(**values))
        uow.commit()


def _count(db: Database, model: type[object]) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_purge_deletes_what_no_longer_counts_and_keeps_the_rest(db: Database) -> None:
    grants = _grants(db)
    # Access-token records: one expired long ago, one still valid.
    _access_token(db, LONG_AGO)
    live_jti = _access_token(db, NOW + timedelta(minutes=5))
    # Refresh tokens: expired; revoked; used but unexpired (a replay must still be seen); live.
    expired, revoked, used, live = (_grant() for _ in range(4))
    grants.issue_refresh(expired, LONG_AGO)
    for grant in (revoked, used, live):
        grants.issue_refresh(grant, NOW - timedelta(days=3))
    _mark(db, RefreshToken, revoked.family_id, revoked_at=NOW - timedelta(days=2))
    _mark(db, RefreshToken, used.family_id, used_at=NOW - timedelta(days=2))
    # Codes: expired without tokens; expired, but its family's refresh token lives; fresh.
    grants.issue_code(_grant(), None, LONG_AGO)
    grants.issue_code(_grant(live.family_id), None, LONG_AGO)
    grants.issue_code(_grant(), None, NOW)

    report = purge_tokens(db, NOW)

    assert report.as_json() == {"access_tokens": 1, "refresh_tokens": 2, "authorization_codes": 1}
    with db.session() as session:
        assert list(session.scalars(select(IssuedToken.jti))) == [live_jti]
        families = set(session.scalars(select(RefreshToken.family_id)))
        assert families == {used.family_id, live.family_id}
    assert _count(db, AuthorizationCode) == 2
    assert purge_tokens(db, NOW).as_json() == {
        "access_tokens": 0,
        "refresh_tokens": 0,
        "authorization_codes": 0,
    }, "idempotent"


def test_records_are_kept_for_the_grace_period_after_they_stop_counting(db: Database) -> None:
    _access_token(db, NOW - timedelta(hours=2))
    assert purge_tokens(db, NOW, keep=timedelta(hours=3)).access_tokens == 0
    assert purge_tokens(db, NOW, keep=timedelta(hours=1)).access_tokens == 1


def test_the_command_purges_and_reports(tmp_path: Path) -> None:
    var = tmp_path / "var"
    database = Database.from_url(load_settings(var_dir=var).database_url)
    with database.connection() as connection:
        upgrade_to_head(connection)
        connection.commit()
    _access_token(database, datetime.now(UTC) - timedelta(days=2))
    database.dispose()
    result = CliRunner().invoke(
        cli, ["tokens", "purge", "--json"], env={"SERVICEKONTO_VAR_DIR": str(var)}
    )
    assert result.exit_code == 0, result.output
    assert '"access_tokens": 1' in result.stdout
