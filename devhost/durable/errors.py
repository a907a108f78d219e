"""Errors the engine reports to its callers (the management API maps them to HTTP codes)."""

from __future__ import annotations


class DurableHostError(Exception):
    pass


class UnknownOrchestratorError(DurableHostError, ValueError):
    """Starting a function that is not an orchestrator (the extension answers 400)."""


class InstanceAlreadyExistsError(DurableHostError):
    """An instance with this id exists and is not finished (the extension answers 409)."""


class InstanceNotFoundError(DurableHostError, KeyError):
    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class InstanceGoneError(DurableHostError):
    """The instance already finished (the extension answers 410)."""


class InstanceNotFinishedError(DurableHostError):
    """Purging a running instance (the extension answers 412)."""


NOT_SUPPORTED = "not supported by devhost"


def unknown_function_message(name: str, kind: str, known: list[str]) -> str:
    """The extension's wording (``GetInvalid{Orchestrator,Activity}FunctionMessage``)."""
    message = f"The function '{name}' doesn't exist, is disabled, or is not an {kind} function. Additional info: "
    if known:
        return message + f"The following are the known {kind} functions: '" + "', '".join(known) + "'."
    return message + f"No {kind} functions are currently registered!"
