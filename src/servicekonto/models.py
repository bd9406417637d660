"""Every model of every capability, imported in one place so the metadata is complete.

Alembic's `env.py` and the migration drift test read `metadata` from here. A capability that
adds models adds its import below.
"""

from servicekonto.accounts.models import (
    EmailToken,
    LoginSession,
    LoginThrottle,
    Person,
    RecoveryCode,
    StaffMembership,
    TotpFactor,
    WebAuthnCredential,
)
from servicekonto.audit.models import AuditEvent
from servicekonto.authorities.models import Authority
from servicekonto.clients.models import OidcClient
from servicekonto.federation.models import (
    AttributeRelease,
    Consent,
    Interaction,
    ProcedureSubject,
)
from servicekonto.keys.models import SigningKey
from servicekonto.organisations.models import (
    Invitation,
    Membership,
    Organisation,
    OrganisationDocument,
    VerificationEvent,
)
from servicekonto.pinletters.models import PinLetter
from servicekonto.registration.eid_identity import EidAttempt, EidBinding
from servicekonto.registration.in_person import InPersonCheck
from servicekonto.registration.models import IdentityCheck
from servicekonto.registry.models import RegistryResident
from servicekonto.safe.models import (
    Favourite,
    IdempotentRequest,
    SafeCase,
    SafeCaseEvent,
    SafeDocument,
    SafeOptIn,
)
from servicekonto.saml.models import SamlParticipation, SeenRequest, ServiceProvider
from servicekonto.store.base import Base
from servicekonto.tokens.models import (
    AuthorizationCode,
    IssuedToken,
    RefreshToken,
    UsedAssertion,
)

metadata = Base.metadata

__all__ = [
    "AttributeRelease",
    "AuditEvent",
    "Authority",
    "AuthorizationCode",
    "Consent",
    "EidAttempt",
    "EidBinding",
    "EmailToken",
    "Favourite",
    "IdempotentRequest",
    "IdentityCheck",
    "InPersonCheck",
    "Interaction",
    "Invitation",
    "IssuedToken",
    "LoginSession",
    "LoginThrottle",
    "Membership",
    "OidcClient",
    "Organisation",
    "OrganisationDocument",
    "Person",
    "PinLetter",
    "ProcedureSubject",
    "RecoveryCode",
    "RefreshToken",
    "RegistryResident",
    "SafeCase",
    "SafeCaseEvent",
    "SafeDocument",
    "SafeOptIn",
    "SamlParticipation",
    "SeenRequest",
    "ServiceProvider",
    "SigningKey",
    "StaffMembership",
    "TotpFactor",
    "UsedAssertion",
    "VerificationEvent",
    "WebAuthnCredential",
    "metadata",
]
