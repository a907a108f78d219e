"""Message search endpoint (bearer).

``GET /api/messages/search?q=...&session=&sender=&sender_kind=&after=&before=&has_attachments=&language=
&sentiment=&sort=relevance|date&cursor=&limit=`` → 200 ``{"results": [{"message": <message>, "session":
{"id", "title"}, "snippet": "...<mark>match</mark>...", "rank"?}], "next_cursor": str | null}``.

Only the caller's sessions are searched; deleted messages never appear. ``q`` understands
``"exact phrase"``, ``-excluded``, ``prefix*``, ``from:<user id|me>``, ``in:<session id>``,
``before:/after:YYYY-MM-DD`` and ``has:file``. Errors: 400 ``invalid_search_query`` /
``query_too_long`` / ``empty_query`` / ``invalid_cursor`` / ``invalid_query`` (a malformed ``limit``).
"""

from __future__ import annotations

import azure.functions as func

from interface.dependencies import services
from interface.http.auth import require_principal
from interface.http.auth_responses import NO_STORE
from interface.http.chat_params import query_int, query_str
from interface.http.endpoint import http_endpoint
from interface.http.responses import json_response

bp = func.Blueprint()

# The use case refuses queries over 512 characters with a clear 400; this only bounds what is read.
_MAX_PARAM = 16 * 1024


@bp.route(route="messages/search", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
def search_messages(req: func.HttpRequest) -> func.HttpResponse:
    from application.chat.search import SearchParams

    principal = require_principal(req)

    def param(name: str) -> str | None:
        return query_str(req, name, max_length=_MAX_PARAM)

    params = SearchParams(
        q=param("q") or "", session=param("session"), sender=param("sender"), sender_kind=param("sender_kind"),
        after=param("after"), before=param("before"), has_attachments=param("has_attachments"),
        language=param("language"), sentiment=param("sentiment"), sort=param("sort"), cursor=param("cursor"),
        limit=query_int(req, "limit"),
    )
    page = services().search_messages(principal.user_id, params)
    return json_response({"results": page.results, "next_cursor": page.next_cursor}, headers=NO_STORE)
