"""A district's worth of rows, loaded with COPY: persons, access tokens, refresh tokens, codes.

Every row is one the service could have written itself: persons have a real argon2id hash (one
hash for all, computed once: hashing a million passwords would take a day and prove nothing
here), tokens belong to the demo procedure and to loaded persons, and most are long expired or
used up, as they would be after months of service. Nobody holds the secrets behind the stored
digests; the suite's own credentials are issued after the load, as ever.
"""

from __future__ import annotations

import io
import random
import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import psycopg
from sqlalchemy.engine import make_url

from servicekonto.config import Argon2Settings
from servicekonto.security.passwords import PasswordHasher
from servicekonto.trust.levels import AuthMethod, IdentityProofing, TrustLevel
from servicekonto.trust.vocabularies import DEFAULT_VOCABULARY, acr_value

ROWS_PER_CHUNK = 20_000
PASSWORD = "Mosel im Nebel, Skala"
GIVEN = ("Anna", "Ben", "Clara", "David", "Elif", "Finn", "Greta", "Hannes", "Ida", "Jonas")
FAMILY = ("Becker", "Schmitz", "Wagner", "Klein", "Hoffmann", "Koch", "Richter", "Weber")
CITIES = (("56812", "Cochem"), ("56856", "Zell (Mosel)"), ("56766", "Ulmen"))
PERSON_SCOPE = "openid profile"
SPAN = timedelta(days=180)  # the rows were written over half a year


def libpq_url(sqlalchemy_url: str) -> str:
    """psycopg's own URL for the SQLAlchemy one (`postgresql+psycopg://` -> `postgresql://`)."""
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(False)


@dataclass(frozen=True)
class Owner:
    """Who the loaded tokens were issued to: the demo procedure and its redirect URI."""

    client_id: str
    redirect_uri: str


@dataclass
class Loader:
    connection: psycopg.Connection[tuple[object, ...]]
    owner: Owner
    now: datetime
    person_ids: list[uuid.UUID]

    def copy(self, table: str, columns: tuple[str, ...], rows: Iterator[tuple[str, ...]]) -> None:
        """COPY in text format, a chunk of preformatted lines at a time."""
        statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        with self.connection.cursor() as cursor, cursor.copy(statement) as copy:
            buffer = io.StringIO()
            for count, row in enumerate(rows, 1):
                buffer.write("\t".join(row) + "\n")
                if count % ROWS_PER_CHUNK == 0:
                    copy.write(buffer.getvalue())
                    buffer = io.StringIO()
            copy.write(buffer.getvalue())
        self.connection.commit()

    def when(self) -> datetime:
        return self.now - SPAN * random.random()  # noqa: S311 - spread, not secrecy

    def person(self) -> str:
        return str(random.choice(self.person_ids))  # noqa: S311


def _stamp(moment: datetime) -> str:
    return moment.isoformat()


def persons(loader: Loader, count: int) -> None:
    password_hash = PasswordHasher(Argon2Settings()).hash(PASSWORD)
    columns = [
        "id",
        "email",
        "email_verified_at",
        "password_hash",
        "given_names",
        "family_name",
        "birth_date",
        "birth_place",
        "street",
        "house_number",
        "postal_code",
        "city",
        "preferred_locale",
        "identity_proofing",
        "created_at",
        "updated_at",
    ]

    def rows() -> Iterator[tuple[str, ...]]:
        for number in range(count):
            person_id = uuid.uuid4()
            loader.person_ids.append(person_id)
            created = _stamp(loader.when())
            postal_code, city = CITIES[number % len(CITIES)]
            born = date(1940, 1, 1) + timedelta(days=number % 25_000)
            yield (
                *(str(person_id), f"person{number}@skala.example.org", created, password_hash),
                *(GIVEN[number % len(GIVEN)], FAMILY[number % len(FAMILY)], born.isoformat()),
                *(city, "Moselstraße", str(number % 200 + 1), postal_code, city, "de"),
                *(IdentityProofing.SELF_DECLARED.value, created, created),
            )

    loader.copy("persons", tuple(columns), rows())


def access_tokens(loader: Loader, count: int) -> None:
    columns = [
        "id",
        "jti",
        "client_id",
        "person_id",
        "scope",
        "created_at",
        "expires_at",
        "family_id",
    ]

    def rows() -> Iterator[tuple[str, ...]]:
        for _ in range(count):
            created = loader.when()
            yield (
                *(str(uuid.uuid4()), secrets.token_urlsafe(24), loader.owner.client_id),
                *(loader.person(), PERSON_SCOPE, _stamp(created)),
                *(_stamp(created + timedelta(minutes=10)), str(uuid.uuid4())),
            )

    loader.copy("issued_tokens", tuple(columns), rows())


def _grant_columns(loader: Loader) -> Callable[[datetime], tuple[str, ...]]:
    acr = acr_value(TrustLevel.BASIC, DEFAULT_VOCABULARY) or ""
    amr = f'["{AuthMethod.PASSWORD.value}"]'

    def values(created: datetime) -> tuple[str, ...]:
        return (loader.owner.client_id, loader.person(), PERSON_SCOPE, acr, amr, _stamp(created))

    return values


def refresh_tokens(loader: Loader, count: int) -> None:
    columns = [
        "id",
        "token_digest",
        "family_id",
        "client_id",
        "person_id",
        "scope",
        "acr",
        "amr",
        "auth_time",
        "created_at",
        "expires_at",
        "used_at",
    ]
    grant = _grant_columns(loader)

    def rows() -> Iterator[tuple[str, ...]]:
        for _ in range(count):
            created = loader.when()
            yield (
                *(str(uuid.uuid4()), secrets.token_hex(32), str(uuid.uuid4()), *grant(created)),
                *(_stamp(created), _stamp(created + timedelta(days=30))),
                _stamp(created + timedelta(minutes=10)),  # rotated: used up
            )

    loader.copy("refresh_tokens", tuple(columns), rows())


def authorization_codes(loader: Loader, count: int) -> None:
    columns = [
        "id",
        "code_digest",
        "client_id",
        "person_id",
        "scope",
        "acr",
        "amr",
        "auth_time",
        "redirect_uri",
        "family_id",
        "created_at",
        "expires_at",
        "used_at",
    ]
    grant = _grant_columns(loader)

    def rows() -> Iterator[tuple[str, ...]]:
        for _ in range(count):
            created = loader.when()
            client_id, person_id, scope, acr, amr, auth_time = grant(created)
            yield (
                *(str(uuid.uuid4()), secrets.token_hex(32), client_id, person_id, scope, acr),
                *(amr, auth_time, loader.owner.redirect_uri, str(uuid.uuid4()), _stamp(created)),
                *(_stamp(created + timedelta(seconds=60)), _stamp(created + timedelta(seconds=2))),
            )

    loader.copy("authorization_codes", tuple(columns), rows())


def load(database_url: str, owner: Owner, sizes: dict[str, int]) -> dict[str, float]:
    """Load the rows and ANALYZE; seconds per table."""
    tables = {
        "persons": persons,
        "issued_tokens": access_tokens,
        "refresh_tokens": refresh_tokens,
        "authorization_codes": authorization_codes,
    }
    took = {}
    with psycopg.connect(libpq_url(database_url)) as connection:
        loader = Loader(connection, owner, datetime.now(UTC), [])
        for table, fill in tables.items():
            started = time.perf_counter()
            fill(loader, sizes[table])
            took[table] = round(time.perf_counter() - started, 1)
            print(f"loaded {sizes[table]:,} rows into {table} in {took[table]} s", flush=True)
        connection.execute("ANALYZE")
        connection.commit()
    return took
