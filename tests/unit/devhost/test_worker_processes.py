"""``FUNCTIONS_WORKER_PROCESS_COUNT`` as devhost reads it, and the HTTP worker's command line."""

from __future__ import annotations

import json

import pytest

from devhost.__main__ import http_worker_argv, parse_args
from devhost.worker_processes import DurableForwarder, worker_process_count


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(None, 1), ("", 1), ("1", 1), ("2", 2), ("10", 10), ("11", 10), ("0", 1), ("-3", 1), ("two", 1), (" 4 ", 4)],
)
def test_worker_process_count_follows_the_hosts_range(raw: str | None, expected: int) -> None:
    environ = {} if raw is None else {"FUNCTIONS_WORKER_PROCESS_COUNT": raw}
    assert worker_process_count(environ) == expected


def test_an_http_worker_gets_the_bound_port_and_never_starts_the_helpers() -> None:
    args = parse_args(["--port", "0", "--cors", "http://a.test", "--log-level", "WARNING"])
    argv = http_worker_argv(args, 43210)
    assert argv[argv.index("--port") + 1] == "43210"
    assert "--no-azurite" in argv and "--no-webpubsub" in argv
    assert argv[argv.index("--cors") + 1] == "http://a.test"
    assert parse_args(argv).port == 43210  # the worker parses what the primary wrote


def test_a_workers_durable_binding_points_at_the_primary() -> None:
    forwarder = DurableForwarder("http://127.0.0.1:40001/", "MyHub")
    binding = json.loads(forwarder.client_binding_json("http://127.0.0.1:7071"))
    assert binding["taskHubName"] == "MyHub"
    assert binding["baseUrl"] == "http://127.0.0.1:40001/runtime/webhooks/durabletask"
    assert binding["creationUrls"]["createNewInstancePostUri"].startswith(
        "http://127.0.0.1:40001/runtime/webhooks/durabletask/orchestrators/")
