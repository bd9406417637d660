"""Where a back-channel request is answered (oidc/placement.py): the loop or the thread pool."""

from __future__ import annotations

import base64
from types import SimpleNamespace
from typing import Any, cast

import pytest

from servicekonto.oidc.placement import (
    Place,
    client_id_of,
    place_of_introspection,
    place_of_token_request,
    place_of_userinfo,
)
from servicekonto.oidc.server import PlainRequest, ProviderServer

CLIENT = "vg-test.hund"


def _basic(credentials: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}


def _request(form: dict[str, str], headers: dict[str, str] | None = None) -> PlainRequest:
    return PlainRequest("POST", "https://id.example/oidc/token", headers or {}, form)


def _server(*, cached: bool = True, fresh: bool = True, on_loop: bool = True) -> ProviderServer:
    server: Any = SimpleNamespace(
        keys=SimpleNamespace(is_fresh=lambda: fresh),
        clients=SimpleNamespace(is_cached=lambda client_id: cached and client_id == CLIENT),
        grants=SimpleNamespace(database=SimpleNamespace(runs_statements_on_loop=on_loop)),
    )
    return cast(ProviderServer, server)


@pytest.mark.parametrize(
    ("headers", "form", "expected"),
    [
        (_basic(f"{CLIENT}:secret"), {}, CLIENT),
        # RFC 6749 §2.3.1: the id is form-encoded before it is put into Basic.
        (_basic("vg-test%3Ahund:secret"), {}, "vg-test:hund"),
        (_basic(f"{CLIENT}:secret"), {"client_id": "other"}, CLIENT),
        ({}, {"client_id": CLIENT}, CLIENT),
        ({"authorization": "Basic not base64!"}, {}, None),
        (_basic("no colon"), {}, None),
        ({"authorization": "Basic " + base64.b64encode(b"\xff:x").decode()}, {}, None),
        ({}, {}, None),
    ],
)
def test_the_client_a_request_names(
    headers: dict[str, str], form: dict[str, str], expected: str | None
) -> None:
    assert client_id_of(_request(form, headers)) == expected


def test_a_cached_secret_client_is_answered_on_the_loop() -> None:
    service = _request({"grant_type": "client_credentials"}, _basic(f"{CLIENT}:s"))
    code = _request({"grant_type": "authorization_code", "client_id": CLIENT})
    assert place_of_token_request(_server(), service) is Place.INLINE
    assert place_of_token_request(_server(on_loop=False), service) is Place.INLINE
    assert place_of_token_request(_server(), code) is Place.LOOP
    assert place_of_introspection(_server(), code) is Place.LOOP
    assert place_of_userinfo(_server()) is Place.LOOP


@pytest.mark.parametrize(
    ("server", "form"),
    [
        (_server(cached=False), {"grant_type": "authorization_code"}),
        (_server(fresh=False), {"grant_type": "client_credentials"}),
        (_server(on_loop=False), {"grant_type": "refresh_token"}),
        # A client assertion may make us fetch the procedure's keys over HTTPS.
        (_server(), {"grant_type": "authorization_code", "client_assertion": "x.y.z"}),
        (_server(), {"grant_type": "urn:ietf:params:oauth:grant-type:device_code"}),
    ],
)
def test_anything_that_may_wait_goes_to_the_thread_pool(
    server: ProviderServer, form: dict[str, str]
) -> None:
    request = _request({"client_id": CLIENT, **form})
    assert place_of_token_request(server, request) is Place.THREAD


def test_introspection_and_userinfo_wait_in_a_thread_without_the_loop_pool() -> None:
    request = _request({"client_id": CLIENT})
    assert place_of_introspection(_server(on_loop=False), request) is Place.THREAD
    assert place_of_introspection(_server(cached=False), request) is Place.THREAD
    assert place_of_userinfo(_server(on_loop=False)) is Place.THREAD
    assert place_of_userinfo(_server(fresh=False)) is Place.THREAD
