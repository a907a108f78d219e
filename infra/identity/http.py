"""The two HTTP calls OIDC needs (GET JSON, POST a form), with the standard library.

Errors never carry the response body or the request's form (they hold codes, secrets and tokens):
the caller gets ``ProviderUnreachable`` (a 503: retry later) or ``ProviderRejected`` (the provider
answered 4xx, e.g. a spent authorization code).
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode

from shared.errors import Unavailable

log = logging.getLogger("tagarela.identity")
MAX_RESPONSE_BYTES = 1024 * 1024


class ProviderUnreachable(Unavailable):
    code = "provider_unavailable"


class ProviderRejected(Exception):
    """The provider answered 4xx; ``error`` is its OAuth error code (safe to log), if any."""

    def __init__(self, status: int, error: str | None) -> None:
        super().__init__(f"the provider answered {status} ({error or 'no error code'})")
        self.status = status
        self.error = error


def _read_json(request: urllib.request.Request, timeout: float) -> Any:
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (http(s) URLs from settings/discovery)
            body = response.read(MAX_RESPONSE_BYTES + 1)
    except urllib.error.HTTPError as error:
        oauth_error = None
        if 400 <= error.code < 500:
            try:
                oauth_error = str(json.loads(error.read(65536)).get("error"))[:64]
            except Exception:
                oauth_error = None
            raise ProviderRejected(error.code, oauth_error) from None
        log.warning("identity provider %s answered %s", request.host, error.code)
        raise ProviderUnreachable("The sign-in provider is unavailable right now; please retry.") from None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        log.warning("identity provider %s unreachable: %s", request.host, type(error).__name__)
        raise ProviderUnreachable("The sign-in provider is unavailable right now; please retry.") from None
    if len(body) > MAX_RESPONSE_BYTES:
        raise ProviderUnreachable("The sign-in provider sent an oversized answer.")
    try:
        return json.loads(body)
    except ValueError:
        raise ProviderUnreachable("The sign-in provider sent an unreadable answer.") from None


def get_json(url: str, *, timeout: float) -> Any:
    return _read_json(urllib.request.Request(url, headers={"Accept": "application/json"}), timeout)  # noqa: S310


def post_form(url: str, form: dict[str, str], *, timeout: float) -> Any:
    request = urllib.request.Request(  # noqa: S310
        url,
        data=urlencode(form).encode(),
        method="POST",
        headers={"Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded"},
    )
    return _read_json(request, timeout)
