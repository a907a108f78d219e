"""Importing the app must not load the heavy libraries (they load lazily, on first use).

pydantic-settings is allowed: settings are validated at start on purpose (see bootstrap.py).
"""

import json
import subprocess
import sys
from pathlib import Path

HEAVY = [
    "sqlalchemy", "alembic", "azure.storage.blob", "azure.identity", "langchain", "langchain_openai", "msal", "devhost",
]
ROOT = Path(__file__).parents[3]


def test_function_app_import_stays_light():
    code = (
        "import sys, json, function_app; "
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_a_bad_setting_stops_the_app_at_start_with_its_name():
    import os

    env = {**os.environ, "DATABASE_URL": "mysql://nope"}
    cmd = [sys.executable, "-c", "import function_app"]
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    assert out.returncode != 0
    assert "DATABASE_URL" in out.stderr
