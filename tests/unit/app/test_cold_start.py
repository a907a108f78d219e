"""Importing the app must not load the heavy libraries (they load lazily, on first use)."""

import json
import subprocess
import sys
from pathlib import Path

HEAVY = ["sqlalchemy", "alembic", "pydantic_settings", "azure.storage.blob", "azure.identity", "langchain", "langchain_openai", "msal", "devhost"]


def test_function_app_import_stays_light():
    code = (
        "import sys, json, function_app; "
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parents[3], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
