"""The real deep-health orchestration of function_app, run by the durable host's engine.

The orchestrator and activities are the production functions, replayed by the SDK's own
``Orchestrator``; only the health probes are fakes, so each outcome can be arranged.
"""

from __future__ import annotations

import pytest

import function_app
from application.health import CheckHealth
from devhost.durable import Engine, RuntimeStatus, VirtualClock, describe
from devhost.function_index import FunctionIndex
from interface import dependencies
from interface.orchestration.deep_health import ORCHESTRATOR
from tests.unit.app.fakes import FakeProbe, FakeServices


class FlakyProbe(FakeProbe):
    """Fails its first ``failures`` checks, then answers."""

    def __init__(self, name: str, failures: int) -> None:
        super().__init__(name)
        self.failures = failures

    def check(self) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError("blip")


@pytest.fixture
def install_probes():
    def install(*probes):
        services = FakeServices(check_health=CheckHealth(list(probes), timeout_seconds=1))
        dependencies.provide(lambda: services)

    yield install
    import bootstrap

    dependencies.provide(bootstrap.get_container)


@pytest.fixture
async def engine():
    engine = Engine(FunctionIndex.from_app(function_app.app), clock=VirtualClock())
    yield engine
    await engine.stop()


async def _run(engine: Engine):
    instance_id = engine.start_new(ORCHESTRATOR)
    await engine.run_until_idle()
    return engine.get(instance_id)


async def test_all_checks_ok_in_one_pass(engine, install_probes):
    install_probes(FakeProbe("database"), FakeProbe("storage"))
    instance = await _run(engine)
    assert instance.status is RuntimeStatus.Completed
    assert instance.output["status"] == "ok"
    assert instance.output["checks"] == {"database": "ok", "storage": "ok"}
    assert "TimerCreated" not in " ".join(describe(instance.history))


async def test_a_blip_is_ridden_out_by_the_recheck_after_a_durable_timer(engine, install_probes):
    install_probes(FlakyProbe("database", failures=1), FakeProbe("storage"))
    instance = await _run(engine)
    assert instance.status is RuntimeStatus.Completed
    assert instance.output["checks"] == {"database": "ok", "storage": "ok"}
    history = " ".join(describe(instance.history))
    assert "TimerCreated" in history and "TimerFired" in history


async def test_a_dependency_that_stays_down_is_reported_not_thrown(engine, install_probes):
    install_probes(FakeProbe("database", fails_with=OSError("down")), FakeProbe("storage"))
    instance = await _run(engine)
    assert instance.status is RuntimeStatus.Completed
    assert instance.output["status"] == "unavailable"
    assert instance.output["checks"] == {"database": "error", "storage": "ok"}
    assert instance.custom_status == {"stage": "done"}
