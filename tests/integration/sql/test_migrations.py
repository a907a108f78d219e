"""Migrations: every revision goes up, down and up again; the result matches the models."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from infra.sql.engine import create_engine_for
from infra.sql.migrate import alembic_config, upgrade_to_head
from infra.sql.models import metadata
from infra.sql.search.schema import SEARCH_TABLES, include_object


def _revisions_oldest_first(url: str) -> list[str]:
    script = ScriptDirectory.from_config(alembic_config(url))
    return [r.revision for r in reversed(list(script.walk_revisions("base", "heads")))]


def _tables(url: str, *, hide_search: bool = True) -> set[str]:
    """Tables, minus the full-text objects the models do not declare (migration 0007)."""
    engine = create_engine_for(url)
    try:
        names = set(sa.inspect(engine).get_table_names()) - {"alembic_version"}
        return names - SEARCH_TABLES if hide_search else names
    finally:
        engine.dispose()


def test_stairway_every_revision_up_down_up(empty_db_url: str) -> None:
    config = alembic_config(empty_db_url)
    revisions = _revisions_oldest_first(empty_db_url)
    assert len(revisions) >= 4
    for revision in revisions:
        command.upgrade(config, revision)
        command.downgrade(config, "-1")
        command.upgrade(config, revision)
    assert _tables(empty_db_url) == {t.name for t in metadata.sorted_tables}

    command.downgrade(config, "base")
    assert _tables(empty_db_url) == set()
    assert _tables(empty_db_url, hide_search=False) == set()  # the full-text objects went too


def test_migrated_schema_matches_the_models(empty_db_url: str) -> None:
    upgrade_to_head(empty_db_url)
    engine = create_engine_for(empty_db_url)
    try:
        with engine.connect() as connection:
            opts = {"compare_type": True, "include_object": include_object}
            context = MigrationContext.configure(connection, opts=opts)
            diff = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_single_head() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1
