"""``GET /api/sessions/{session_id}/presence`` (bearer, members only) → 200 ``{"online": [user ids]}``.

400 for a malformed session id; 404 for a session that does not exist or that the caller is not a
member of (the same answer, so ids cannot be probed).
"""

from __future__ import annotations

import uuid

import azure.functions as func

from interface.dependencies import services
from interface.http.auth import require_principal
from interface.http.endpoint import http_endpoint
from interface.http.responses import json_response
from shared.errors import InvalidInput

bp = func.Blueprint()


def _session_id(req: func.HttpRequest) -> uuid.UUID:
    try:
        return uuid.UUID(req.route_params.get("session_id", ""))
    except ValueError:
        raise InvalidInput("The session id is not a valid UUID.", code="invalid_session_id") from None


@bp.route(route="sessions/{session_id}/presence", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
def session_presence(req: func.HttpRequest) -> func.HttpResponse:
    principal = require_principal(req)
    online = services().get_session_presence(principal.user_id, _session_id(req))
    return json_response({"online": [str(user_id) for user_id in online]}, headers={"Cache-Control": "no-store"})
