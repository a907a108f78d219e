from __future__ import annotations

from datetime import timedelta

from domain.time import utc_now
from domain.users import ExternalIdentity, User
from tests.integration.sql.builders import UowFactory


def test_get_by_email_is_case_insensitive_and_prefers_verified(uow_factory: UowFactory) -> None:
    older_unverified = User(display_name="Old", email="Ana@Example.com", created_at=utc_now() - timedelta(days=1))
    verified = User(display_name="Ana", email="ana@example.com", email_verified=True)
    with uow_factory() as uow:
        uow.users.add(older_unverified)
        uow.users.add(verified)
        uow.commit()

    with uow_factory() as uow:
        assert uow.users.get_by_email("  ANA@example.COM ") == verified
        assert uow.users.get_by_email("nobody@example.com") is None
        assert uow.users.get_by_email("") is None


def test_user_round_trip_keeps_unicode_and_timestamps(uow_factory: UowFactory) -> None:
    user = User(display_name="Joaquim Ñandú 日本", email=None, disabled_at=utc_now())
    with uow_factory() as uow:
        uow.users.add(user)
        uow.commit()
    with uow_factory() as uow:
        stored = uow.users.get(user.id)
    assert stored == user
    assert stored is not None
    assert stored.is_disabled


def test_identities_find_list_and_record_login(uow_factory: UowFactory) -> None:
    user = User(display_name="Ana")
    google = ExternalIdentity(provider="Google", subject="1234567890", user_id=user.id, email="ana@gmail.com")
    apple = ExternalIdentity(provider="apple", subject="000123.abc", user_id=user.id)
    with uow_factory() as uow:
        uow.users.add(user)
        uow.identities.add(google)
        uow.identities.add(apple)
        uow.commit()

    login_at = utc_now()
    with uow_factory() as uow:
        found = uow.identities.find_by_provider_subject("GOOGLE", "1234567890")
        assert found is not None
        uow.identities.record_login(found.id, login_at)
        uow.commit()

    with uow_factory() as uow:
        found = uow.identities.find_by_provider_subject("google", "1234567890")
        assert uow.identities.find_by_provider_subject("microsoft", "1234567890") is None
        linked = uow.identities.list_for_user(user.id)
    assert found is not None
    assert found.last_login_at == login_at
    assert {i.provider for i in linked} == {"google", "apple"}
