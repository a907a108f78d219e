"""Unit of work semantics: nothing lands without commit(), errors roll back, savepoints keep it usable."""

from __future__ import annotations

import pytest

from domain.errors import IdentityAlreadyLinked
from domain.users import ExternalIdentity, User
from infra.sql.engine import create_engine_for
from infra.sql.unit_of_work import make_uow_factory
from shared.errors import Unavailable
from tests.integration.sql.builders import UowFactory


def test_changes_without_commit_are_rolled_back(uow_factory: UowFactory) -> None:
    user = User(display_name="Ana")
    with uow_factory() as uow:
        uow.users.add(user)

    with uow_factory() as uow:
        assert uow.users.get(user.id) is None


def test_commit_persists(uow_factory: UowFactory) -> None:
    user = User(display_name="Ana")
    with uow_factory() as uow:
        uow.users.add(user)
        uow.commit()

    with uow_factory() as uow:
        assert uow.users.get(user.id) == user


def test_an_exception_rolls_back_and_propagates(uow_factory: UowFactory) -> None:
    user = User(display_name="Ana")
    with pytest.raises(RuntimeError, match="boom"), uow_factory() as uow:
        uow.users.add(user)
        raise RuntimeError("boom")

    with uow_factory() as uow:
        assert uow.users.get(user.id) is None


def test_explicit_rollback_discards_and_the_uow_stays_usable(uow_factory: UowFactory) -> None:
    discarded, kept = User(display_name="Ana"), User(display_name="Bia")
    with uow_factory() as uow:
        uow.users.add(discarded)
        uow.rollback()
        uow.users.add(kept)
        uow.commit()

    with uow_factory() as uow:
        assert uow.users.get(discarded.id) is None
        assert uow.users.get(kept.id) == kept


def test_a_domain_conflict_does_not_poison_the_transaction(uow_factory: UowFactory) -> None:
    first, second = User(display_name="Ana"), User(display_name="Bia")
    with uow_factory() as uow:
        uow.users.add(first)
        uow.users.add(second)
        uow.identities.add(ExternalIdentity(provider="google", subject="sub-1", user_id=first.id))
        with pytest.raises(IdentityAlreadyLinked):
            uow.identities.add(ExternalIdentity(provider="google", subject="sub-1", user_id=second.id))
        uow.commit()

    with uow_factory() as uow:
        assert uow.users.get(second.id) is not None
        found = uow.identities.find_by_provider_subject("google", "sub-1")
    assert found is not None
    assert found.user_id == first.id


def test_using_repositories_outside_the_block_is_an_error(uow_factory: UowFactory) -> None:
    uow = uow_factory()
    with pytest.raises(RuntimeError):
        uow.commit()


def test_an_unreachable_database_surfaces_as_unavailable() -> None:
    engine = create_engine_for("postgresql+psycopg://postgres@127.0.0.1:1/none")
    try:
        with pytest.raises(Unavailable), make_uow_factory(engine)() as uow:
            uow.users.get(User(display_name="x").id)
    finally:
        engine.dispose()
