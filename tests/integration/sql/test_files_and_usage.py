from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta

import pytest

from domain.errors import FileNotFound
from domain.files import FileStatus, StoredFile
from domain.time import utc_now
from domain.usage import TokenUsage, UsageTotals
from tests.integration.sql.builders import UowFactory, add_session, add_user, append, draft


def test_file_lifecycle_and_attachments(uow_factory: UowFactory) -> None:
    ana = add_user(uow_factory)
    session = add_session(uow_factory, ana)
    files = [
        StoredFile(
            owner_id=ana.id,
            session_id=session.id,
            blob_name=f"{ana.id}/{uuid.uuid4()}",
            original_name=f"relatório {i}.pdf",
            content_type="application/pdf",
            size_bytes=0,
        )
        for i in range(2)
    ]
    with uow_factory() as uow:
        for file in files:
            uow.files.add(file)
        uow.commit()

    digest = hashlib.sha256(b"data").hexdigest()
    with uow_factory() as uow:
        uow.files.update_status(files[0].id, FileStatus.READY, size_bytes=4, sha256=digest.upper())
        with pytest.raises(FileNotFound):
            uow.files.update_status(uuid.uuid4(), FileStatus.READY)
        uow.commit()

    message = append(uow_factory, draft(session.id, "veja os anexos")).message
    with uow_factory() as uow:
        uow.files.attach(message.id, [files[0].id, files[1].id, files[0].id])
        uow.commit()

    with uow_factory() as uow:
        ready = uow.files.get(files[0].id)
        attached = uow.files.list_for_message(message.id)
        assert uow.files.get(uuid.uuid4()) is None
    assert ready is not None
    assert (ready.status, ready.size_bytes, ready.sha256) == (FileStatus.READY, 4, digest)
    assert {f.id for f in attached} == {f.id for f in files}


def test_token_usage_sums_per_user_and_agent_since(uow_factory: UowFactory) -> None:
    ana, bia = add_user(uow_factory, "Ana"), add_user(uow_factory, "Bia")
    now = utc_now()
    records = [
        TokenUsage(user_id=ana.id, agent="nlp", model="m", input_tokens=10, output_tokens=5, created_at=now),
        TokenUsage(user_id=ana.id, agent="reply", model="m", input_tokens=100, output_tokens=50, total_tokens=160),
        TokenUsage(user_id=bia.id, agent="nlp", model="m", input_tokens=1, output_tokens=1),
        TokenUsage(
            user_id=ana.id,
            agent="nlp",
            model="m",
            input_tokens=999,
            output_tokens=999,
            created_at=now - timedelta(days=2),
        ),
    ]
    with uow_factory() as uow:
        stored = [uow.token_usage.add(r) for r in records]
        uow.commit()

    since = now - timedelta(days=1)
    with uow_factory() as uow:
        ana_totals = uow.token_usage.sum_for_user_since(ana.id, since)
        nlp_totals = uow.token_usage.sum_for_agent_since("nlp", since)
        nobody = uow.token_usage.sum_for_agent_since("none", since)

    assert all(r.id is not None for r in stored)
    assert len({r.id for r in stored}) == len(stored)
    assert ana_totals == UsageTotals(input_tokens=110, output_tokens=55, total_tokens=175, calls=2)
    assert nlp_totals == UsageTotals(input_tokens=11, output_tokens=6, total_tokens=17, calls=2)
    assert nobody == UsageTotals()
