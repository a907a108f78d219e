"""Calling a user function the way the Python worker calls it.

The worker binds arguments by parameter name: the trigger's binding name gets the request, a
parameter called ``context`` gets a ``func.Context``, and a ``durableClient`` binding gets the
JSON string the Durable extension would send (the SDK's own middleware then turns it into a
real ``DurableOrchestrationClient``). Async functions run on the event loop; sync ones run in a
thread pool, like the worker's sync thread pool (``PYTHON_THREADPOOL_THREAD_COUNT``), so a
blocking function does not stall other requests.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import os
import secrets
import threading
import uuid
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

import azure.functions as func
from azure.functions import _abc as func_abc

from devhost.function_index import HttpFunction


class DurableClientProvider(Protocol):
    """What the functions host needs from the durable host (``devhost.durable.DurableHost``)."""

    def client_binding_json(self, base_url: str) -> str: ...


class BindingNotAvailable(RuntimeError):
    """The function asks for a binding devhost cannot supply; the message says which and why."""


class _TraceContext(func_abc.TraceContext):
    def __init__(self, trace_parent: str, trace_state: str) -> None:
        self._parent, self._state = trace_parent, trace_state

    @property
    def trace_parent(self) -> str:
        return self._parent

    @property
    def trace_state(self) -> str:
        return self._state

    @property
    def attributes(self) -> dict[str, str]:
        return {}


class _RetryContext(func_abc.RetryContext):
    """HTTP triggers have no retry policy; the worker reports zeros, so do we."""

    @property
    def retry_count(self) -> int:
        return 0

    @property
    def max_retry_count(self) -> int:
        return 0

    @property
    def exception(self) -> Any:
        return None


class InvocationContext(func.Context):
    """A concrete ``func.Context`` with what the worker fills in for an HTTP invocation."""

    _thread_local = threading.local()

    def __init__(self, function_name: str, function_directory: str, trace_parent: str | None = None,
                 trace_state: str = "") -> None:
        self._invocation_id = str(uuid.uuid4())
        self._function_name = function_name
        self._function_directory = function_directory
        self._trace = _TraceContext(trace_parent or new_trace_parent(), trace_state)

    @property
    def invocation_id(self) -> str:
        return self._invocation_id

    @property
    def thread_local_storage(self) -> Any:
        return self._thread_local

    @property
    def function_name(self) -> str:
        return self._function_name

    @property
    def function_directory(self) -> str:
        return self._function_directory

    @property
    def trace_context(self) -> func_abc.TraceContext:
        return self._trace

    @property
    def retry_context(self) -> func_abc.RetryContext:
        return _RetryContext()


def new_trace_parent() -> str:
    """A fresh W3C ``traceparent`` for requests that arrive without one."""
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


@functools.cache
def _parameters(user_function: Any) -> tuple[tuple[str, inspect.Parameter], ...]:
    """A function's parameters, read once (``inspect.signature`` on every request was measurable)."""
    return tuple(inspect.signature(user_function).parameters.items())


class FunctionInvoker:
    """Builds a function's arguments and runs it; owns the sync thread pool."""

    def __init__(self, *, durable: DurableClientProvider | None = None, sync_threads: int | None = None,
                 function_directory: str | None = None) -> None:
        self.durable = durable
        self.function_directory = function_directory or os.getcwd()
        self.executor = ThreadPoolExecutor(max_workers=sync_threads, thread_name_prefix="devhost-sync")

    def arguments(self, fn: HttpFunction, request: func.HttpRequest, context: InvocationContext,
                  base_url: str) -> dict[str, Any]:
        """Arguments by parameter name, as the worker binds them."""
        bindings: Mapping[str, Any] = {getattr(b, "name", None): b for b in fn.bindings}
        kwargs: dict[str, Any] = {}
        for name, param in _parameters(fn.user_function):
            if name == fn.trigger_arg:
                kwargs[name] = request
            elif name in bindings:
                kwargs[name] = self._bound_value(fn, bindings[name], base_url)
            elif name == "context":
                kwargs[name] = context
            elif param.default is inspect.Parameter.empty and param.kind not in (
                inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD
            ):
                raise BindingNotAvailable(f"function {fn.name}: parameter '{name}' has no binding; the worker "
                                          "would refuse to load this function")
        return kwargs

    def _bound_value(self, fn: HttpFunction, binding: Any, base_url: str) -> Any:
        binding_type = getattr(binding, "type", "?")
        if binding_type == "durableClient":
            if self.durable is None:
                raise BindingNotAvailable(f"function {fn.name} has a durableClient binding but devhost runs "
                                          "without a durable host")
            return self.durable.client_binding_json(base_url)
        raise BindingNotAvailable(f"function {fn.name}: devhost does not emulate '{binding_type}' bindings "
                                  f"(parameter '{getattr(binding, 'name', '?')}')")

    async def call(self, fn: HttpFunction, kwargs: dict[str, Any]) -> Any:
        """Run the function: on the loop if async, in the sync pool otherwise."""
        if fn.is_async:
            return await fn.user_function(**kwargs)
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(self.executor, functools.partial(fn.user_function, **kwargs))
        if inspect.isawaitable(result):  # a sync wrapper around a coroutine function
            result = await result
        return result

    def shutdown(self) -> None:
        """Drop queued sync calls; running ones cannot be interrupted and finish in their thread."""
        self.executor.shutdown(wait=False, cancel_futures=True)
