"""File metadata and message attachments."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from domain.errors import FileNotFound
from domain.files import FileStatus, StoredFile
from infra.sql.models import files, message_attachments


def _to_file(row: Any) -> StoredFile:
    return StoredFile(
        id=row.id,
        owner_id=row.owner_id,
        session_id=row.session_id,
        blob_name=row.blob_name,
        original_name=row.original_name,
        content_type=row.content_type,
        size_bytes=row.size_bytes,
        sha256=row.sha256,
        status=FileStatus(row.status),
        created_at=row.created_at,
    )


class SqlFileRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, file: StoredFile) -> None:
        self._session.execute(
            sa.insert(files).values(
                id=file.id,
                owner_id=file.owner_id,
                session_id=file.session_id,
                blob_name=file.blob_name,
                original_name=file.original_name,
                content_type=file.content_type,
                size_bytes=file.size_bytes,
                sha256=file.sha256,
                status=file.status.value,
                created_at=file.created_at,
            )
        )

    def get(self, file_id: uuid.UUID) -> StoredFile | None:
        row = self._session.execute(sa.select(files).where(files.c.id == file_id)).first()
        return _to_file(row) if row else None

    def update_status(
        self, file_id: uuid.UUID, status: FileStatus, *, size_bytes: int | None = None, sha256: str | None = None
    ) -> None:
        values: dict[str, Any] = {"status": status.value}
        if size_bytes is not None:
            values["size_bytes"] = size_bytes
        if sha256 is not None:
            values["sha256"] = sha256.lower()
        result = self._session.execute(sa.update(files).where(files.c.id == file_id).values(**values))
        if not result.rowcount:
            raise FileNotFound("file not found")

    def attach(self, message_id: int, file_ids: Iterable[uuid.UUID]) -> None:
        rows = [{"message_id": message_id, "file_id": file_id} for file_id in dict.fromkeys(file_ids)]
        if rows:
            self._session.execute(sa.insert(message_attachments), rows)

    def list_for_message(self, message_id: int) -> list[StoredFile]:
        stmt = (
            sa.select(files)
            .join(message_attachments, message_attachments.c.file_id == files.c.id)
            .where(message_attachments.c.message_id == message_id)
            .order_by(files.c.created_at, files.c.id)
        )
        return [_to_file(row) for row in self._session.execute(stmt)]

    def attachment_ids_for_messages(self, message_ids: Iterable[int]) -> dict[int, list[uuid.UUID]]:
        ids = list(dict.fromkeys(message_ids))
        found: dict[int, list[uuid.UUID]] = {}
        if not ids:
            return found
        stmt = (
            sa.select(message_attachments.c.message_id, message_attachments.c.file_id)
            .where(message_attachments.c.message_id.in_(ids))
            .order_by(message_attachments.c.message_id, message_attachments.c.file_id)
        )
        for row in self._session.execute(stmt):
            found.setdefault(row.message_id, []).append(row.file_id)
        return found
