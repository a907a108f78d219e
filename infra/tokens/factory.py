"""Builds the key ring and the JWT adapter from settings (called lazily by ``bootstrap.py``)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from infra.tokens.access_tokens import DEFAULT_LEEWAY, JwtAccessTokens
from infra.tokens.configured_keys import parse_signing_keys
from infra.tokens.dev_keys import DevKeyDirectory
from infra.tokens.key_ring import KeyRing, KeySource, StaticKeys

if TYPE_CHECKING:
    from shared.settings import Settings


def build_key_ring(settings: Settings) -> KeyRing:
    access_ttl = timedelta(seconds=settings.access_token_ttl_seconds)
    source: KeySource
    if settings.jwt_signing_keys:
        source = StaticKeys(parse_signing_keys(settings.jwt_signing_keys))
    else:
        source = DevKeyDirectory(
            Path(settings.jwt_key_directory),
            rotation_interval=timedelta(days=settings.jwt_dev_key_rotation_days),
            publish_lead=timedelta(seconds=settings.jwt_key_publish_lead_seconds),
            verify_for=access_ttl + DEFAULT_LEEWAY,
        )
    return KeyRing(source, access_ttl=access_ttl, leeway=DEFAULT_LEEWAY)


def build_access_tokens(settings: Settings, ring: KeyRing) -> JwtAccessTokens:
    return JwtAccessTokens(
        ring,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl=timedelta(seconds=settings.access_token_ttl_seconds),
    )
