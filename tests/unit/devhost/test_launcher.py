"""The launcher's small decisions (pure): arguments, app spec, thread-pool setting."""

from __future__ import annotations

import pytest

from devhost.__main__ import parse_args, split_app_spec, sync_thread_count


def test_defaults_match_func_start() -> None:
    args = parse_args([])
    assert (args.host, args.port, args.app, args.no_azurite) == ("127.0.0.1", None, "function_app", False)
    assert args.max_request_body_mb == 100


def test_options() -> None:
    args = parse_args(["--host", "0.0.0.0", "--port", "8080", "--app", "pkg.mod:application", "--no-azurite"])
    assert (args.host, args.port, args.no_azurite) == ("0.0.0.0", 8080, True)
    assert split_app_spec(args.app) == ("pkg.mod", "application")
    assert split_app_spec("function_app") == ("function_app", "app")


@pytest.mark.parametrize(("value", "expected"), [("", None), ("4", 4), ("0", 1), ("99", 32), ("x", None)])
def test_python_threadpool_thread_count(monkeypatch: pytest.MonkeyPatch, value: str, expected: int | None) -> None:
    monkeypatch.setenv("PYTHON_THREADPOOL_THREAD_COUNT", value)
    assert sync_thread_count() == expected
