"""Recovery codes: ten readable single-use codes, stored only as digests, for one person only."""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from servicekonto.accounts import recovery_codes
from servicekonto.accounts.models import RecoveryCode
from servicekonto.clock import FixedClock
from servicekonto.security.secrets import Digester
from servicekonto.store.engine import Database
from tests.conftest import TEST_SECRET_KEY
from tests.factories import add_person

LOOK_ALIKES = set("01OIL")
FORMAT = re.compile(r"[A-Z0-9]{5}-[A-Z0-9]{5}")


@pytest.fixture
def digester() -> Digester:
    return recovery_codes.digester_for(TEST_SECRET_KEY)


def setup_codes(
    db: Database, digester: Digester, now: datetime, email: str = "jonas@example.de"
) -> tuple[uuid.UUID, list[str]]:
    with db.unit_of_work() as uow:
        person = add_person(uow.session, email, now)
        codes = recovery_codes.generate(uow.session, person.id, digester, now)
        uow.commit()
    return person.id, codes


def redeem(
    db: Database, digester: Digester, person_id: uuid.UUID, code: str, now: datetime
) -> bool:
    with db.unit_of_work() as uow:
        result = recovery_codes.redeem(uow.session, person_id, code, digester, now)
        uow.commit()
    return result


def remaining(db: Database, person_id: uuid.UUID) -> int:
    with db.session() as session:
        return recovery_codes.remaining(session, person_id)


def test_ten_distinct_readable_codes(db: Database, digester: Digester, clock: FixedClock) -> None:
    _, codes = setup_codes(db, digester, clock.now())
    assert len(codes) == 10
    assert len(set(codes)) == 10
    for code in codes:
        assert FORMAT.fullmatch(code), code
        characters = set(code.replace("-", ""))
        assert not characters & LOOK_ALIKES, code
        assert characters <= set(recovery_codes.ALPHABET)


def test_alphabet_has_no_look_alikes() -> None:
    assert not set(recovery_codes.ALPHABET) & LOOK_ALIKES
    assert len(set(recovery_codes.ALPHABET)) == len(recovery_codes.ALPHABET) == 31


def test_a_code_works_exactly_once(db: Database, digester: Digester, clock: FixedClock) -> None:
    person_id, codes = setup_codes(db, digester, clock.now())
    assert redeem(db, digester, person_id, codes[0], clock.now())
    assert not redeem(db, digester, person_id, codes[0], clock.now() + timedelta(days=1))
    assert redeem(db, digester, person_id, codes[1], clock.now())


def test_used_code_records_when(db: Database, digester: Digester, clock: FixedClock) -> None:
    person_id, codes = setup_codes(db, digester, clock.now())
    assert redeem(db, digester, person_id, codes[3], clock.now())
    with db.session() as session:
        used = session.scalars(
            select(RecoveryCode.used_at).where(
                RecoveryCode.person_id == person_id, RecoveryCode.used_at.is_not(None)
            )
        ).all()
    assert used == [clock.now()]


@pytest.mark.parametrize(
    "typed",
    [
        lambda code: code.lower(),
        lambda code: code.replace("-", ""),
        lambda code: f"  {code[:3]} {code[3:8]}  {code[8:]} ",
        lambda code: code.replace("-", " - ").lower(),
        lambda code: code.replace("-", "\t"),
    ],
    ids=["lower-case", "no-dash", "spaces", "spaced-dash-lower", "tab"],
)
def test_what_people_type_is_normalised(
    db: Database, digester: Digester, clock: FixedClock, typed: Callable[[str], str]
) -> None:
    person_id, codes = setup_codes(db, digester, clock.now())
    assert redeem(db, digester, person_id, typed(codes[0]), clock.now())


