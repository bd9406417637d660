"""Why the safe refused a procedure's request; the API maps each to a problem type."""

from __future__ import annotations


class SafeError(Exception):
    """Base of the refusals below."""


class NotOptedInError(SafeError):
    """The person has not allowed this procedure to use their safe."""


class QuotaExceededError(SafeError):
    def __init__(self, quota_bytes: int) -> None:
        super().__init__(f"the safe holds at most {quota_bytes} bytes")
        self.quota_bytes = quota_bytes


class IdempotencyKeyReusedError(SafeError):
    """The Idempotency-Key was used before for a different request."""


class UnknownCaseError(SafeError):
    """No case of this procedure has that id."""


class CaseExistsError(SafeError):
    def __init__(self, case_id: str) -> None:
        super().__init__(f"the case exists: {case_id}")
        self.case_id = case_id
