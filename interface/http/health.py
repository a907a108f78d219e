"""``GET /api/health``: dependency health for load balancers, probes and people.

200 ``{"status": "ok", "checks": {...}}`` when every dependency answers; 503 with
``"status": "unavailable"`` and the failing checks named otherwise. Anonymous by design.
"""

from __future__ import annotations

import azure.functions as func

from interface.dependencies import services
from interface.http.endpoint import http_endpoint
from interface.http.responses import json_response

bp = func.Blueprint()


@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
def health(req: func.HttpRequest) -> func.HttpResponse:
    report = services().check_health()
    if report.healthy:
        return json_response({"status": "ok", "checks": report.checks})
    return json_response(
        {"status": "unavailable", "checks": report.checks, "failing": report.failing},
        status=503,
        headers={"Retry-After": "5", "Cache-Control": "no-store"},
    )
