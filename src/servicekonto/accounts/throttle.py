"""Brute-force defence: growing delays, then a temporary lock, per account and per address.

Counters are keyed by a keyed digest of the e-mail address (whether or not an account has it,
so the answer never reveals which addresses exist) and of the client address. After
`free_failures` failures each further attempt must wait 2^(n - free) seconds (capped); after
`lock_after_failures` the key is locked for `lock_minutes`. A successful login clears the
account's counter; the address counter only decays by its lock expiring, because one address
trying many accounts is the attack it exists for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from servicekonto.accounts.models import LoginThrottle
from servicekonto.accounts.repository import ThrottleRepository
from servicekonto.config import LoginSettings
from servicekonto.security.secrets import Digester


@dataclass(frozen=True)
class ThrottleKeys:
    account: str
    address: str | None


@dataclass(frozen=True)
class ThrottleCheck:
    wait: int
    # Whether the account has a counter at all: a success then has something to clear.
    account_counted: bool


class Throttle:
    def __init__(self, digester: Digester, settings: LoginSettings) -> None:
        self._digester = digester
        self._settings = settings

    def keys(self, account: str, client_address: str | None) -> ThrottleKeys:
        address = self._digester.digest(f"address:{client_address}") if client_address else None
        return ThrottleKeys(account=self._digester.digest(f"account:{account}"), address=address)

    def check(self, session: Session, keys: ThrottleKeys, now: datetime) -> ThrottleCheck:
        """How long to wait before an attempt (0: go ahead), read in one query for both keys."""
        wanted = [keys.account] if keys.address is None else [keys.account, keys.address]
        rows = ThrottleRepository(session).get_many(wanted)
        account = rows.get(keys.account)
        waits = [self._wait(account, now, self._settings.free_failures)]
        if keys.address is not None:
            address_free = self._settings.ip_lock_after_failures
            waits.append(self._wait(rows.get(keys.address), now, address_free))
        return ThrottleCheck(wait=max(waits), account_counted=account is not None)

    def failed(self, session: Session, keys: ThrottleKeys, now: datetime) -> None:
        repository = ThrottleRepository(session)
        self._count(repository, keys.account, self._settings.lock_after_failures, now)
        if keys.address is not None:
            self._count(repository, keys.address, self._settings.ip_lock_after_failures, now)

    def succeeded(self, session: Session, keys: ThrottleKeys, check: ThrottleCheck) -> None:
        if check.account_counted:
            ThrottleRepository(session).clear(keys.account)

    def _count(
        self, repository: ThrottleRepository, key: str, lock_after: int, now: datetime
    ) -> None:
        previous = repository.get(key)
        if (
            previous is not None
            and previous.locked_until is not None
            and previous.locked_until <= now
        ):
            repository.clear(key)  # the lock ran out: counting starts afresh
        throttle = repository.add_failure(key, now)
        if throttle.failures >= lock_after:
            repository.lock(key, now + timedelta(minutes=self._settings.lock_minutes))

    def _wait(self, throttle: LoginThrottle | None, now: datetime, free: int) -> int:
        if throttle is None:
            return 0
        if throttle.locked_until is not None and throttle.locked_until > now:
            return math.ceil((throttle.locked_until - now).total_seconds())
        if throttle.locked_until is not None:
            return 0  # the lock has run out: a fresh start
        if throttle.failures < free:
            return 0
        delay = min(2 ** (throttle.failures - free), self._settings.max_delay_seconds)
        remaining = throttle.last_failure_at + timedelta(seconds=delay) - now
        return max(0, math.ceil(remaining.total_seconds()))
