"""Upstream signature and origin checks: primary and secondary keys, forged, unsigned, wrong hub."""

from __future__ import annotations

import pytest

from application.realtime.upstream import UpstreamGuard, sign
from shared import errors

PRIMARY, SECONDARY = "primary-key-0123456789", "secondary-key-9876543210"


def _guard(keys=(PRIMARY, SECONDARY), origins=("localhost",)):
    return UpstreamGuard(hub="chat", signature_keys=keys, allowed_origins=origins)


def _verify(guard, signature, *, hub="chat", conn="conn-1", origin="localhost"):
    guard.verify(hub=hub, connection_id=conn, signature_header=signature, origin=origin)


@pytest.mark.parametrize("key", [PRIMARY, SECONDARY])
def test_a_signature_with_either_key_is_accepted(key):
    _verify(_guard(), sign(key, "conn-1"))


def test_the_service_sends_one_value_per_key_and_any_may_match():
    _verify(_guard(keys=(SECONDARY,)), f"{sign(PRIMARY, 'conn-1')},{sign(SECONDARY, 'conn-1')}")
    _verify(_guard(keys=(PRIMARY,)), f"sha256=00ff, {sign(PRIMARY, 'conn-1')}")


def test_hex_case_does_not_matter():
    _verify(_guard(), "sha256=" + sign(PRIMARY, "conn-1").split("=", 1)[1].upper())


def test_the_hmac_is_of_the_connection_id_with_the_utf8_key():
    import hashlib
    import hmac

    expected = hmac.new(PRIMARY.encode(), b"conn-1", hashlib.sha256).hexdigest()
    assert sign(PRIMARY, "conn-1") == f"sha256={expected}"


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "",
        "sha256=",
        "sha256=" + "0" * 64,
        sign("another-key", "conn-1"),
        sign(PRIMARY, "conn-2"),  # replayed from another connection
        "sha1=" + sign(PRIMARY, "conn-1").split("=", 1)[1],
        sign(PRIMARY, "conn-1").split("=", 1)[1],  # no algorithm
        "sha256=é" + "0" * 63,  # non-ASCII must not crash the comparison
        "sha256=" + "a" * 3000,
    ],
)
def test_forged_or_unsigned_events_are_refused(signature):
    with pytest.raises(errors.Unauthenticated):
        _verify(_guard(), signature)


def test_an_event_for_another_hub_is_refused_even_when_signed():
    with pytest.raises(errors.InvalidInput):
        _verify(_guard(), sign(PRIMARY, "conn-1"), hub="other")
    _verify(_guard(), sign(PRIMARY, "conn-1"), hub="CHAT")  # hubs compare case-insensitively


@pytest.mark.parametrize("origin", [None, "", "evil.example", "localhost.evil.example"])
def test_an_event_from_another_origin_is_refused(origin):
    with pytest.raises(errors.Unauthenticated):
        _verify(_guard(), sign(PRIMARY, "conn-1"), origin=origin)


def test_abuse_protection_accepts_only_listed_hosts():
    guard = _guard(origins=("tagarela.webpubsub.azure.com",))
    assert guard.allowed_origin("Tagarela.WebPubSub.Azure.com")
    assert not guard.allowed_origin("localhost")
    assert not guard.allowed_origin(None)
    assert _guard(origins=("*",)).allowed_origin("anything")


def test_a_guard_without_keys_cannot_be_built():
    with pytest.raises(ValueError):
        UpstreamGuard(hub="chat", signature_keys=(), allowed_origins=("localhost",))
