from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from domain.chat import (
    PAGE_LIMIT_MAX,
    ChatSession,
    MessageAnnotations,
    MessageDraft,
    SenderKind,
    Sentiment,
    SentimentLabel,
    clamp_page_limit,
)
from domain.errors import InvalidMessage, InvalidSession


def make_draft(**overrides: object) -> MessageDraft:
    values: dict[str, object] = {
        "session_id": uuid.uuid4(),
        "sender_kind": SenderKind.USER,
        "sender_id": "u1",
        "body": "olá",
    }
    values.update(overrides)
    return MessageDraft(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "overrides",
    [
        {"body": "   "},
        {"body": "x" * 16_001},
        {"sender_id": ""},
        {"client_message_id": ""},
        {"client_message_id": "c" * 65},
        {"reply_to_seq": 0},
    ],
)
def test_invalid_drafts_are_rejected(overrides: dict[str, object]) -> None:
    with pytest.raises(InvalidMessage):
        make_draft(**overrides)


def test_draft_timestamps_are_converted_to_utc() -> None:
    local = datetime(2026, 1, 1, 9, 0, tzinfo=timezone(timedelta(hours=-3)))
    draft = make_draft(created_at=local)
    assert draft.created_at == local
    assert draft.created_at.tzinfo is UTC


def test_session_title_rules_and_updated_at_default() -> None:
    session = ChatSession(title="  Projeto  ", created_by=uuid.uuid4())
    assert session.title == "Projeto"
    assert session.updated_at == session.created_at
    assert session.last_seq == 0
    with pytest.raises(InvalidSession):
        ChatSession(title=" ", created_by=uuid.uuid4())


def test_sentiment_score_is_bounded() -> None:
    Sentiment(SentimentLabel.POSITIVE, 1.0)
    with pytest.raises(InvalidMessage):
        Sentiment(SentimentLabel.POSITIVE, 1.5)


def test_empty_annotations() -> None:
    assert MessageAnnotations().is_empty
    assert not MessageAnnotations(language="pt").is_empty


@pytest.mark.parametrize(("asked", "given"), [(0, 1), (-5, 1), (50, 50), (10_000, PAGE_LIMIT_MAX)])
def test_page_limit_is_clamped(asked: int, given: int) -> None:
    assert clamp_page_limit(asked) == given
