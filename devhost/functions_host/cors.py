"""CORS as ``func start`` applies it from ``Host.CORS`` / ``Host.CORSCredentials`` (or ``--cors``).

Core Tools wires ASP.NET Core's CORS middleware with the listed origins, any header and any
method; the browser client (``web/``) runs on another origin locally and needs it. Like ASP.NET's
policy, a disallowed origin simply gets no CORS headers (the browser then blocks the call), a
preflight is answered with 204 before any function runs, and no response header is exposed to
scripts beyond the CORS-safelisted ones (no ``Access-Control-Expose-Headers``).
On Azure, CORS is configured on the Function App (portal/ARM), not in code.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class CorsPolicy:
    origins: tuple[str, ...]  # "*" means any origin
    allow_credentials: bool = False

    @classmethod
    def parse(cls, value: str | None, allow_credentials: bool = False) -> CorsPolicy | None:
        """``"*"`` or ``"http://a, http://b"``; None/empty means CORS is off."""
        origins = tuple(o.strip().rstrip("/") for o in (value or "").split(",") if o.strip())
        return cls(origins, allow_credentials) if origins else None

    def allows(self, origin: str) -> bool:
        return "*" in self.origins or origin.rstrip("/").lower() in {o.lower() for o in self.origins}

    def _allow_origin_value(self, origin: str) -> str:
        # "*" cannot be combined with credentials, so the origin is echoed then (and always for a list).
        return "*" if "*" in self.origins and not self.allow_credentials else origin

    def _add_origin_headers(self, headers: dict[str, str] | web.StreamResponse, origin: str) -> None:
        target = headers.headers if isinstance(headers, web.StreamResponse) else headers
        value = self._allow_origin_value(origin)
        target["Access-Control-Allow-Origin"] = value
        if value != "*":
            target["Vary"] = "Origin"
        if self.allow_credentials:
            target["Access-Control-Allow-Credentials"] = "true"

    def middleware(self) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
        @web.middleware
        async def cors(request: web.Request, handler: Handler) -> web.StreamResponse:
            origin = request.headers.get("Origin")
            if origin is None:
                return await handler(request)
            requested_method = request.headers.get("Access-Control-Request-Method")
            if request.method == "OPTIONS" and requested_method:
                headers: dict[str, str] = {}
                if self.allows(origin):
                    self._add_origin_headers(headers, origin)
                    headers["Access-Control-Allow-Methods"] = requested_method
                    requested_headers = request.headers.get("Access-Control-Request-Headers")
                    if requested_headers:
                        headers["Access-Control-Allow-Headers"] = requested_headers
                return web.Response(status=204, headers=headers)
            response = await handler(request)
            if self.allows(origin):
                self._add_origin_headers(response, origin)
            return response

        return cors
