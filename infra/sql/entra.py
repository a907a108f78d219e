"""Microsoft Entra ID (Azure AD) token authentication for Azure SQL through pyodbc.

The ODBC driver accepts an access token through the pre-connect attribute
``SQL_COPT_SS_ACCESS_TOKEN`` (1256) as a length-prefixed UTF-16-LE buffer; the connection string
must then carry no user, password or ``Trusted_Connection``. Tokens live about an hour, so the
provider caches one and fetches a new one a few minutes before it expires: pooled connections
that are re-opened later always get a valid token, and a burst of connects costs one token call.
"""

from __future__ import annotations

import re
import struct
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

SQL_COPT_SS_ACCESS_TOKEN = 1256
AZURE_SQL_SCOPE = "https://database.windows.net/.default"
REFRESH_MARGIN_SECONDS = 300

_CREDENTIAL_KEYS = re.compile(r"(?i)^(uid|pwd|user id|password|trusted_connection|authentication)$")


class AccessTokenLike(Protocol):
    token: str
    expires_on: int


class TokenCredentialLike(Protocol):
    def get_token(self, *scopes: str) -> Any: ...


def pack_access_token(token: str) -> bytes:
    """The layout msodbcsql expects: 4-byte little-endian byte length, then the UTF-16-LE token."""
    raw = token.encode("utf-16-le")
    return struct.pack(f"<I{len(raw)}s", len(raw), raw)


def _default_credential() -> TokenCredentialLike:
    # Imported here: azure.identity costs import time and is only needed on Azure SQL.
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential()


class EntraTokenProvider:
    """Caches one token per process and refreshes it ``refresh_margin`` seconds before expiry."""

    def __init__(
        self,
        credential_factory: Callable[[], TokenCredentialLike] = _default_credential,
        *,
        scope: str = AZURE_SQL_SCOPE,
        refresh_margin: float = REFRESH_MARGIN_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._credential_factory = credential_factory
        self._credential: TokenCredentialLike | None = None
        self._scope = scope
        self._refresh_margin = refresh_margin
        self._clock = clock
        self._token: str | None = None
        self._expires_on = 0.0
        self._lock = threading.Lock()

    def token(self) -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._expires_on - self._refresh_margin:
                if self._credential is None:
                    self._credential = self._credential_factory()
                access = self._credential.get_token(self._scope)
                self._token, self._expires_on = access.token, float(access.expires_on)
            return self._token


def strip_credentials(odbc_connection_string: str) -> str:
    """Remove UID/PWD/Trusted_Connection/Authentication: the driver rejects them next to a token."""
    parts = [p for p in odbc_connection_string.split(";") if p]
    kept = [p for p in parts if not _CREDENTIAL_KEYS.match(p.split("=", 1)[0].strip())]
    return ";".join(kept)


class EntraConnectHook:
    """A ``do_connect`` listener: rewrites the pyodbc connect arguments to use an Entra token."""

    def __init__(self, provider: EntraTokenProvider) -> None:
        self._provider = provider

    def __call__(self, dialect: Any, conn_rec: Any, cargs: list[Any], cparams: dict[str, Any]) -> None:
        if cargs and isinstance(cargs[0], str):
            cargs[0] = strip_credentials(cargs[0])
        for key in ("user", "password", "uid", "pwd"):
            cparams.pop(key, None)
        attrs = dict(cparams.get("attrs_before") or {})
        attrs[SQL_COPT_SS_ACCESS_TOKEN] = pack_access_token(self._provider.token())
        cparams["attrs_before"] = attrs
