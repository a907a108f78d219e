"""``POST /api/negotiate`` (bearer) → 200 ``{"url": <wss client access URL>, "expires_in": seconds}``.

The URL's token names the caller as its Web PubSub user and grants no roles or groups; the
event handler puts the connection into its sessions' groups on ``connected``. 401 without a
valid access token, 429 past the per-address limit, 503 when Web PubSub cannot be reached.
"""

from __future__ import annotations

import azure.functions as func

from interface.dependencies import services
from interface.http.auth import require_principal
from interface.http.endpoint import http_endpoint
from interface.http.rate_limit import rate_limited
from interface.http.responses import json_response

bp = func.Blueprint()


@bp.route(route="negotiate", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
@rate_limited("negotiate")
def negotiate(req: func.HttpRequest) -> func.HttpResponse:
    principal = require_principal(req)
    access = services().negotiate(principal.user_id)
    return json_response(
        {"url": access.url, "expires_in": access.expires_in_seconds}, headers={"Cache-Control": "no-store"}
    )
