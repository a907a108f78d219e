"""The parts of ``host.json`` the functions host honours.

Only a few settings are read: the route prefix (an empty string is valid and means "no prefix",
as on Azure), the Durable task hub name and ``maxConcurrentActivityFunctions``. Everything else
in ``host.json`` (logging, timeouts, HTTP throttling) belongs to the real host and is ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_ROUTE_PREFIX = "api"
DEFAULT_TASK_HUB = "TestHubName"  # the Durable extension's default hub name


@dataclass(frozen=True)
class HostJson:
    route_prefix: str = DEFAULT_ROUTE_PREFIX
    task_hub: str = DEFAULT_TASK_HUB
    max_concurrent_activities: int = 10  # durableTask.maxConcurrentActivityFunctions
    raw: dict[str, Any] | None = None

    @classmethod
    def load(cls, path: str | Path = "host.json") -> HostJson:
        """Read ``host.json``; a missing file gives the host's defaults, a broken one raises."""
        file = Path(path)
        if not file.is_file():
            return cls()
        data = json.loads(file.read_text(encoding="utf-8-sig"))
        extensions = data.get("extensions") or {}
        http = extensions.get("http") or {}
        prefix = http.get("routePrefix", DEFAULT_ROUTE_PREFIX)
        if prefix is None:
            prefix = DEFAULT_ROUTE_PREFIX
        durable = extensions.get("durableTask") or {}
        hub = durable.get("hubName") or DEFAULT_TASK_HUB
        activities = int(durable.get("maxConcurrentActivityFunctions") or 10)
        return cls(route_prefix=str(prefix).strip("/"), task_hub=str(hub), max_concurrent_activities=activities,
                   raw=data)
