"""What can go wrong when managing the registered procedures."""

from __future__ import annotations

import uuid

from servicekonto.errors import ServicekontoError


class UnknownAuthorityError(ServicekontoError):
    def __init__(self, authority: str | uuid.UUID) -> None:
        super().__init__(f"no authority {str(authority)!r}: create it first (servicekonto demo)")
        self.authority = authority


class ClientExistsError(ServicekontoError):
    def __init__(self, client_id: str) -> None:
        super().__init__(f"a client with the id {client_id!r} is already registered")
        self.client_id = client_id


class UnknownClientError(ServicekontoError):
    def __init__(self, client_id: str) -> None:
        super().__init__(f"no client with the id {client_id!r}")
        self.client_id = client_id


class ClientNotConfidentialError(ServicekontoError):
    """Only clients that authenticate with a secret have one to rotate."""

    def __init__(self, client_id: str, method: str) -> None:
        super().__init__(
            f"the client {client_id!r} authenticates with {method}, not with a client secret; "
            "it has no secret to rotate"
        )
        self.client_id = client_id
        self.method = method
