"""local.settings.json and host.json readers (pure: files in tmp_path, a dict as the environment)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devhost.functions_host import HostJson
from devhost.local_settings import LocalSettings, LocalSettingsError


def _write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_values_go_to_the_environment_but_existing_variables_win(tmp_path: Path) -> None:
    _write(tmp_path / "local.settings.json", {
        "IsEncrypted": False,
        "Values": {"A": "from-file", "B": "from-file", "FLAG": True, "N": 3},
        "Host": {"LocalHttpPort": 7072, "CORS": "*"},
        "ConnectionStrings": {"Db": "sqlite://"},
    })
    settings = LocalSettings.find(tmp_path)
    env = {"A": "from-env"}
    applied = settings.apply_to(env)
    assert env == {"A": "from-env", "B": "from-file", "FLAG": "true", "N": "3"}
    assert sorted(applied) == ["B", "FLAG", "N"]
    assert settings.local_http_port == 7072
    assert settings.cors == "*"
    assert settings.connection_strings == {"Db": "sqlite://"}


def test_falls_back_to_the_example_file(tmp_path: Path) -> None:
    _write(tmp_path / "local.settings.json.example", {"Values": {"X": "example"}})
    settings = LocalSettings.find(tmp_path)
    assert settings.path is not None and settings.path.name == "local.settings.json.example"
    assert settings.values == {"X": "example"}
    _write(tmp_path / "local.settings.json", {"Values": {"X": "real"}})
    assert LocalSettings.find(tmp_path).values == {"X": "real"}


def test_no_file_gives_empty_settings(tmp_path: Path) -> None:
    settings = LocalSettings.find(tmp_path)
    assert settings.path is None and settings.values == {} and settings.local_http_port is None


@pytest.mark.parametrize("content", [
    "{not json",
    json.dumps({"IsEncrypted": True, "Values": {}}),
    json.dumps({"Values": {"X": {"nested": 1}}}),
    json.dumps([1, 2]),
])
def test_unusable_files_raise_with_the_file_name(tmp_path: Path, content: str) -> None:
    (tmp_path / "local.settings.json").write_text(content, encoding="utf-8")
    with pytest.raises(LocalSettingsError, match=r"local\.settings\.json"):
        LocalSettings.find(tmp_path)


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "local.settings.json").write_text('{"Values": {"A": "1"}}', encoding="utf-8-sig")
    assert LocalSettings.find(tmp_path).values == {"A": "1"}


def test_host_json_route_prefix_and_hub(tmp_path: Path) -> None:
    assert HostJson.load(tmp_path / "missing.json").route_prefix == "api"
    path = _write(tmp_path / "host.json", {"version": "2.0", "extensions": {
        "http": {"routePrefix": ""}, "durableTask": {"hubName": "Hub1"}}})
    loaded = HostJson.load(path)
    assert (loaded.route_prefix, loaded.task_hub) == ("", "Hub1")
    _write(path, {"version": "2.0", "extensions": {"http": {"routePrefix": "/v1/"}}})
    assert HostJson.load(path).route_prefix == "v1"
    _write(path, {"version": "2.0"})
    assert (HostJson.load(path).route_prefix, HostJson.load(path).task_hub) == ("api", "TestHubName")


def test_project_host_json_is_readable() -> None:
    loaded = HostJson.load(Path(__file__).resolve().parents[3] / "host.json")
    assert loaded.route_prefix == "api"


def test_cors_policy_parsing() -> None:
    from devhost.functions_host import CorsPolicy

    assert CorsPolicy.parse(None) is None and CorsPolicy.parse(" ") is None
    any_origin = CorsPolicy.parse("*")
    assert any_origin is not None and any_origin.allows("http://x")
    listed = CorsPolicy.parse("http://a.test/, http://b.test", allow_credentials=True)
    assert listed is not None and listed.allows("http://A.test") and not listed.allows("http://c.test")
    assert listed.allow_credentials
