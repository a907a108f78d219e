"""``local.settings.json``, read the way Core Tools reads it for ``func start``.

App settings are environment variables on Azure, and Core Tools makes local runs look the same by
copying the ``Values`` of ``local.settings.json`` into the environment before the worker starts.
devhost does the same, with one addition: when there is no ``local.settings.json`` it falls back
to ``local.settings.json.example`` (committed, with safe local values), so a fresh clone runs with
no hand-made configuration.

Precedence, as in Core Tools: a variable that is already set in the environment wins over the
file (Core Tools logs "Skipping '<name>' from local settings as it's already defined in current
environment variables"). So ``AzureWebJobsStorage=... python -m devhost`` overrides the file.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("devhost.settings")

SETTINGS_FILE = "local.settings.json"
EXAMPLE_FILE = "local.settings.json.example"


class LocalSettingsError(ValueError):
    """The settings file exists but cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class LocalSettings:
    """The parts of ``local.settings.json`` devhost uses."""

    path: Path | None = None
    values: dict[str, str] = field(default_factory=dict)
    local_http_port: int | None = None  # Host.LocalHttpPort
    cors: str | None = None  # Host.CORS: "*" or a comma-separated list of origins
    cors_credentials: bool = False  # Host.CORSCredentials
    connection_strings: dict[str, str] = field(default_factory=dict)

    @classmethod
    def find(cls, directory: str | Path = ".") -> LocalSettings:
        """``local.settings.json`` if present, else the example file, else empty settings."""
        base = Path(directory)
        for name in (SETTINGS_FILE, EXAMPLE_FILE):
            candidate = base / name
            if candidate.is_file():
                return cls.load(candidate)
        return cls()

    @classmethod
    def load(cls, path: str | Path) -> LocalSettings:
        file = Path(path)
        try:
            data = json.loads(file.read_text(encoding="utf-8-sig"))
        except json.JSONDecodeError as exc:
            raise LocalSettingsError(f"{file}: not valid JSON ({exc})") from exc
        if not isinstance(data, dict):
            raise LocalSettingsError(f"{file}: the top level must be a JSON object")
        if data.get("IsEncrypted") is True:
            raise LocalSettingsError(f"{file}: IsEncrypted is true; devhost cannot decrypt Core Tools' "
                                     "machine-key encryption (run `func settings decrypt` first)")
        host = data.get("Host") or {}
        port = host.get("LocalHttpPort")
        return cls(
            path=file,
            values=_string_map(file, "Values", data.get("Values") or {}),
            local_http_port=int(port) if port not in (None, "") else None,
            cors=host.get("CORS"),
            cors_credentials=str(host.get("CORSCredentials", "false")).lower() == "true",
            connection_strings=_string_map(file, "ConnectionStrings", data.get("ConnectionStrings") or {}),
        )

    def apply_to(self, environ: MutableMapping[str, str] | None = None) -> list[str]:
        """Copy ``Values`` into the environment, never overwriting; returns the names it set."""
        env = os.environ if environ is None else environ
        applied: list[str] = []
        for name, value in self.values.items():
            if name in env:
                log.info("Skipping '%s' from local settings as it's already defined in the environment", name)
                continue
            env[name] = value
            applied.append(name)
        return applied


def _string_map(file: Path, section: str, raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise LocalSettingsError(f"{file}: '{section}' must be an object")
    result: dict[str, str] = {}
    for key, value in raw.items():
        if isinstance(value, (dict, list)):
            raise LocalSettingsError(f"{file}: {section}.{key} must be a string, not a JSON {type(value).__name__}")
        if value is None:
            continue
        result[str(key)] = str(value).lower() if isinstance(value, bool) else str(value)
    return result
