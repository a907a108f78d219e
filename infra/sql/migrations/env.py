"""Alembic environment: one migration history for SQLite, PostgreSQL and Azure SQL.

The database URL comes from ``-x url=...``, else from the caller (``infra.sql.migrate``), else
``DATABASE_URL``, else the embedded SQLite file. SQLite runs in batch mode (it cannot ALTER most
things) with foreign keys off while tables are recreated, then checks them before committing.
Offline (``--sql``) output for mssql assumes Azure SQL (NVARCHAR(max), not the deprecated NTEXT).
"""

from __future__ import annotations

import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import make_url

from infra.sql.engine import DEFAULT_SQLITE_URL, create_engine_for
from infra.sql.models import metadata
from infra.sql.search.schema import include_object

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _database_url() -> str:
    x_args = context.get_x_argument(as_dictionary=True)
    return x_args.get("url") or config.attributes.get("url") or os.environ.get("DATABASE_URL") or DEFAULT_SQLITE_URL


def run_migrations_offline() -> None:
    url = make_url(_database_url())
    dialect_opts: dict[str, object] = {"paramstyle": "named"}
    if url.get_backend_name() == "mssql":
        dialect_opts["deprecate_large_types"] = True
    context.configure(
        url=url,
        target_metadata=metadata,
        include_object=include_object,
        literal_binds=True,
        dialect_opts=dialect_opts,
        render_as_batch=url.get_backend_name() == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = make_url(_database_url())
    is_sqlite = url.get_backend_name() == "sqlite"
    engine = create_engine_for(url, pool_size=1, sqlite_foreign_keys=False)
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=metadata,
                include_object=include_object,
                render_as_batch=is_sqlite,
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
                if is_sqlite:
                    problems = connection.execute(text("PRAGMA foreign_key_check")).all()
                    if problems:
                        raise RuntimeError(f"foreign key violations after migration: {problems[:5]}")
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
