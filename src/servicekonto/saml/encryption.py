"""XML Encryption of assertions for a service provider, and decryption of what SPs send us.

W3C XML Encryption Syntax and Processing 1.1. We encrypt the way the federal citizen account
profile asks, "AES-256-GCM with RSA-OAEP key transport": a fresh AES key per assertion, the
assertion sealed with it (§5.2.4), the key sealed to the SP's certificate in an
`xenc:EncryptedKey` inside the `ds:KeyInfo` of the `xenc:EncryptedData` — where pysaml2 (through
xmlsec1) and Shibboleth SPs look first.

Two published attacks shape the decryption side:
- Jager and Somorovsky, "How to Break XML Encryption" (CCS 2011): AES-CBC without integrity is a
  padding oracle if the answer tells padding errors from XML errors. CBC is accepted as input
  only, and every CBC failure — length, padding, parsing — gives one and the same message.
- Jager, Schinzel and Somorovsky, "Bleichenbacher's Attack Strikes Again" (ESORICS 2012): RSA
  PKCS#1 v1.5 key transport (`xmlenc#rsa-1_5`) is an oracle; it is refused outright. For OAEP,
  Manger's attack (CRYPTO 2001) needs to tell a failed key unwrap from a failed content
  decryption, so a failed unwrap goes on with a random key and fails at the same later step.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from servicekonto.saml.xml import DS, SAML, XENC, XENC11, XMLRejected, parse, qname

ELEMENT_TYPE = XENC + "Element"
AES128_GCM = XENC11 + "aes128-gcm"
AES256_GCM = XENC11 + "aes256-gcm"
AES128_CBC = XENC + "aes128-cbc"
AES256_CBC = XENC + "aes256-cbc"
RSA_OAEP_MGF1P = XENC + "rsa-oaep-mgf1p"
RSA_OAEP = XENC11 + "rsa-oaep"
SHA1 = DS + "sha1"
SHA256 = XENC + "sha256"
MGF1_SHA1 = XENC11 + "mgf1sha1"
MGF1_SHA256 = XENC11 + "mgf1sha256"

_GCM_KEY_BYTES = {AES128_GCM: 16, AES256_GCM: 32}
_CBC_KEY_BYTES = {AES128_CBC: 16, AES256_CBC: 32}
_DIGESTS: dict[str, type[hashes.HashAlgorithm]] = {SHA1: hashes.SHA1, SHA256: hashes.SHA256}
_MGF_DIGESTS: dict[str, type[hashes.HashAlgorithm]] = {
    MGF1_SHA1: hashes.SHA1,
    MGF1_SHA256: hashes.SHA256,
}
_GCM_IV_BYTES = 12  # XML Enc 1.1 §5.2.4: a 96-bit IV ...
_GCM_TAG_BYTES = 16  # ... and a 128-bit tag, around the ciphertext
_BLOCK_BYTES = 16
# SAML core §6.1 allows one EncryptedKey per recipient; a handful is plenty, and each costs an
# RSA private-key operation, so an unbounded list would be a cheap way to burn our CPU.
_MAX_ENCRYPTED_KEYS = 4
# The one answer for every cryptographic failure: wrong key, tampered tag, bad CBC padding.
_FAILED = "decryption failed"


class DecryptionFailed(Exception):  # noqa: N818 - a verdict on the input, not a bug
    """The encrypted element could not be decrypted; the message is a short, public reason."""


# --- encryption ---------------------------------------------------------------------------------


def encrypt_assertion(assertion: etree._Element, certificate: x509.Certificate) -> etree._Element:
    """A new `saml:EncryptedAssertion` holding `assertion` sealed to `certificate`'s RSA key."""
    if assertion.tag != qname(SAML, "Assertion"):
        raise ValueError("only a saml:Assertion is encrypted here")
    content_key = AESGCM.generate_key(bit_length=256)
    wrapper = etree.Element(qname(SAML, "EncryptedAssertion"), nsmap=_ENCRYPTED_NSMAP)
    data = etree.SubElement(wrapper, qname(XENC, "EncryptedData"), Type=ELEMENT_TYPE)
    etree.SubElement(data, qname(XENC, "EncryptionMethod"), Algorithm=AES256_GCM)
    key_info = etree.SubElement(data, qname(DS, "KeyInfo"))
    key_info.append(_encrypted_key(content_key, certificate))
    _add_cipher_value(data, _seal_gcm(content_key, _serialise(assertion)))
    return wrapper


