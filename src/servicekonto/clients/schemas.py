"""What an operator hands in to register a procedure, and what comes back out.

The rules follow the OAuth 2.0 registration metadata (RFC 7591 §2) narrowed to what a
procedure of the district may do: exact redirect URIs over https (RFC 6749 §3.1.2, RFC 9700
§2.1), loopback http only for procedures under development (RFC 8252 §7.3).
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import SplitResult, urlsplit

from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from servicekonto.clients.models import SubjectType, TokenEndpointAuthMethod

CLIENT_ID_PATTERN = r"^[a-z0-9][a-z0-9._-]{2,98}[a-z0-9]$"
# The same shape as an authority's slug; the authority itself is looked up by the caller.
AUTHORITY_SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$"
MAX_URIS = 20
MAX_URI_LENGTH = 500  # the width of the URI columns

GrantType = Literal["authorization_code", "refresh_token", "client_credentials"]
Scope = Literal["openid", "profile", "email", "address", "birth", "organisation", "safe.deposit"]
IdTokenAlg = Literal["ES256", "RS256"]
# OIDC Registration §2: absent means userinfo answers plain JSON; set, a signed JWT.
UserinfoAlg = Literal["ES256", "RS256"]

# RFC 8252 §7.3: a native or development client may listen on the loopback interface over http.
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost"})
SECRET_AUTH_METHODS = frozenset(
    {TokenEndpointAuthMethod.CLIENT_SECRET_BASIC, TokenEndpointAuthMethod.CLIENT_SECRET_POST}
)
# RFC 7518 §6.2.2, §6.3.2, §6.4 and RFC 8037 §2: members that carry private or symmetric key
# material. A client's JWKS is published by the client; it must only ever hold public keys.
PRIVATE_KEY_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
PUBLIC_KEY_TYPES = frozenset({"RSA", "EC", "OKP"})


def _problem(message: str, **context: Any) -> PydanticCustomError:
    return PydanticCustomError("client_spec", message, context or None)


# --- URIs ----------------------------------------------------------------------------------


def check_uri(uri: str, allow_loopback_http: bool = True) -> str:
    """An absolute, exactly matchable URI: https, or http on the loopback interface."""
    if len(uri) > MAX_URI_LENGTH:
        raise _problem("{uri} is longer than {limit} characters", uri=uri, limit=MAX_URI_LENGTH)
    # RFC 9700 §2.1: redirect URIs are compared exactly; a pattern would let an attacker in.
    if "*" in uri:
        raise _problem("{uri} contains a wildcard; register every URI exactly", uri=uri)
    if any(character.isspace() for character in uri):
        raise _problem("{uri} contains white space", uri=uri)
    parts = _split(uri)
    # RFC 6749 §3.1.2: the endpoint URI MUST NOT include a fragment component.
    if parts.fragment or "#" in uri:
        raise _problem("{uri} has a fragment (#…); RFC 6749 §3.1.2 forbids one", uri=uri)
    if parts.username is not None or parts.password is not None:
        raise _problem("{uri} carries user credentials; remove the user@ part", uri=uri)
    _check_scheme(uri, parts, allow_loopback_http)
    return uri


def _split(uri: str) -> SplitResult:
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise _problem("{uri} is not a valid URI", uri=uri) from None
    # RFC 6749 §3.1.2: the redirection endpoint URI MUST be an absolute URI.
    if not parts.scheme or not parts.hostname:
        raise _problem("{uri} is not an absolute URI (https://host/path)", uri=uri)
    return parts


def _check_scheme(uri: str, parts: SplitResult, allow_loopback_http: bool) -> None:
    if parts.scheme == "https":
        return
    loopback = parts.hostname in LOOPBACK_HOSTS
    if parts.scheme == "http" and loopback and allow_loopback_http:
        return  # RFC 8252 §7.3: loopback redirects for procedures under development
    if parts.scheme == "http" and allow_loopback_http:
        raise _problem(
            "{uri} must use https (http only for 127.0.0.1 or localhost, RFC 8252 §7.3)",
            uri=uri,
        )
    raise _problem("{uri} must use https", uri=uri)


def _refuse_duplicates(values: list[str]) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise _problem("{value} is listed twice", value=value)
        seen.add(value)


# Redirect, post-logout redirect and back-channel logout URIs: https or loopback http.
ClientUri = Annotated[str, AfterValidator(check_uri)]


# --- JWKS ----------------------------------------------------------------------------------


def check_public_jwks(jwks: dict[str, Any]) -> dict[str, Any]:
    """A JWKS (RFC 7517 §5) of public signing keys that joserfc can import."""
    keys = jwks.get("keys")
    if not isinstance(keys, list) or not keys:
        raise _problem('a JWKS needs a non-empty "keys" list (RFC 7517 §5)')
    for index, key in enumerate(keys):
        _check_public_jwk(index, key)
    try:
        imported = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
    except (JoseError, ValueError, KeyError, TypeError) as error:
        raise _problem("the JWKS cannot be imported: {reason}", reason=str(error)) from None
    if len(imported.keys) != len(keys):
        raise _problem("some keys of the JWKS cannot be imported")
    return jwks


def _check_public_jwk(index: int, key: object) -> None:
    if not isinstance(key, dict):
        raise _problem("key {index} of the JWKS is not a JSON object", index=index)
    if key.get("kty") not in PUBLIC_KEY_TYPES:
        raise _problem(
            "key {index} of the JWKS has kty '{kty}'; expected RSA, EC or OKP",
            index=index,
            kty=key.get("kty"),
        )
    secret_members = sorted(PRIVATE_KEY_MEMBERS & key.keys())
    if secret_members:
        # The provider must never hold a client's private key: a leak would let anyone sign
        # client assertions in the procedure's name.
        raise _problem(
            "key {index} of the JWKS holds private key material ({members}); "
            "register only the public key",
            index=index,
            members=", ".join(secret_members),
        )
    if key.get("use", "sig") != "sig":
        raise _problem("key {index} of the JWKS is not a signing key (use)", index=index)


def _default_grants() -> list[GrantType]:
    return ["authorization_code"]


def _default_scopes() -> list[Scope]:
    return ["openid"]


# --- the input -----------------------------------------------------------------------------


class ClientSpec(BaseModel):
    """A procedure to register. Cross-field rules sit on the later field, so every problem
    is reported against the field an operator has to change, all at once."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    client_id: str
    name: str = Field(min_length=2, max_length=200)
    authority: str
    redirect_uris: list[ClientUri] = Field(min_length=1, max_length=MAX_URIS)
    post_logout_redirect_uris: list[ClientUri] = Field(default_factory=list, max_length=MAX_URIS)
    # RFC 7591 §2: the defaults are the code grant and client_secret_basic.
    grant_types: list[GrantType] = Field(default_factory=_default_grants)
    token_endpoint_auth_method: TokenEndpointAuthMethod = Field(
        default=TokenEndpointAuthMethod.CLIENT_SECRET_BASIC, validate_default=True
    )
    jwks: dict[str, Any] | None = Field(default=None, validate_default=True)
    jwks_uri: str | None = Field(default=None, validate_default=True)
    scopes: list[Scope] = Field(default_factory=_default_scopes, min_length=1)
    default_trust_level: int = Field(default=2, ge=1, le=4)
    minimum_trust_level: int = Field(default=1, ge=1, le=4)
    subject_type: SubjectType = SubjectType.PUBLIC
    consent_required: bool = True
    id_token_signed_response_alg: IdTokenAlg = "ES256"
    userinfo_signed_response_alg: UserinfoAlg | None = None
    backchannel_logout_uri: ClientUri | None = None
    client_uri: ClientUri | None = None
    require_verified_organisation: bool = False

    @field_validator("client_id")
    @classmethod
    def _client_id(cls, client_id: str) -> str:
        if not re.fullmatch(CLIENT_ID_PATTERN, client_id):
            raise _problem(
                "{value} is not a valid client id: 4 to 100 characters of a-z, 0-9, '.', '_' "
                "and '-', beginning and ending with a letter or digit",
                value=client_id,
            )
        return client_id

    @field_validator("authority")
    @classmethod
    def _authority(cls, slug: str) -> str:
        if not re.fullmatch(AUTHORITY_SLUG_PATTERN, slug):
            raise _problem("{value} is not an authority slug (such as vg-cochem)", value=slug)
        return slug

    @field_validator("redirect_uris", "post_logout_redirect_uris", "scopes")
    @classmethod
    def _unique(cls, values: list[str]) -> list[str]:
        _refuse_duplicates(values)
        return values

    @field_validator("grant_types")
    @classmethod
    def _grant_types(cls, grants: list[GrantType]) -> list[GrantType]:
        if not grants:
            raise _problem("at least one grant type is needed")
        _refuse_duplicates(list(grants))
        # Refresh tokens are only issued from an authorization code exchange (RFC 6749 §1.5).
        if "refresh_token" in grants and "authorization_code" not in grants:
            raise _problem("refresh_token needs the authorization_code grant as well")
        return grants

    @field_validator("token_endpoint_auth_method")
    @classmethod
    def _auth_method(
        cls, method: TokenEndpointAuthMethod, info: ValidationInfo
    ) -> TokenEndpointAuthMethod:
        grants = info.data.get("grant_types", ())
        # RFC 6749 §4.4: the client credentials grant is for confidential clients only.
        if method == TokenEndpointAuthMethod.NONE and "client_credentials" in grants:
            raise _problem("a public client (none) may not use the client_credentials grant")
        return method

    @field_validator("jwks")
    @classmethod
    def _jwks(cls, jwks: dict[str, Any] | None, info: ValidationInfo) -> dict[str, Any] | None:
        if jwks is None:
            return None
        _refuse_keys_unless_private_key_jwt(info)
        return check_public_jwks(jwks)

    @field_validator("jwks_uri")
    @classmethod
    def _jwks_uri(cls, uri: str | None, info: ValidationInfo) -> str | None:
        if uri is not None:
            _refuse_keys_unless_private_key_jwt(info)
            check_uri(uri, allow_loopback_http=False)
        if "jwks" in info.data:  # skip when jwks itself was refused: one problem is enough
            _require_one_key_source(info, uri)
        return uri

    @field_validator("minimum_trust_level")
    @classmethod
    def _minimum_level(cls, level: int, info: ValidationInfo) -> int:
        default = info.data.get("default_trust_level")
        if default is not None and level > default:
            raise _problem(
                "the minimum trust level {minimum} is above the default level {default}",
                minimum=level,
                default=default,
            )
        return level

    @property
    def uses_secret(self) -> bool:
        return self.token_endpoint_auth_method in SECRET_AUTH_METHODS


