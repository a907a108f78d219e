"""Test-suite wide configuration: shared fixtures live in tests/fixtures/ as plugins."""

import importlib.util

_PLUGINS = ("tests.fixtures.databases", "tests.fixtures.devhost", "tests.fixtures.azurite", "tests.fixtures.oidc",
            "tests.fixtures.webpubsub")
pytest_plugins = [name for name in _PLUGINS if importlib.util.find_spec(name) is not None]