_ENCRYPTED_NSMAP = {"saml": SAML, "xenc": XENC, "ds": DS}


def _serialise(element: etree._Element) -> bytes:
    # lxml writes every namespace declaration in scope onto the serialised element, so the
    # cleartext parses on its own too, for SPs that do not restore the context. The bytes are
    # otherwise those of the tree: an enveloped signature made with exclusive c14n still verifies.
    return etree.tostring(element, encoding="UTF-8", xml_declaration=False, with_tail=False)


def _seal_gcm(key: bytes, plaintext: bytes) -> bytes:
    iv = os.urandom(_GCM_IV_BYTES)
    # AESGCM appends the tag, giving IV || ciphertext || tag as §5.2.4 lays it out.
    return iv + AESGCM(key).encrypt(iv, plaintext, None)


def _encrypted_key(content_key: bytes, certificate: x509.Certificate) -> etree._Element:
    public_key = certificate.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise ValueError("the encryption certificate must carry an RSA key")
    # Key transport: rsa-oaep-mgf1p with SHA-1, not the preferred xmlenc11#rsa-oaep with SHA-256.
    # Tried in November 2026 against Debian 12's xmlsec1 1.2.37 (openssl), which pysaml2 SPs
    # decrypt with: it knows no xmlenc11#rsa-oaep at all (any digest, any MGF) and refuses a
    # SHA-256 DigestMethod under rsa-oaep-mgf1p ("is not supported for rsa/oaep"). SHA-1 inside
    # OAEP only masks and hashes the label, which needs no collision resistance. Revisit when the
    # SPs' xmlsec1 is upgraded; decrypt_element already reads the xmlenc11 form.
    encrypted_key = etree.Element(qname(XENC, "EncryptedKey"))
    method = etree.SubElement(encrypted_key, qname(XENC, "EncryptionMethod"))
    method.set("Algorithm", RSA_OAEP_MGF1P)
    etree.SubElement(method, qname(DS, "DigestMethod"), Algorithm=SHA1)
    _add_certificate(encrypted_key, certificate)
    wrapped = public_key.encrypt(content_key, _oaep(hashes.SHA1, hashes.SHA1, None))
    _add_cipher_value(encrypted_key, wrapped)
    return encrypted_key


def _add_certificate(encrypted_key: etree._Element, certificate: x509.Certificate) -> None:
    # Names the SP key this was sealed to, so an SP in a key rollover picks the right one.
    key_info = etree.SubElement(encrypted_key, qname(DS, "KeyInfo"))
    x509_data = etree.SubElement(key_info, qname(DS, "X509Data"))
    der = certificate.public_bytes(Encoding.DER)
    etree.SubElement(x509_data, qname(DS, "X509Certificate")).text = _b64(der)


def _add_cipher_value(parent: etree._Element, value: bytes) -> None:
    cipher_data = etree.SubElement(parent, qname(XENC, "CipherData"))
    etree.SubElement(cipher_data, qname(XENC, "CipherValue")).text = _b64(value)


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _oaep(
    digest: type[hashes.HashAlgorithm], mgf_digest: type[hashes.HashAlgorithm], label: bytes | None
) -> padding.OAEP:
    return padding.OAEP(mgf=padding.MGF1(mgf_digest()), algorithm=digest(), label=label)


# --- decryption ---------------------------------------------------------------------------------


def decrypt_element(encrypted: etree._Element, key: rsa.RSAPrivateKey) -> etree._Element:
    """The element inside a `saml:EncryptedAssertion`, `saml:EncryptedID` or the like.

    The content key may sit in the EncryptedData's `ds:KeyInfo` or, as SAML core §6.1 allows,
    in `xenc:EncryptedKey` siblings of the EncryptedData.
    """
    data = _encrypted_data(encrypted)
    _, algorithm = _method(data, "EncryptedData")
    key_bytes = _GCM_KEY_BYTES.get(algorithm) or _CBC_KEY_BYTES.get(algorithm)
    if key_bytes is None:
        raise DecryptionFailed("unsupported data encryption algorithm")
    payload = _cipher_value(data)
    content_key = _content_key(_encrypted_keys(encrypted, data), key, key_bytes)
    if algorithm in _GCM_KEY_BYTES:
        return _parse_plaintext(_open_gcm(content_key, payload), data)
    return _open_cbc(content_key, payload, data)


