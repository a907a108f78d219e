"""``GET /api/me`` (bearer): who I am, which accounts I sign in with, and this session.

200 ``{"user": {...}, "identities": [{"provider", "email", "linked_at", "last_login_at"}],
"session": {"id", "amr", "created_at", "last_seen_at", "expires_at"}, "two_factor": {"enabled"}}``
(``two_factor`` only when the MFA area is wired in); 401 + ``WWW-Authenticate: Bearer`` otherwise.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import azure.functions as func

from application.identity.me import MeView
from interface.dependencies import services
from interface.http.auth import require_principal
from interface.http.auth_responses import NO_STORE, user_json
from interface.http.endpoint import http_endpoint
from interface.http.responses import json_response

bp = func.Blueprint()


def _instant(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def me_json(view: MeView) -> dict[str, Any]:
    body: dict[str, Any] = {
        "user": user_json(view.user),
        "identities": [
            {
                "provider": identity.provider,
                "email": identity.email,
                "linked_at": _instant(identity.created_at),
                "last_login_at": _instant(identity.last_login_at),
            }
            for identity in view.identities
        ],
        "session": {
            "id": str(view.session.id),
            "amr": list(view.session.amr),
            "created_at": _instant(view.session.created_at),
            "last_seen_at": _instant(view.session.last_seen_at),
            "expires_at": _instant(view.session.expires_at),
        },
    }
    if view.two_factor_enabled is not None:
        body["two_factor"] = {"enabled": view.two_factor_enabled}
    return body


@bp.route(route="me", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
def me(req: func.HttpRequest) -> func.HttpResponse:
    view = services().get_me(require_principal(req))
    return json_response(me_json(view), headers=NO_STORE)
