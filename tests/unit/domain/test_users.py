from __future__ import annotations

import uuid
from datetime import datetime

import pytest

from domain.errors import InvalidUser
from domain.users import ExternalIdentity, User, normalize_email
from shared.errors import InvalidInput


def test_email_is_normalized() -> None:
    assert normalize_email("  Ana@Example.COM ") == "ana@example.com"
    assert normalize_email("   ") is None
    assert normalize_email(None) is None
    with pytest.raises(InvalidUser):
        normalize_email("not-an-email")


def test_user_without_email_cannot_be_verified() -> None:
    user = User(display_name=" Ana ", email=None, email_verified=True)
    assert user.display_name == "Ana"
    assert not user.email_verified


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_display_name_is_required_and_bounded(name: str) -> None:
    with pytest.raises(InvalidInput):
        User(display_name=name)


def test_naive_timestamps_are_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        User(display_name="Ana", created_at=datetime(2026, 1, 1))


def test_identity_provider_is_lowercased_and_subject_required() -> None:
    identity = ExternalIdentity(provider=" Google ", subject="123", user_id=uuid.uuid4())
    assert identity.provider == "google"
    with pytest.raises(InvalidUser):
        ExternalIdentity(provider="google", subject="", user_id=uuid.uuid4())
