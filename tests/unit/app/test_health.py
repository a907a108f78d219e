import time

from application.health import CheckHealth
from tests.unit.app.fakes import FakeProbe


class SlowProbe:
    name = "slow"

    def check(self) -> None:
        time.sleep(1.0)


def test_all_ok():
    report = CheckHealth([FakeProbe("database"), FakeProbe("storage")], timeout_seconds=1)()
    assert report.healthy
    assert report.checks == {"database": "ok", "storage": "ok"}


def test_failure_is_named_and_details_stay_in_the_log(caplog):
    probe = FakeProbe("database", fails_with=ConnectionError("password=hunter2 host=10.0.0.1"))
    report = CheckHealth([probe, FakeProbe("storage")], timeout_seconds=1)()
    assert not report.healthy
    assert report.failing == ["database"]
    assert report.checks["database"] == "error"
    assert "ConnectionError" in caplog.text


def test_a_hung_probe_times_out_without_holding_the_others():
    report = CheckHealth([SlowProbe(), FakeProbe("database")], timeout_seconds=0.1)()
    assert report.checks == {"slow": "timeout", "database": "ok"}


def test_check_one_and_unknown_name():
    import pytest

    from shared.errors import NotFound

    use_case = CheckHealth([FakeProbe("database", fails_with=OSError("down"))], timeout_seconds=1)
    assert use_case.check_names == ["database"]
    assert use_case.check_one("database") == "error"
    with pytest.raises(NotFound):
        use_case.check_one("nope")
