"""Logging configuration: one line per record, always with the request id.

On Azure the Functions host collects whatever the worker logs; locally devhost prints it. The
filter is attached to the root handlers so third-party loggers get the request id too.
"""

from __future__ import annotations

import logging

from shared.request_context import RequestIdFilter

_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
# The Azure SDKs log every HTTP request and response at INFO: noise that also costs CPU.
_QUIET_LOGGERS = ("azure", "azure.core.pipeline.policies.http_logging_policy", "azure.identity")


def configure_logging(level: str = "INFO") -> None:
    root = logging.getLogger()
    root.setLevel(level.upper())
    if not root.handlers:
        console = logging.StreamHandler()
        console.setFormatter(logging.Formatter(_FORMAT))
        root.addHandler(console)
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    for handler in root.handlers:
        if not any(isinstance(f, RequestIdFilter) for f in handler.filters):
            handler.addFilter(RequestIdFilter())
