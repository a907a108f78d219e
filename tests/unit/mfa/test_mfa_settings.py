"""MFA settings: safe local defaults, production refuses to run without an encryption key, and a
malformed key is named without echoing it."""

from __future__ import annotations

import base64
import os

import pytest

from shared.settings import SettingsError, load_settings

KEY = base64.b64encode(os.urandom(32)).decode()


def test_local_defaults_need_no_key():
    settings = load_settings({})
    assert settings.mfa_encryption_key is None and settings.mfa_key_dir == ".data/keys"
    assert (settings.mfa_lockout_threshold, settings.mfa_lockout_base_seconds, settings.mfa_lockout_max_seconds) == (
        5, 60, 3600,
    )
    assert load_settings({"MFA_ENCRYPTION_KEY": ""}).mfa_encryption_key is None


def test_production_refuses_to_start_without_the_encryption_key():
    with pytest.raises(SettingsError) as error:
        load_settings({"APP_ENVIRONMENT": "production"})
    assert "MFA_ENCRYPTION_KEY" in str(error.value)


def test_production_with_a_key_has_no_mfa_problem():
    try:
        load_settings({"APP_ENVIRONMENT": "production", "MFA_ENCRYPTION_KEY": f"2030:{KEY}"})
    except SettingsError as error:  # other areas' production settings may still be missing
        assert "MFA_ENCRYPTION_KEY" not in str(error)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MFA_ENCRYPTION_KEY", base64.b64encode(b"sixteen byte key").decode()),
        ("MFA_ENCRYPTION_KEY", "not-base64!"),
        ("MFA_ENCRYPTION_KEY", f"bad id:{KEY}"),
        ("MFA_PREVIOUS_ENCRYPTION_KEYS", f"old:{KEY},short:c2hvcnQ="),
        ("MFA_LOCKOUT_THRESHOLD", "0"),
    ],
)
def test_a_malformed_mfa_setting_is_named_and_never_echoed(name, value):
    with pytest.raises(SettingsError) as error:
        load_settings({name: value})
    message = str(error.value)
    assert name in message
    assert value not in message and KEY not in message


def test_settings_repr_never_shows_the_keys():
    settings = load_settings({"MFA_ENCRYPTION_KEY": KEY, "MFA_PREVIOUS_ENCRYPTION_KEYS": KEY})
    assert KEY not in repr(settings) and KEY not in str(settings)
