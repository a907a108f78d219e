"""Per-IP abuse limits on the auth endpoints, counted in SQL so they hold across instances.

Wear it under ``@http_endpoint`` (so ``RateLimited`` becomes a 429 with ``Retry-After``)::

    @bp.route(route="auth/refresh", methods=["POST"])
    @http_endpoint
    @rate_limited("refresh")
    def refresh(req): ...

Per-account limits (attempts per user, per session) are business rules and live in the use cases;
this decorator only knows the caller's address.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar, cast

import azure.functions as func

from interface.dependencies import services
from interface.http.client_info import client_ip

F = TypeVar("F", bound=Callable[..., Any])

# scope -> (attempts, window in seconds) per client address. Generous enough for a family behind
# one NAT, tight enough to make online guessing pointless.
IP_LIMITS: dict[str, tuple[int, int]] = {
    "providers": (120, 60),
    "login": (30, 60),
    "callback": (30, 60),
    "token": (30, 60),
    "refresh": (60, 60),
    "logout": (60, 60),
    "mfa": (20, 60),
    "mfa_setup": (20, 60),
    "negotiate": (60, 60),
}


def _request_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> func.HttpRequest | None:
    return next((v for v in (*args, *kwargs.values()) if isinstance(v, func.HttpRequest)), None)


def _check(scope: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    req = _request_of(args, kwargs)
    if req is None:
        return
    limit, window = IP_LIMITS[scope]
    services().rate_limiter.hit(f"ip:{scope}:{client_ip(req) or 'unknown'}", limit=limit, window_seconds=window)


def rate_limited(scope: str) -> Callable[[F], F]:
    if scope not in IP_LIMITS:
        raise ValueError(f"no rate limit declared for scope {scope!r}")

    def decorate(handler: F) -> F:
        if inspect.iscoroutinefunction(handler):

            @functools.wraps(handler)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                _check(scope, args, kwargs)
                return await handler(*args, **kwargs)

            return cast(F, async_wrapper)

        @functools.wraps(handler)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            _check(scope, args, kwargs)
            return handler(*args, **kwargs)

        return cast(F, wrapper)

    return decorate
