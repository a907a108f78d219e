"""The MFA adapters: AES-GCM secrets at rest (round trip, tampering, rotation, local key file),
TOTP codes and their time steps, the otpauth URI and the QR code SVG."""

from __future__ import annotations

import base64
import os
import stat
import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, unquote, urlparse

import pyotp
import pytest
import segno

from application.identity.mfa_codes import (
    hashed_recovery_codes,
    new_recovery_codes,
    normalize_recovery_code,
    secret_context,
    sha256_hex,
)
from application.identity.mfa_ports import SecretUnreadable
from infra.mfa.cipher import AesGcmSecretCipher, InvalidKeySpec, parse_key, parse_key_list
from infra.mfa.keys import LOCAL_KEY_FILE, build_cipher, local_key_spec
from infra.mfa.qr import SegnoQrRenderer
from infra.mfa.totp import PyotpTotp

T0 = datetime(2030, 1, 1, 12, 0, 10, tzinfo=UTC)


def key(kid: str) -> tuple[str, bytes]:
    return kid, os.urandom(32)


CTX = secret_context(uuid.uuid4())


def test_aes_gcm_round_trip_and_a_fresh_nonce_each_time():
    cipher = AesGcmSecretCipher(key("k1"))
    sealed = cipher.encrypt(b"JBSWY3DPEHPK3PXP", context=CTX)
    assert b"JBSWY3DPEHPK3PXP" not in sealed
    assert cipher.decrypt(sealed, context=CTX) == b"JBSWY3DPEHPK3PXP"
    assert cipher.encrypt(b"JBSWY3DPEHPK3PXP", context=CTX) != sealed


@pytest.mark.parametrize("position", [0, 1, 3, 5, 20, -1])
def test_any_tampered_byte_is_detected(position):
    cipher = AesGcmSecretCipher(key("k1"))
    sealed = bytearray(cipher.encrypt(b"secret", context=CTX))
    sealed[position] ^= 0x01
    with pytest.raises(SecretUnreadable):
        cipher.decrypt(bytes(sealed), context=CTX)


def test_a_ciphertext_copied_to_another_users_row_does_not_decrypt():
    cipher = AesGcmSecretCipher(key("k1"))
    sealed = cipher.encrypt(b"secret", context=secret_context(uuid.uuid4()))
    with pytest.raises(SecretUnreadable):
        cipher.decrypt(sealed, context=secret_context(uuid.uuid4()))


def test_key_rotation_decrypts_with_any_configured_key_and_encrypts_with_the_newest():
    old, new = key("2029"), key("2030")
    before = AesGcmSecretCipher(old)
    sealed_old = before.encrypt(b"old secret", context=CTX)
    after = AesGcmSecretCipher(new, previous=[old])
    assert after.decrypt(sealed_old, context=CTX) == b"old secret"
    sealed_new = after.encrypt(b"new secret", context=CTX)
    assert after.key_id_of_ciphertext(sealed_new) == "2030" and after.key_id_of_ciphertext(sealed_old) == "2029"
    with pytest.raises(SecretUnreadable):  # the old key alone cannot read what the new one wrote
        before.decrypt(sealed_new, context=CTX)
    with pytest.raises(SecretUnreadable):  # once the old key is dropped, its secrets are unreadable
        AesGcmSecretCipher(new).decrypt(sealed_old, context=CTX)


def test_key_specs_accept_an_id_or_derive_one_and_never_echo_key_material():
    raw = os.urandom(32)
    encoded = base64.b64encode(raw).decode()
    assert parse_key(f"main:{encoded}") == ("main", raw)
    kid, parsed = parse_key(encoded)
    assert parsed == raw and kid.startswith("k") and kid == parse_key(encoded)[0]
    assert [k for k, _ in parse_key_list(f"a:{encoded}, ,b:{encoded}")] == ["a", "b"]
    short = base64.b64encode(b"0123456789abcdef").decode()
    for bad in (short, "not base64!!", f"bad id!:{encoded}"):
        with pytest.raises(InvalidKeySpec) as error:
            parse_key(bad)
        assert short not in str(error.value) and encoded not in str(error.value)


def test_a_local_key_is_generated_once_with_owner_only_permissions(tmp_path):
    directory = tmp_path / "keys"
    first = local_key_spec(directory)
    path = directory / LOCAL_KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert local_key_spec(directory) == first
    assert len(base64.b64decode(first)) == 32
    sealed = build_cipher(None, None, directory).encrypt(b"s", context=CTX)
    assert build_cipher(None, None, directory).decrypt(sealed, context=CTX) == b"s"  # survives a restart
    configured = base64.b64encode(os.urandom(32)).decode()
    assert build_cipher(f"prod:{configured}", None, tmp_path / "unused").current_key_id == "prod"
    assert not (tmp_path / "unused").exists()  # a configured key never touches the key directory


def test_totp_matches_the_current_step_and_one_step_of_drift_only():
    totp = PyotpTotp("Tagarela")
    secret = totp.new_secret()
    assert len(base64.b32decode(secret)) == 20  # 160 bits
    reference = pyotp.TOTP(secret)
    step = reference.timecode(T0)
    assert totp.matching_step(secret, reference.at(T0), T0) == step
    assert totp.matching_step(secret, reference.at(T0 - timedelta(seconds=30)), T0) == step - 1
    assert totp.matching_step(secret, reference.at(T0 + timedelta(seconds=30)), T0) == step + 1
    assert totp.matching_step(secret, reference.at(T0 - timedelta(seconds=60)), T0) is None
    assert totp.matching_step(secret, reference.at(T0 + timedelta(seconds=60)), T0) is None
    for malformed in ("", "12345", "1234567", "12345a", "١٢٣٤٥٦"):
        assert totp.matching_step(secret, malformed, T0) is None


def test_the_otpauth_uri_names_issuer_account_and_secret():
    totp = PyotpTotp("Tagarela Chat")
    secret = totp.new_secret()
    uri = totp.provisioning_uri(secret, "ana@example.com")
    parsed = urlparse(uri)
    assert parsed.scheme == "otpauth" and parsed.netloc == "totp"
    assert unquote(parsed.path) == "/Tagarela Chat:ana@example.com"
    query = parse_qs(parsed.query)
    assert query["secret"] == [secret] and query["issuer"] == ["Tagarela Chat"]
    assert pyotp.parse_uri(uri).secret == secret


def test_the_qr_code_is_an_svg_document_of_the_uri():
    uri = "otpauth://totp/Tagarela:ana%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=Tagarela"
    svg = SegnoQrRenderer().svg(uri)
    root = ET.fromstring(svg)  # noqa: S314 (our own output)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    expected = segno.make_qr(uri, error="m")
    width, _ = expected.symbol_size(scale=4, border=4)
    assert root.get("width") == str(width)  # the size of this URI's QR symbol
    path = root.find("{http://www.w3.org/2000/svg}path")
    assert path is not None and path.get("d", "").count("h") > 50  # the modules are drawn


def test_recovery_codes_are_random_readable_and_hashed():
    codes = new_recovery_codes()
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(len(c) == 19 and c.count("-") == 3 for c in codes)
    assert not set("01ILOU") & set("".join(codes))
    assert normalize_recovery_code(codes[0].lower().replace("-", " ")) == codes[0].replace("-", "")
    stored = hashed_recovery_codes(uuid.uuid4(), codes, T0)
    assert [s.code_hash for s in stored] == [sha256_hex(c.replace("-", "")) for c in codes]
    assert all(c not in s.code_hash for c, s in zip(codes, stored, strict=True))
