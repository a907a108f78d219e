"""Reads the function metadata of a v2-model Functions app, as the Functions host does.

The real host receives this metadata from the Python worker's indexer; devhost calls the same
``FunctionApp.get_functions()`` and sorts the result by trigger type. ``get_functions()`` may
be called only once per app object (a second call raises "does not have a unique function
name"), so the index is built once and shared by the functions host and the durable host.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import azure.functions as func


@dataclass(frozen=True)
class IndexedFunction:
    name: str
    trigger_type: str  # 'httpTrigger', 'orchestrationTrigger', 'activityTrigger', ...
    trigger_arg: str  # the parameter name the trigger binds to
    bindings: tuple[Any, ...]
    user_function: Callable[..., Any]
    raw: Any  # the azure.functions Function object

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.user_function)

    def binding_of_type(self, binding_type: str) -> Any | None:
        return next((b for b in self.bindings if b.type == binding_type), None)


@dataclass(frozen=True)
class HttpFunction(IndexedFunction):
    route: str = ""
    methods: tuple[str, ...] = ()  # upper-case; empty means every method


@dataclass
class FunctionIndex:
    http: list[HttpFunction] = field(default_factory=list)
    orchestrators: dict[str, IndexedFunction] = field(default_factory=dict)
    activities: dict[str, IndexedFunction] = field(default_factory=dict)
    entities: dict[str, IndexedFunction] = field(default_factory=dict)
    others: list[IndexedFunction] = field(default_factory=list)

    @classmethod
    def from_app(cls, app: func.FunctionApp) -> FunctionIndex:
        cached = getattr(app, "_devhost_function_index", None)
        if cached is not None:
            return cached
        index = cls()
        for fn in app.get_functions():
            trigger = fn.get_trigger()
            common: dict[str, Any] = {
                "name": fn.get_function_name(),
                "trigger_type": trigger.get_binding_name(),
                "trigger_arg": trigger.name,
                "bindings": tuple(fn.get_bindings()),
                "user_function": fn.get_user_function(),
                "raw": fn,
            }
            kind = common["trigger_type"]
            if kind == "httpTrigger":
                methods = tuple(str(getattr(m, "value", m)).upper() for m in (trigger.methods or ()))
                route = trigger.route or fn.get_function_name()
                index.http.append(HttpFunction(**common, route=route, methods=methods))
            elif kind == "orchestrationTrigger":
                index.orchestrators[common["name"]] = IndexedFunction(**common)
            elif kind == "activityTrigger":
                index.activities[common["name"]] = IndexedFunction(**common)
            elif kind == "entityTrigger":
                index.entities[common["name"]] = IndexedFunction(**common)
            else:
                index.others.append(IndexedFunction(**common))
        app._devhost_function_index = index
        return index


def load_app(module_name: str = "function_app", attribute: str = "app") -> func.FunctionApp:
    """Import the app module the way the worker does (``function_app.py`` exposing ``app``)."""
    module = importlib.import_module(module_name)
    app = getattr(module, attribute, None)
    if app is None:
        raise RuntimeError(f"{module_name}.py defines no '{attribute}' FunctionApp")
    return app
