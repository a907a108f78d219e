"""The settings every e2e test of the real function_app starts from."""

from __future__ import annotations

from pathlib import Path

from infra.sql.migrate import upgrade_to_head


def migrated_app_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """A migrated SQLite file, test mode, and keys in the test's own folder — plus ``overrides``."""
    url = f"sqlite:///{tmp_path / 'app.db'}"
    upgrade_to_head(url)
    keys = str(tmp_path / "keys")
    return {"DATABASE_URL": url, "APP_ENVIRONMENT": "test", "JWT_KEY_DIRECTORY": keys, "MFA_KEY_DIR": keys,
            **overrides}
