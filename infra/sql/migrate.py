"""Run Alembic migrations without an ``alembic.ini`` in the working directory.

    python -m infra.sql.migrate upgrade head     # default command
    python -m infra.sql.migrate downgrade -1
    python -m infra.sql.migrate current
    python -m infra.sql.migrate sql              # print the DDL of upgrade head (offline), no DB needed

The database is ``DATABASE_URL`` (default: the embedded SQLite file). Code (devhost, tests, the
deployment step) calls :func:`upgrade_to_head`.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from alembic import command
from alembic.config import Config

from infra.sql.engine import DEFAULT_SQLITE_URL

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def database_url_from_env() -> str:
    return os.environ.get("DATABASE_URL") or DEFAULT_SQLITE_URL


def alembic_config(url: str | None = None, *, stdout: TextIO | None = None) -> Config:
    """An Alembic config for our migrations; ``url`` travels as an attribute (never interpolated,
    so passwords with '%' survive)."""
    config = Config(stdout=stdout or sys.stdout, output_buffer=stdout)
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.attributes["url"] = url or database_url_from_env()
    return config


def upgrade_to_head(url: str | None = None) -> None:
    command.upgrade(alembic_config(url), "head")


def downgrade(url: str | None, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def offline_sql(url: str | None = None, *, stdout: TextIO | None = None, revision: str = "head") -> None:
    """Write the DDL of ``upgrade <revision>`` without connecting (e.g. for Azure SQL review)."""
    command.upgrade(alembic_config(url, stdout=stdout), revision, sql=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv) or ["upgrade", "head"]
    logging.basicConfig(level=logging.INFO, format="%(levelname)-5.5s [%(name)s] %(message)s", stream=sys.stderr)
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)
    url = database_url_from_env()
    match args:
        case ["upgrade"] | ["upgrade", _]:
            command.upgrade(alembic_config(url), args[1] if len(args) > 1 else "head")
        case ["downgrade", revision]:
            downgrade(url, revision)
        case ["current"]:
            command.current(alembic_config(url), verbose=True)
        case ["sql"] | ["sql", _]:
            offline_sql(url, revision=args[1] if len(args) > 1 else "head")
        case _:
            print(__doc__, file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