def _encrypted_data(encrypted: etree._Element) -> etree._Element:
    if encrypted.tag == qname(XENC, "EncryptedData"):
        data = encrypted
    else:
        found = encrypted.findall(qname(XENC, "EncryptedData"))
        if len(found) != 1:
            raise DecryptionFailed("expected exactly one xenc:EncryptedData")
        data = found[0]
    # SAML core §6.1: the Type, if present, MUST be Element; Content would be several nodes.
    if data.get("Type", ELEMENT_TYPE) != ELEMENT_TYPE:
        raise DecryptionFailed("only EncryptedData of Type Element is supported")
    return data


def _method(parent: etree._Element, what: str) -> tuple[etree._Element, str]:
    method = parent.find(qname(XENC, "EncryptionMethod"))
    algorithm = None if method is None else method.get("Algorithm")
    if method is None or algorithm is None:
        raise DecryptionFailed(f"{what} names no EncryptionMethod")
    return method, algorithm


def _cipher_value(parent: etree._Element) -> bytes:
    # Only an inline CipherValue: a CipherReference would make us fetch a URI an attacker chose.
    value = parent.find(f"{qname(XENC, 'CipherData')}/{qname(XENC, 'CipherValue')}")
    if value is None or len(value) or not value.text:
        raise DecryptionFailed("expected an inline CipherValue")
    try:
        return base64.b64decode("".join(value.text.split()), validate=True)
    except binascii.Error:
        raise DecryptionFailed("CipherValue is not base64") from None


def _encrypted_keys(encrypted: etree._Element, data: etree._Element) -> list[etree._Element]:
    in_key_info = data.findall(f"{qname(DS, 'KeyInfo')}/{qname(XENC, 'EncryptedKey')}")
    siblings = [] if encrypted is data else encrypted.findall(qname(XENC, "EncryptedKey"))
    found = in_key_info + siblings
    if not found:
        raise DecryptionFailed("no xenc:EncryptedKey carries the content key")
    if len(found) > _MAX_ENCRYPTED_KEYS:
        raise DecryptionFailed("too many xenc:EncryptedKey elements")
    return found


def _content_key(candidates: list[etree._Element], key: rsa.RSAPrivateKey, size: int) -> bytes:
    for encrypted_key in candidates:
        unwrapped = _unwrap(encrypted_key, key)
        if unwrapped is not None and len(unwrapped) == size:
            return unwrapped
    # Against Manger's attack: no separate answer for a failed unwrap; a random key makes the
    # content decryption fail the same way it does for a tampered ciphertext.
    return os.urandom(size)


def _unwrap(encrypted_key: etree._Element, key: rsa.RSAPrivateKey) -> bytes | None:
    oaep = _oaep_of(encrypted_key)
    wrapped = _cipher_value(encrypted_key)
    try:
        return key.decrypt(wrapped, oaep)
    except ValueError:  # wrong key, tampered, or a ciphertext of the wrong length
        return None


def _oaep_of(encrypted_key: etree._Element) -> padding.OAEP:
    method, algorithm = _method(encrypted_key, "EncryptedKey")
    if algorithm not in (RSA_OAEP_MGF1P, RSA_OAEP):
        raise DecryptionFailed("unsupported key transport algorithm")
    digest = _named_digest(method.find(qname(DS, "DigestMethod")), _DIGESTS)
    # XML Enc 1.1 §5.5.2: rsa-oaep-mgf1p fixes MGF1 with SHA-1; rsa-oaep names it, SHA-1 if not.
    mgf: type[hashes.HashAlgorithm] = hashes.SHA1
    if algorithm == RSA_OAEP:
        mgf = _named_digest(method.find(qname(XENC11, "MGF")), _MGF_DIGESTS)
    return _oaep(digest, mgf, _oaep_label(method))


