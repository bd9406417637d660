"""Single logout with pysaml2 as the provider: SP-initiated and IdP-initiated, front channel."""

from __future__ import annotations

import base64
import zlib
from typing import Any
from urllib.parse import parse_qs, urlsplit

from lxml import etree
from saml2 import BINDING_HTTP_REDIRECT
from saml2.sigver import verify_redirect_signature

from tests.saml.sp import SLO, ServiceProvider
from tests.web_helpers import Browser

IDP = "http://127.0.0.1"
SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"


def logged_in(citizen: Browser, sp: ServiceProvider) -> Any:
    response = sp.consume(citizen.get(sp.request().path).text)
    assert response.assertion is not None
    return response


def query(location: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}


def idp_certificate(sp: ServiceProvider) -> str:
    certificates = sp.client.metadata.certs(IDP, "idpsso", "signing")
    return str(certificates[0][1])


def test_sp_initiated_logout_ends_the_session(citizen: Browser, sp: ServiceProvider) -> None:
    response = logged_in(citizen, sp)
    sent = sp.client.do_logout(
        response.name_id,
        [IDP],
        reason="",
        expire=None,
        sign=True,
        expected_binding=BINDING_HTTP_REDIRECT,
        sign_alg="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    )
    location = dict(sent[IDP][1]["headers"])["Location"]
    answer = citizen.get(f"/saml/slo?{urlsplit(location).query}")
    assert answer.status_code == 302, answer.text
    back = answer.headers["location"]
    assert back.startswith(SLO + "?")
    message = query(back)
    assert verify_redirect_signature(message, sp.client.sec.sec_backend, cert=idp_certificate(sp))
    document = etree.fromstring(zlib.decompress(base64.b64decode(message["SAMLResponse"]), -15))
    assert document.tag == f"{{{SAMLP}}}LogoutResponse"
    assert document.find(f"{{{SAMLP}}}Status/{{{SAMLP}}}StatusCode").get("Value") == SUCCESS
    parsed = sp.client.parse_logout_request_response(message["SAMLResponse"], BINDING_HTTP_REDIRECT)
    assert parsed.status_ok()
    assert citizen.get("/account").status_code == 303, "the session here has ended"


def test_idp_initiated_logout_reaches_the_provider(citizen: Browser, sp: ServiceProvider) -> None:
    response = logged_in(citizen, sp)
    started = citizen.logout()
    chain = started.headers["location"]
    assert chain.startswith("/saml/logout/")
    to_sp = citizen.get(chain)
    assert to_sp.status_code == 302
    message = query(to_sp.headers["location"])
    assert to_sp.headers["location"].startswith(SLO + "?")
    assert verify_redirect_signature(message, sp.client.sec.sec_backend, cert=idp_certificate(sp))
    answer = sp.client.handle_logout_request(
        message["SAMLRequest"],
        response.name_id,
        BINDING_HTTP_REDIRECT,
        sign=True,
        relay_state=message["RelayState"],
        sigalg="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    )
    location = dict(answer["headers"])["Location"]
    finished = citizen.get(f"/saml/slo?{urlsplit(location).query}")
    assert finished.headers["location"] == "/?signed_out=1"
    assert citizen.get("/account").status_code == 303


def test_logout_without_saml_sessions_goes_straight_home(citizen: Browser) -> None:
    assert citizen.logout().headers["location"] == "/?signed_out=1"


def test_comment_inside_the_name_id_is_refused(citizen: Browser, sp: ServiceProvider) -> None:
    response = logged_in(citizen, sp)
    request_id, request = sp.client.create_logout_request(
        "http://127.0.0.1:8000/saml/slo",
        IDP,
        name_id=response.name_id,
        sign=True,
        sign_alg="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        digest_alg="http://www.w3.org/2001/04/xmlenc#sha256",
    )
    assert request_id
    root = etree.fromstring(str(request).encode())
    name_id = root.find("{urn:oasis:names:tc:SAML:2.0:assertion}NameID")
    text = name_id.text
    name_id.text = text[:5]
    name_id.append(etree.Comment("x"))
    name_id[-1].tail = text[5:]
    encoded = base64.b64encode(etree.tostring(root)).decode()
    answer = citizen.client.post("/saml/slo", data={"SAMLRequest": encoded})
    assert answer.status_code == 400
    assert citizen.get("/account").status_code == 200, "nothing was ended"