@pytest.mark.parametrize(
    "malformed",
    ["", "   ", "-----", "ABCDE-FGHJ", "ABCDE-FGHJKM", "ABCDE-FGH0K", "ÄBCDE-FGHJK", "A" * 10_000],
    ids=["empty", "blank", "dashes", "short", "long", "zero", "umlaut", "huge"],
)
def test_malformed_input_is_rejected_without_error(
    db: Database, digester: Digester, clock: FixedClock, malformed: str
) -> None:
    person_id, _ = setup_codes(db, digester, clock.now())
    assert not redeem(db, digester, person_id, malformed, clock.now())
    assert remaining(db, person_id) == 10


def test_codes_of_another_person_do_not_work(
    db: Database, digester: Digester, clock: FixedClock
) -> None:
    jonas, jonas_codes = setup_codes(db, digester, clock.now())
    mara, mara_codes = setup_codes(db, digester, clock.now(), "mara@example.de")
    assert not redeem(db, digester, mara, jonas_codes[0], clock.now())
    assert not redeem(db, digester, jonas, mara_codes[0], clock.now())
    assert remaining(db, jonas) == remaining(db, mara) == 10
    assert redeem(db, digester, jonas, jonas_codes[0], clock.now())


def test_digests_of_another_key_do_not_match(db: Database, clock: FixedClock) -> None:
    digester = recovery_codes.digester_for(TEST_SECRET_KEY)
    person_id, codes = setup_codes(db, digester, clock.now())
    other = recovery_codes.digester_for(TEST_SECRET_KEY + "-other")
    assert not redeem(db, other, person_id, codes[0], clock.now())


def test_regenerating_invalidates_the_old_codes(
    db: Database, digester: Digester, clock: FixedClock
) -> None:
    person_id, old_codes = setup_codes(db, digester, clock.now())
    assert redeem(db, digester, person_id, old_codes[0], clock.now())
    with db.unit_of_work() as uow:
        new_codes = recovery_codes.generate(uow.session, person_id, digester, clock.now())
        uow.commit()
    assert not set(new_codes) & set(old_codes)
    assert remaining(db, person_id) == 10
    assert not any(redeem(db, digester, person_id, code, clock.now()) for code in old_codes[1:])
    assert redeem(db, digester, person_id, new_codes[0], clock.now())


def test_remaining_counts_unused_codes(db: Database, digester: Digester, clock: FixedClock) -> None:
    person_id, codes = setup_codes(db, digester, clock.now())
    assert remaining(db, person_id) == 10
    for used, code in enumerate(codes, start=1):
        assert redeem(db, digester, person_id, code, clock.now())
        assert remaining(db, person_id) == 10 - used
    assert remaining(db, uuid.uuid4()) == 0


def test_only_digests_are_stored(db: Database, digester: Digester, clock: FixedClock) -> None:
    person_id, codes = setup_codes(db, digester, clock.now())
    with db.session() as session:
        stored = session.scalars(
            select(RecoveryCode.code_digest).where(RecoveryCode.person_id == person_id)
        ).all()
    assert len(stored) == 10
    plain = {code.replace("-", "") for code in codes} | set(codes)
    for digest in stored:
        assert re.fullmatch(r"[0-9a-f]{64}", digest)
        assert not any(code.lower() in digest or code in digest for code in plain)
    # A bare digest of a code (without the person) is not what is stored either.
    assert not {digester.digest(code.replace("-", "")) for code in codes} & set(stored)


# --- concurrency ------------------------------------------------------------------------------


@pytest.mark.postgres
def test_two_concurrent_uses_of_one_code_give_exactly_one_success(
    race_db: Database, digester: Digester, clock: FixedClock
) -> None:
    person_id, codes = setup_codes(race_db, digester, clock.now())
    barrier = threading.Barrier(2)
    results: list[bool] = []

    def attempt() -> None:
        with race_db.unit_of_work() as uow:
            # Both see the code unused before either consumes it.
            assert recovery_codes.remaining(uow.session, person_id) == 10
            barrier.wait(timeout=10)
            results.append(
                recovery_codes.redeem(uow.session, person_id, codes[0], digester, clock.now())
            )
            uow.commit()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == [False, True]
    assert remaining(race_db, person_id) == 9