def _refuse_keys_unless_private_key_jwt(info: ValidationInfo) -> None:
    method = info.data.get("token_endpoint_auth_method")
    if method is not None and method != TokenEndpointAuthMethod.PRIVATE_KEY_JWT:
        raise _problem("keys (jwks or jwks_uri) are only used with private_key_jwt")


def _require_one_key_source(info: ValidationInfo, jwks_uri: str | None) -> None:
    if info.data.get("token_endpoint_auth_method") != TokenEndpointAuthMethod.PRIVATE_KEY_JWT:
        return
    sources = (info.data.get("jwks") is not None) + (jwks_uri is not None)
    # RFC 7591 §2: jwks and jwks_uri MUST NOT both be present.
    if sources != 1:
        raise _problem("private_key_jwt needs exactly one of jwks or jwks_uri")


# --- the output ----------------------------------------------------------------------------


class ClientOut(BaseModel):
    """A registered procedure as operators see it: everything but the secret's digest."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    client_id: str
    name: str
    authority_id: uuid.UUID
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str]
    grant_types: list[str]
    token_endpoint_auth_method: TokenEndpointAuthMethod
    jwks: dict[str, Any] | None
    jwks_uri: str | None
    scopes: list[str]
    default_trust_level: int
    minimum_trust_level: int
    subject_type: SubjectType
    consent_required: bool
    id_token_signed_response_alg: str
    userinfo_signed_response_alg: str | None
    backchannel_logout_uri: str | None
    client_uri: str | None = None
    require_verified_organisation: bool = False
    secret_rotated_at: datetime | None
    created_at: datetime
    updated_at: datetime
    disabled_at: datetime | None

    @property
    def disabled(self) -> bool:
        return self.disabled_at is not None


class ClientWithSecret(ClientOut):
    """Returned once by add and rotate-secret: the secret exists nowhere else afterwards."""

    client_secret: str | None
