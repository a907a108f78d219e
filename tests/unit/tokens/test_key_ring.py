"""Key ring rules on a fake clock: publish before signing, keep until the last token expires."""

from __future__ import annotations

import json
import os
import stat
from datetime import timedelta

import pytest

from infra.tokens.configured_keys import parse_signing_keys
from infra.tokens.dev_keys import DevKeyDirectory
from infra.tokens.key_ring import KeyConfigurationError, KeyRing
from shared.settings import SettingsError, load_settings
from tests.unit.tokens.helpers import ACCESS_TTL, LEEWAY, T0, FakeClock, new_key, pem_of, ring_of


def kids(keys):
    return [key.kid for key in keys]


def test_a_new_key_is_published_before_it_signs_and_the_old_one_stays_until_its_tokens_expire():
    switch = T0 + timedelta(hours=1)
    old = new_key("old", retires_at=switch)
    new = new_key("new", activates_at=switch)
    ring = ring_of(old, new)

    assert ring.signer(T0).kid == "old"
    assert kids(ring.published(T0)) == ["old", "new"]  # published an hour before it signs
    assert ring.signer(switch).kid == "new"
    still_valid = switch + ACCESS_TTL + LEEWAY - timedelta(seconds=1)
    assert kids(ring.published(still_valid)) == ["old", "new"]
    assert ring.verification_key("old", still_valid) is not None
    gone = switch + ACCESS_TTL + LEEWAY
    assert kids(ring.published(gone)) == ["new"]
    assert ring.verification_key("old", gone) is None


def test_the_latest_activated_key_signs_and_ties_go_to_the_later_key():
    ring = ring_of(new_key("a"), new_key("b"), new_key("c", activates_at=T0 + timedelta(days=1)))
    assert ring.signer(T0).kid == "b"
    assert ring.signer(T0 + timedelta(days=1)).kid == "c"


def test_no_active_key_is_a_configuration_error_naming_the_setting():
    ring = ring_of(new_key("later", activates_at=T0 + timedelta(hours=1)))
    with pytest.raises(KeyConfigurationError, match="JWT_SIGNING_KEYS"):
        ring.signer(T0)


def test_jwks_has_the_rfc7517_shape_and_no_private_material():
    ring = ring_of(new_key("k1"))
    jwks = ring.jwks(T0)
    assert len(jwks["keys"]) == 1
    jwk = jwks["keys"][0]
    assert set(jwk) == {"kty", "crv", "x", "y", "kid", "use", "alg"}
    assert (jwk["kty"], jwk["crv"], jwk["use"], jwk["alg"], jwk["kid"]) == ("EC", "P-256", "sig", "ES256", "k1")
    assert "d" not in jwk


def test_signing_key_repr_never_shows_key_material():
    key = new_key("k1")
    assert "PRIVATE" not in repr(key) and "k1" in repr(key)


# -- JWT_SIGNING_KEYS -------------------------------------------------------------------------------


def test_configured_keys_parse_with_their_timeline():
    a, b = new_key("a"), new_key("b")
    raw = json.dumps([
        {"kid": "a", "private_key_pem": pem_of(a), "retires_at": "2025-06-02T00:00:00Z"},
        {"kid": "b", "private_key_pem": pem_of(b), "activates_at": "2025-06-02T00:00:00+00:00"},
    ])
    keys = parse_signing_keys(raw)
    assert kids(keys) == ["a", "b"] and keys[0].retires_at == keys[1].activates_at


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("not json", "not valid JSON"),
        ("[]", "non-empty"),
        ('[{"private_key_pem": "x"}]', "'kid'"),
        ('[{"kid": "a", "private_key_pem": "-----BEGIN PRIVATE KEY-----\\nAAAA\\n-----END PRIVATE KEY-----"}]',
         "not an unencrypted PEM"),
        ('[{"kid": "a"}]', "private_key_pem"),
    ],
)
def test_malformed_configured_keys_name_the_setting_without_echoing_the_key(raw, fragment):
    with pytest.raises(KeyConfigurationError) as failure:
        parse_signing_keys(raw)
    assert "JWT_SIGNING_KEYS" in str(failure.value) and fragment in str(failure.value)
    assert "AAAA" not in str(failure.value)


