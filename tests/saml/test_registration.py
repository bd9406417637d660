"""Our metadata as procedures fetch it, and registering providers from theirs (the CLI)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from lxml import etree

from tests.cli_helpers import run_cli
from tests.saml.sp import key_pair, sp_config, sp_metadata

MD = "urn:oasis:names:tc:SAML:2.0:metadata"


def test_metadata_is_signed_and_names_the_issuer_without_port(
    idp_metadata: bytes, tmp_path: Path
) -> None:
    root = etree.fromstring(idp_metadata)
    assert root.tag == f"{{{MD}}}EntityDescriptor"
    assert root.get("entityID") == "http://127.0.0.1"
    assert root.get("validUntil") is None and root.get("cacheDuration") is None
    descriptor = root.find(f"{{{MD}}}IDPSSODescriptor")
    assert descriptor is not None and descriptor.get("WantAuthnRequestsSigned") == "true"
    uses = {k.get("use") for k in descriptor.findall(f"{{{MD}}}KeyDescriptor")}
    assert uses == {"signing", "encryption"}
    bindings = {
        (s.tag.split("}")[1], s.get("Binding").rsplit(":", 1)[1], s.get("Location"))
        for s in descriptor
        if s.get("Binding")
    }
    assert ("SingleSignOnService", "HTTP-Redirect", "http://127.0.0.1:8000/saml/sso") in bindings
    assert ("SingleSignOnService", "HTTP-POST", "http://127.0.0.1:8000/saml/sso") in bindings
    assert ("SingleLogoutService", "HTTP-POST", "http://127.0.0.1:8000/saml/slo") in bindings
    path = tmp_path / "idp.xml"
    path.write_bytes(idp_metadata)
    # Trust is the certificate the procedure configures, as it would pin it on first import.
    encoded = root.findtext(".//{http://www.w3.org/2000/09/xmldsig#}X509Certificate") or ""
    pem = tmp_path / "idp.pem"
    lines = [encoded[i : i + 64] for i in range(0, len(encoded), 64)]
    pem.write_text(
        "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"
    )
    xmlsec = shutil.which("xmlsec1")
    assert xmlsec
    checked = subprocess.run(
        [
            xmlsec,
            "--verify",
            "--pubkey-cert-pem",
            str(pem),
            "--id-attr:ID",
            f"{MD}:EntityDescriptor",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr


def test_cli_registers_a_provider_from_its_metadata(tmp_path: Path) -> None:
    config = sp_config(tmp_path, _minimal_idp(tmp_path))
    metadata = tmp_path / "sp.xml"
    metadata.write_bytes(sp_metadata(config))
    assert run_cli(tmp_path, "demo").returncode == 0
    added = run_cli(
        tmp_path,
        "saml",
        "sp",
        "add",
        "--metadata",
        str(metadata),
        "--authority",
        "vg-zell",
        "--json",
    )
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["entity_id"] == config.entityid
    again = run_cli(
        tmp_path, "saml", "sp", "add", "--metadata", str(metadata), "--authority", "vg-zell"
    )
    assert again.returncode == 2 and "registered already" in again.stderr
    listed = run_cli(tmp_path, "saml", "sp", "list", "--json")
    assert config.entityid in {row["entity_id"] for row in json.loads(listed.stdout)}


def test_cli_refuses_bad_metadata_with_a_clear_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>')
    answer = run_cli(
        tmp_path, "saml", "sp", "add", "--metadata", str(bad), "--authority", "vg-zell"
    )
    assert answer.returncode == 2
    assert "Traceback" not in answer.stderr and "--metadata" in answer.stderr
    missing = run_cli(
        tmp_path, "saml", "sp", "add", "--metadata", "nowhere.xml", "--authority", "x"
    )
    assert missing.returncode == 2 and "no such file" in missing.stderr


def _minimal_idp(tmp_path: Path) -> bytes:
    """pysaml2 needs some IdP metadata to build the SP's; the demo's would do as well."""
    _, cert, _ = key_pair(tmp_path, "idp")
    body = "".join(cert.read_text().splitlines()[1:-1])
    return (
        f'<md:EntityDescriptor xmlns:md="{MD}" entityID="http://127.0.0.1">'
        '<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
        '<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">'
        f"<ds:X509Data><ds:X509Certificate>{body}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>"
        "</md:KeyDescriptor><md:SingleSignOnService "
        'Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" '
        'Location="http://127.0.0.1:8000/saml/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>'
    ).encode()
