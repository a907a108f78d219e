"""Group permissions from roles (token ``role`` claim, connect response ``roles``, REST grants).

``webpubsub.joinLeaveGroup`` / ``webpubsub.sendToGroup`` allow every group; ``….<group>`` one group;
``webpubsub.joinLeaveGroups.<pattern>`` / ``webpubsub.sendToGroups.<pattern>`` a wildcard pattern
where ``*`` stays within one dot-separated segment, ``**`` crosses segments and ``?`` is one character.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

JOIN_LEAVE = "joinLeaveGroup"
SEND = "sendToGroup"
PERMISSIONS = (JOIN_LEAVE, SEND)


@lru_cache(maxsize=256)
def _pattern(glob: str) -> re.Pattern[str]:
    out: list[str] = []
    i = 0
    while i < len(glob):
        if glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif glob[i] == "*":
            out.append("[^.]*")
            i += 1
        elif glob[i] == "?":
            out.append(".")
            i += 1
        else:
            out.append(re.escape(glob[i]))
            i += 1
    return re.compile("".join(out), re.DOTALL)


def role_name(permission: str, group: str | None) -> str:
    return f"webpubsub.{permission}" if group is None else f"webpubsub.{permission}.{group}"


def allowed(roles: Iterable[str], permission: str, group: str) -> bool:
    """Whether ``roles`` grant ``permission`` (joinLeaveGroup or sendToGroup) on ``group``."""
    exact_all = f"webpubsub.{permission}"
    exact_one = f"webpubsub.{permission}.{group}"
    wildcard_prefix = f"webpubsub.{permission}s."
    for role in roles:
        if role in (exact_all, exact_one):
            return True
        if role.startswith(wildcard_prefix) and _pattern(role[len(wildcard_prefix):]).fullmatch(group):
            return True
    return False
