"""Entra token authentication for Azure SQL, with a fake credential (no Azure, no driver)."""

from __future__ import annotations

import struct
from dataclasses import dataclass

import pytest

from infra.sql.engine import create_engine_for
from infra.sql.entra import (
    AZURE_SQL_SCOPE,
    SQL_COPT_SS_ACCESS_TOKEN,
    EntraTokenProvider,
    pack_access_token,
    strip_credentials,
)
from tests.unit.sql.mssql import AZURE_SQL_URL


@dataclass
class FakeToken:
    token: str
    expires_on: int


class ConnectAttempted(Exception):
    pass


class FakeCredential:
    def __init__(self, lifetime: int = 3600) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.lifetime = lifetime
        self.now = 1_000_000

    def get_token(self, *scopes: str) -> FakeToken:
        self.calls.append(scopes)
        return FakeToken(token=f"token-{len(self.calls)}", expires_on=self.now + self.lifetime)


def test_pack_access_token_is_length_prefixed_utf16le() -> None:
    packed = pack_access_token("abc")
    assert packed == struct.pack("<I", 6) + "abc".encode("utf-16-le")
    (length,) = struct.unpack_from("<I", packed)
    assert packed[4:].decode("utf-16-le") == "abc"
    assert length == len(packed) - 4


def test_provider_caches_and_refreshes_before_expiry() -> None:
    credential = FakeCredential(lifetime=3600)
    clock = {"now": float(credential.now)}
    created = []

    def factory() -> FakeCredential:
        created.append(1)
        return credential

    provider = EntraTokenProvider(factory, refresh_margin=300, clock=lambda: clock["now"])
    assert created == []  # the credential is built lazily, on the first connect
    assert provider.token() == "token-1"
    clock["now"] += 3000  # 10 minutes before expiry: still cached
    assert provider.token() == "token-1"
    clock["now"] += 301  # inside the refresh margin
    assert provider.token() == "token-2"
    assert created == [1]
    assert credential.calls == [(AZURE_SQL_SCOPE,), (AZURE_SQL_SCOPE,)]


def test_strip_credentials_removes_user_password_and_trusted_connection() -> None:
    cleaned = strip_credentials(
        "DRIVER={ODBC Driver 18 for SQL Server};Server=s;Database=d;"
        "UID=me;PWD=secret;Trusted_Connection=Yes;Encrypt=yes"
    )
    assert cleaned == "DRIVER={ODBC Driver 18 for SQL Server};Server=s;Database=d;Encrypt=yes"


@pytest.mark.parametrize(
    "url",
    [AZURE_SQL_URL, AZURE_SQL_URL.replace("mssql+pyodbc://@", "mssql+pyodbc://someone:secret@")],
)
def test_engine_with_entra_auth_connects_with_a_token(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    credential = FakeCredential()
    provider = EntraTokenProvider(lambda: credential, clock=lambda: float(credential.now))
    engine = create_engine_for(url, entra_auth=True, entra_token_provider=provider)

    captured: dict[str, object] = {}

    def fake_pyodbc_connect(*args: object, **kwargs: object) -> None:
        captured.update(args=args, kwargs=kwargs)
        raise ConnectAttempted

    monkeypatch.setattr(engine.dialect.loaded_dbapi, "connect", fake_pyodbc_connect)
    with pytest.raises(ConnectAttempted):
        engine.connect()

    connection_string = captured["args"][0]  # type: ignore[index]
    cparams = captured["kwargs"]
    assert "Server=server.database.windows.net" in connection_string
    assert "Encrypt=yes" in connection_string
    for forbidden in ("Trusted_Connection", "UID=", "PWD=", "secret"):
        assert forbidden not in connection_string
    assert cparams["attrs_before"] == {SQL_COPT_SS_ACCESS_TOKEN: pack_access_token("token-1")}  # type: ignore[index]
    assert engine.dialect.deprecate_large_types is True
    assert engine.pool.size() == 5


def test_engine_without_entra_auth_sends_no_token(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = create_engine_for(AZURE_SQL_URL)
    captured: dict[str, object] = {}

    def fake_pyodbc_connect(*args: object, **kwargs: object) -> None:
        captured.update(args=args, kwargs=kwargs)
        raise ConnectAttempted

    monkeypatch.setattr(engine.dialect.loaded_dbapi, "connect", fake_pyodbc_connect)
    with pytest.raises(ConnectAttempted):
        engine.connect()
    assert "attrs_before" not in captured["kwargs"]  # type: ignore[operator]


def test_entra_auth_is_refused_for_other_dialects() -> None:
    with pytest.raises(ValueError, match="Azure SQL"):
        create_engine_for("postgresql+psycopg://postgres@127.0.0.1/test", entra_auth=True)


def test_default_credential_is_not_built_when_the_engine_is_created(monkeypatch: pytest.MonkeyPatch) -> None:
    import infra.sql.entra as entra

    def explode() -> None:
        raise AssertionError("credential created eagerly")

    monkeypatch.setattr(entra, "_default_credential", explode)
    monkeypatch.setattr(EntraTokenProvider.__init__, "__defaults__", (explode,))
    create_engine_for(AZURE_SQL_URL, entra_auth=True)
