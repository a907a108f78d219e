"""Name rules the service enforces (REST ``routes.tsp``; the official emulator's name validator)."""

from __future__ import annotations

import re

_HUB = re.compile(r"[A-Za-z][A-Za-z0-9_`,.\[\]]{0,127}")
_EVENT = re.compile(r"[a-z][a-z0-9_.\-]{0,127}", re.IGNORECASE)
MAX_GROUP_LENGTH = 1024


def valid_hub(name: str) -> bool:
    return bool(_HUB.fullmatch(name))


def valid_group(name: object) -> bool:
    return isinstance(name, str) and 0 < len(name) <= MAX_GROUP_LENGTH and not name.isspace()


def valid_event(name: object) -> bool:
    return isinstance(name, str) and bool(_EVENT.fullmatch(name))
