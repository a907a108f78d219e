from __future__ import annotations

import uuid

import pytest

from domain.errors import InvalidFile, InvalidTokenUsage
from domain.files import FileStatus, StoredFile, can_transition
from domain.usage import TokenUsage


def make_file(**overrides: object) -> StoredFile:
    values: dict[str, object] = {
        "owner_id": uuid.uuid4(),
        "blob_name": "a/b",
        "original_name": "doc.pdf",
        "content_type": "application/pdf",
        "size_bytes": 10,
    }
    values.update(overrides)
    return StoredFile(**values)  # type: ignore[arg-type]


def test_sha256_is_normalized_and_validated() -> None:
    assert make_file(sha256="AB" * 32).sha256 == "ab" * 32
    with pytest.raises(InvalidFile):
        make_file(sha256="xyz")


@pytest.mark.parametrize(
    "overrides", [{"size_bytes": -1}, {"original_name": ""}, {"content_type": ""}, {"blob_name": ""}]
)
def test_invalid_files_are_rejected(overrides: dict[str, object]) -> None:
    with pytest.raises(InvalidFile):
        make_file(**overrides)


def test_status_transitions() -> None:
    assert make_file().status is FileStatus.PENDING
    assert can_transition(FileStatus.PENDING, FileStatus.READY)
    assert can_transition(FileStatus.READY, FileStatus.REJECTED)
    assert not can_transition(FileStatus.REJECTED, FileStatus.READY)
    assert not can_transition(FileStatus.READY, FileStatus.PENDING)


def test_token_usage_totals() -> None:
    usage = TokenUsage(user_id=uuid.uuid4(), agent="nlp", model="m", input_tokens=3, output_tokens=4)
    assert usage.total_tokens == 7
    assert (
        TokenUsage(
            user_id=uuid.uuid4(), agent="a", model="m", input_tokens=1, output_tokens=1, total_tokens=5
        ).total_tokens
        == 5
    )
    with pytest.raises(InvalidTokenUsage):
        TokenUsage(user_id=uuid.uuid4(), agent="a", model="m", input_tokens=3, output_tokens=4, total_tokens=6)
    with pytest.raises(InvalidTokenUsage):
        TokenUsage(user_id=uuid.uuid4(), agent="a", model="m", input_tokens=-1, output_tokens=0)
