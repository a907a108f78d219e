"""Web PubSub settings: local defaults, identity mode, production refusals."""

from __future__ import annotations

import pytest

from shared.settings import SettingsError, load_settings


def test_local_defaults_reach_the_emulator_and_verify_with_its_key():
    s = load_settings({})
    assert s.webpubsub_target_endpoint == "http://localhost:8080"
    assert s.webpubsub_hub == "chat"
    assert len(s.webpubsub_signature_key_list[0]) == 44
    assert s.webpubsub_allowed_origin_hosts == ("localhost",)
    assert "AccessKey" not in repr(s)


def test_identity_mode_wins_and_takes_its_signature_keys_and_origins():
    s = load_settings({"WEBPUBSUB_ENDPOINT": "https://tagarela.webpubsub.azure.com/",
                       "WEBPUBSUB_SIGNATURE_KEYS": "k1, k2"})
    assert s.webpubsub_target_endpoint == "https://tagarela.webpubsub.azure.com"
    assert s.webpubsub_signature_key_list == ("k1", "k2")
    assert s.webpubsub_allowed_origin_hosts == ("tagarela.webpubsub.azure.com",)


@pytest.mark.parametrize(
    "env",
    [
        {"WebPubSubConnectionString": "nonsense"},
        {"WEBPUBSUB_HUB": "1bad hub"},
        {"WEBPUBSUB_CLIENT_TOKEN_MINUTES": "0"},
        {"WEBPUBSUB_CLIENT_TOKEN_MINUTES": "240"},
        {"WEBPUBSUB_ENDPOINT": "ftp://x"},
    ],
)
def test_malformed_values_are_refused(env):
    with pytest.raises(SettingsError):
        load_settings(env)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({}, "WEBPUBSUB_ENDPOINT"),  # the local emulator
        ({"WEBPUBSUB_ENDPOINT": "http://tagarela.webpubsub.azure.com"}, "WEBPUBSUB_ENDPOINT"),
        ({"WEBPUBSUB_ENDPOINT": "https://127.0.0.1"}, "WEBPUBSUB_ENDPOINT"),
        ({"WEBPUBSUB_ENDPOINT": "https://tagarela.webpubsub.azure.com"}, "WEBPUBSUB_SIGNATURE_KEYS"),
    ],
)
def test_production_refuses_local_or_unverifiable_web_pubsub(env, named):
    with pytest.raises(SettingsError, match=named):
        load_settings({"APP_ENVIRONMENT": "production", **env})


def test_production_accepts_an_https_connection_string():
    from shared.settings import _webpubsub_production_problems

    s = load_settings({"WebPubSubConnectionString": "Endpoint=https://t.webpubsub.azure.com;AccessKey=abc;Version=1.0;"})
    assert _webpubsub_production_problems(s) == []
