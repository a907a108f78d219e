"""What a request tells about its caller: address and user agent.

On Azure the caller's address reaches a function only through ``X-Forwarded-For``, which the
platform's front end appends to as ``ip:port``; entries before the last one are whatever the client
sent and must not be trusted (a client could otherwise pick its own rate-limit bucket). devhost
appends the peer address the same way.
"""

from __future__ import annotations

import ipaddress

import azure.functions as func

from application.identity.results import ClientInfo

_MAX_USER_AGENT = 256


def client_ip(req: func.HttpRequest) -> str | None:
    forwarded = req.headers.get("x-forwarded-for", "")
    last = forwarded.split(",")[-1].strip() if forwarded else ""
    if not last:
        return None
    if last.startswith("["):  # [IPv6]:port
        last = last[1 : last.find("]")]
    elif last.count(":") == 1:  # IPv4:port
        last = last.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(last))
    except ValueError:
        return None


def client_info(req: func.HttpRequest) -> ClientInfo:
    agent = req.headers.get("user-agent")
    return ClientInfo(ip=client_ip(req), user_agent=agent[:_MAX_USER_AGENT] if agent else None)
