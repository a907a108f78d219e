"""Uploaded files. The bytes live in blob storage; the store keeps metadata and a status.

A file starts ``pending`` (upload URL handed out), becomes ``ready`` once its size and type were
verified, or ``rejected``; only ``ready`` files may be attached to messages.
"""

from __future__ import annotations

import enum
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from domain.errors import InvalidFile
from domain.time import require_utc, utc_now

ORIGINAL_NAME_MAX = 255
CONTENT_TYPE_MAX = 127
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class FileStatus(enum.StrEnum):
    PENDING = "pending"
    READY = "ready"
    REJECTED = "rejected"


_ALLOWED_TRANSITIONS = {
    FileStatus.PENDING: {FileStatus.READY, FileStatus.REJECTED},
    FileStatus.READY: {FileStatus.REJECTED},
    FileStatus.REJECTED: set[FileStatus](),
}


def can_transition(current: FileStatus, new: FileStatus) -> bool:
    return new in _ALLOWED_TRANSITIONS[current]


@dataclass(slots=True)
class StoredFile:
    owner_id: uuid.UUID
    blob_name: str
    original_name: str
    content_type: str
    size_bytes: int
    session_id: uuid.UUID | None = None
    sha256: str | None = None
    status: FileStatus = FileStatus.PENDING
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    created_at: datetime = field(default_factory=utc_now)

    def __post_init__(self) -> None:
        if not self.blob_name:
            raise InvalidFile("blob name is required")
        if not self.original_name or len(self.original_name) > ORIGINAL_NAME_MAX:
            raise InvalidFile(f"file name must have 1 to {ORIGINAL_NAME_MAX} characters")
        if not self.content_type or len(self.content_type) > CONTENT_TYPE_MAX:
            raise InvalidFile("content type is required")
        if self.size_bytes < 0:
            raise InvalidFile("file size must not be negative")
        if self.sha256 is not None:
            self.sha256 = self.sha256.lower()
            if not _SHA256.match(self.sha256):
                raise InvalidFile("sha256 must be 64 hexadecimal characters")
        self.created_at = require_utc(self.created_at, "created_at")
