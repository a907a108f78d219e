from __future__ import annotations

import pytest

from devhost.durable import Engine, VirtualClock
from devhost.function_index import FunctionIndex
from tests.integration.durable import sample_app


@pytest.fixture
def index() -> FunctionIndex:
    return FunctionIndex.from_app(sample_app.app)  # cached on the app: get_functions() runs once


@pytest.fixture
async def engine(index: FunctionIndex):
    engine = Engine(index, clock=VirtualClock())
    yield engine
    await engine.stop()