def _named_digest(
    element: etree._Element | None, known: dict[str, type[hashes.HashAlgorithm]]
) -> type[hashes.HashAlgorithm]:
    # §5.5.2: both the digest and the mask generation default to SHA-1 when not named.
    if element is None:
        return hashes.SHA1
    digest = known.get(element.get("Algorithm", ""))
    if digest is None:
        raise DecryptionFailed("unsupported OAEP digest or mask generation function")
    return digest


def _oaep_label(method: etree._Element) -> bytes | None:
    params = method.find(qname(XENC, "OAEPparams"))
    if params is None or not params.text:
        return None
    try:
        return base64.b64decode("".join(params.text.split()), validate=True)
    except binascii.Error:
        raise DecryptionFailed("OAEPparams is not base64") from None


def _open_gcm(key: bytes, payload: bytes) -> bytes:
    if len(payload) < _GCM_IV_BYTES + _GCM_TAG_BYTES:
        raise DecryptionFailed("ciphertext too short")
    iv, sealed = payload[:_GCM_IV_BYTES], payload[_GCM_IV_BYTES:]
    try:
        return AESGCM(key).decrypt(iv, sealed, None)
    except InvalidTag:
        raise DecryptionFailed(_FAILED) from None


def _open_cbc(key: bytes, payload: bytes, context: etree._Element) -> etree._Element:
    # CBC is accepted only as input, because some SPs still send it (a LogoutRequest's
    # EncryptedID); we never encrypt with it. Everything after here is unauthenticated, so every
    # failure, parsing included, is the same _FAILED: no padding oracle (Jager/Somorovsky 2011).
    plaintext = _cbc_plaintext(key, payload)
    if plaintext is None:
        raise DecryptionFailed(_FAILED)
    try:
        return _parse_in_context(plaintext, context)
    except XMLRejected:
        raise DecryptionFailed(_FAILED) from None


def _cbc_plaintext(key: bytes, payload: bytes) -> bytes | None:
    if len(payload) < 2 * _BLOCK_BYTES or len(payload) % _BLOCK_BYTES:
        return None
    decryptor = Cipher(algorithms.AES(key), modes.CBC(payload[:_BLOCK_BYTES])).decryptor()
    padded = decryptor.update(payload[_BLOCK_BYTES:]) + decryptor.finalize()
    # XML Enc 1.1 §5.2 (padding): the last byte is the pad length; the others are arbitrary.
    pad = padded[-1]
    if not 1 <= pad <= _BLOCK_BYTES:
        return None
    return padded[:-pad]


def _parse_plaintext(plaintext: bytes, context: etree._Element) -> etree._Element:
    try:
        return _parse_in_context(plaintext, context)
    except XMLRejected as error:
        raise DecryptionFailed(f"decrypted content refused: {error}") from None


def _parse_in_context(plaintext: bytes, context: etree._Element) -> etree._Element:
    """The one element in `plaintext`, read with the namespaces in scope at `context`.

    Decryption puts the cleartext back where the EncryptedData stood (XML Enc 1.1, processing
    rules for decryption), and encryptors rely on that: `xmlsec1 --encrypt --node-xpath`, as
    pysaml2 uses it, leaves out the declarations an ancestor made. So the cleartext is wrapped in
    an element declaring those namespaces and read with the hardened parser, which refuses a DTD
    or entity reference here too: a decrypted payload must not smuggle one in.
    """
    # lxml-stubs type nsmap without the None key, yet a default namespace is context too.
    shell = etree.tostring(etree.Element("context", nsmap=context.nsmap))  # type: ignore[arg-type]
    wrapper = parse(shell.removesuffix(b"/>") + b">" + plaintext + b"</context>")
    if len(wrapper) != 1 or not isinstance(wrapper[0].tag, str) or _has_text(wrapper):
        raise XMLRejected("the cleartext of Type Element must be exactly one element")
    # Serialised on its own, the element carries every declaration in scope — also those only
    # used inside attribute values (xsi:type="xs:string"), which a copy would drop — and parsed
    # again it is the root of its own document, as a standalone assertion would be.
    return parse(_serialise(wrapper[0]))


def _has_text(wrapper: etree._Element) -> bool:
    return bool((wrapper.text or "").strip() or (wrapper[0].tail or "").strip())