def test_a_key_on_another_curve_or_duplicate_kids_are_refused():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    p384 = ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    with pytest.raises(KeyConfigurationError, match="P-256"):
        parse_signing_keys(json.dumps([{"kid": "a", "private_key_pem": p384}]))
    pem = pem_of(new_key())
    with pytest.raises(KeyConfigurationError, match="unique"):
        parse_signing_keys(json.dumps([{"kid": "a", "private_key_pem": pem}, {"kid": "a", "private_key_pem": pem}]))


def test_production_refuses_to_start_without_signing_keys():
    env = {"APP_ENVIRONMENT": "production", "DATABASE_URL": "postgresql+psycopg://db/x",
           "AzureWebJobsStorage__accountName": "acct"}
    with pytest.raises(SettingsError) as failure:
        load_settings(env)
    assert "JWT_SIGNING_KEYS" in str(failure.value)


def test_a_malformed_signing_key_setting_is_named_and_not_echoed():
    secret_looking = "MHcCAQEEIKEYMATERIAL"
    raw = json.dumps([{"kid": "a", "private_key_pem": secret_looking}])
    with pytest.raises(SettingsError) as failure:
        load_settings({"JWT_SIGNING_KEYS": raw})
    assert "JWT_SIGNING_KEYS" in str(failure.value) and secret_looking not in str(failure.value)
    settings = load_settings({"JWT_SIGNING_KEYS": json.dumps([{"kid": "a", "private_key_pem": pem_of(new_key())}])})
    assert "PRIVATE" not in repr(settings)


# -- dev keys: generated on first run, rotated by age ------------------------------------------------


def dev_ring(directory, clock):
    source = DevKeyDirectory(directory, rotation_interval=timedelta(days=30), publish_lead=timedelta(hours=1),
                             verify_for=ACCESS_TTL + LEEWAY)
    return KeyRing(source, access_ttl=ACCESS_TTL, leeway=LEEWAY)


def test_dev_keys_are_generated_on_first_run_with_private_file_modes(tmp_path):
    clock = FakeClock()
    directory = tmp_path / "keys"
    ring = dev_ring(directory, clock)
    signer = ring.signer(clock.now())  # the first key signs at once
    files = list(directory.iterdir())
    assert len(files) == 1
    assert stat.S_IMODE(os.stat(files[0]).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    # a second process (a fresh ring on the same directory) uses the same key
    assert dev_ring(directory, clock).signer(clock.now()).kid == signer.kid


def test_dev_keys_rotate_by_age_publishing_the_next_key_before_it_signs(tmp_path):
    clock = FakeClock()
    directory = tmp_path / "keys"
    first = dev_ring(directory, clock).signer(clock.now()).kid

    clock.advance(days=29, hours=23)  # rotation_interval - publish_lead reached
    ring = dev_ring(directory, clock)
    assert ring.signer(clock.now()).kid == first  # the new key does not sign yet...
    published = kids(ring.published(clock.now()))
    assert len(published) == 2 and published[0] == first  # ...but is already published
    second = published[1]

    clock.advance(hours=1)
    ring = dev_ring(directory, clock)
    assert ring.signer(clock.now()).kid == second
    assert first in kids(ring.published(clock.now()))  # tokens signed by the first are still valid

    clock.advance(minutes=16)
    ring = dev_ring(directory, clock)
    assert kids(ring.published(clock.now())) == [second]
    assert len(list(directory.iterdir())) == 1  # the retired key's file is gone


def test_a_long_running_ring_notices_rotation_without_restart(tmp_path):
    clock = FakeClock()
    ring = dev_ring(tmp_path / "keys", clock)
    first = ring.signer(clock.now()).kid
    clock.advance(days=30, minutes=5)
    ring.published(clock.now())  # rescans (more than a minute later) and writes the next key
    clock.advance(hours=1)
    assert ring.signer(clock.now()).kid != first
