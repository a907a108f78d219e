"""devhost's functions host: the HTTP half of the Azure Functions host, served with aiohttp.

Public API: ``FunctionsHost`` (start/stop or ``async with``), ``FunctionsHostSettings``,
``HostJson`` (the ``host.json`` values it honours), ``CorsPolicy`` and ``RouteTable``/``RouteTemplate`` for
ASP.NET route templates.
"""

from .cors import CorsPolicy
from .host_config import HostJson
from .routing import RouteTable, RouteTemplate, RouteTemplateError
from .server import DEFAULT_MAX_REQUEST_BODY_BYTES, FunctionsHost, FunctionsHostSettings, FunctionUrl, free_port

__all__ = [
    "DEFAULT_MAX_REQUEST_BODY_BYTES",
    "CorsPolicy",
    "FunctionUrl",
    "FunctionsHost",
    "FunctionsHostSettings",
    "HostJson",
    "RouteTable",
    "RouteTemplate",
    "RouteTemplateError",
    "free_port",
]
