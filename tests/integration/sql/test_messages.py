"""Message repository: seq allocation, idempotent retries, pages, annotations (SQLite and PostgreSQL)."""

from __future__ import annotations

import functools
import threading
import uuid
from datetime import timedelta, timezone

import pytest
import sqlalchemy as sa

from domain.chat import MessageAnnotations, MessageDraft, NamedEntity, SenderKind, Sentiment, SentimentLabel
from domain.errors import ChatSessionNotFound, MessageNotFound
from domain.time import utc_now
from infra.sql.repositories import messages as messages_repository
from infra.sql.repositories.messages import SqlMessageRepository
from tests.integration.sql.builders import UowFactory, add_session, append, draft


def test_append_allocates_consecutive_seqs_per_session(uow_factory: UowFactory) -> None:
    first, second = add_session(uow_factory), add_session(uow_factory)

    seqs_first = [append(uow_factory, draft(first.id, f"m{i}")).message.seq for i in range(3)]
    seqs_second = [append(uow_factory, draft(second.id, "x")).message.seq for _ in range(2)]

    assert seqs_first == [1, 2, 3]
    assert seqs_second == [1, 2]
    with uow_factory() as uow:
        stored = uow.sessions.get(first.id)
    assert stored is not None
    assert stored.last_seq == 3


def test_append_returns_the_stored_message(uow_factory: UowFactory) -> None:
    session = add_session(uow_factory)
    result = append(uow_factory, draft(session.id, "Olá, mundo! 🌍", client_id="c-1"))

    assert not result.duplicate
    with uow_factory() as uow:
        by_seq = uow.messages.get(session.id, 1)
        by_id = uow.messages.get_by_id(result.message.id)
    assert by_seq == result.message == by_id
    assert by_seq is not None
    assert by_seq.body == "Olá, mundo! 🌍"
    assert by_seq.created_at.tzinfo is not None


def test_retry_with_same_client_id_returns_the_original_and_burns_no_seq(uow_factory: UowFactory) -> None:
    session = add_session(uow_factory)
    original = append(uow_factory, draft(session.id, "first try", client_id="c-1"))

    retry = append(uow_factory, draft(session.id, "second try", client_id="c-1"))
    after = append(uow_factory, draft(session.id, "next", client_id="c-2"))

    assert retry.duplicate
    assert retry.message == original.message
    assert retry.message.body == "first try"
    assert after.message.seq == 2


def test_client_id_is_scoped_per_sender_and_optional(uow_factory: UowFactory) -> None:
    session = add_session(uow_factory)
    a = append(uow_factory, draft(session.id, sender="u1", client_id="same"))
    b = append(uow_factory, draft(session.id, sender="u2", client_id="same"))
    c = append(uow_factory, draft(session.id, sender="u1"))
    d = append(uow_factory, draft(session.id, sender="u1"))

    assert [r.duplicate for r in (a, b, c, d)] == [False] * 4
    assert [r.message.seq for r in (a, b, c, d)] == [1, 2, 3, 4]


def test_append_to_unknown_or_deleted_session_fails(uow_factory: UowFactory) -> None:
    with pytest.raises(ChatSessionNotFound), uow_factory() as uow:
        uow.messages.append(draft(uuid.uuid4()))

    session = add_session(uow_factory)
    with uow_factory() as uow:
        uow.sessions.mark_deleted(session.id, utc_now())
        uow.commit()
    with pytest.raises(ChatSessionNotFound), uow_factory() as uow:
        uow.messages.append(draft(session.id))


def _miss_the_retry_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL's one-statement append: its NOT EXISTS guard sees a snapshot taken before the winner
    committed (what a real race does), simulated by a guard that never matches."""
    monkeypatch.setattr(messages_repository, "not_sent_yet", lambda *_: sa.true())
    messages_repository.append_statement_postgresql.cache_clear()
    monkeypatch.setattr(messages_repository, "append_statement_postgresql",
                        functools.cache(messages_repository.append_statement_postgresql.__wrapped__))


def test_lost_idempotency_race_rolls_back_the_seq_increment(
    uow_factory: UowFactory, monkeypatch: pytest.MonkeyPatch, db_url: str
) -> None:
    """Simulate the race deterministically: the look-up misses (the winner had not committed yet),
    so the INSERT hits the unique index; the savepoint (SQLite/SQL Server) or the give-back of the
    seq (PostgreSQL's one statement) must undo the counter increment too."""
    session = add_session(uow_factory)
    original = append(uow_factory, draft(session.id, "winner", client_id="c-1"))
    if db_url.startswith("postgresql"):
        _miss_the_retry_guard(monkeypatch)
        with uow_factory() as uow:
            retry = uow.messages.append(draft(session.id, "loser", client_id="c-1"))
            later = uow.messages.append(draft(session.id, "later"))
            uow.commit()
        assert retry.duplicate and retry.message == original.message
        assert later.message.seq == 2
        with uow_factory() as uow:
            stored = uow.sessions.get(session.id)
        assert stored is not None and stored.last_seq == 2
        return

    real_find = SqlMessageRepository._find_by_client_id
    calls = {"n": 0}

    def miss_first_time(self, message_draft):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        return None if calls["n"] == 1 else real_find(self, message_draft)

    monkeypatch.setattr(SqlMessageRepository, "_find_by_client_id", miss_first_time)
    with uow_factory() as uow:
        retry = uow.messages.append(draft(session.id, "loser", client_id="c-1"))
        # The transaction is still usable after the savepoint rollback.
        later = uow.messages.append(draft(session.id, "later"))
        uow.commit()

    assert calls["n"] == 2
    assert retry.duplicate
    assert retry.message == original.message
    assert later.message.seq == 2
    with uow_factory() as uow:
        stored = uow.sessions.get(session.id)
    assert stored is not None
    assert stored.last_seq == 2


def test_concurrent_retry_waits_for_the_winner_and_returns_its_row(uow_factory: UowFactory) -> None:
    session = add_session(uow_factory)
    results = {}

    with uow_factory() as winner:
        results["winner"] = winner.messages.append(draft(session.id, "winner", client_id="c-1"))

        def retry() -> None:
            results["retry"] = append(uow_factory, draft(session.id, "retry", client_id="c-1"))

        thread = threading.Thread(target=retry)
        thread.start()
        thread.join(timeout=0.3)  # the retry is blocked by the winner's lock
        winner.commit()
    thread.join(timeout=30)

    assert not thread.is_alive()
    assert results["retry"].duplicate
    assert results["retry"].message == results["winner"].message
    with uow_factory() as uow:
        stored = uow.sessions.get(session.id)
    assert stored is not None
    assert stored.last_seq == 1


def test_concurrent_senders_get_gapless_unique_seqs_and_retries_return_originals(uow_factory: UowFactory) -> None:
    threads, per_thread = 8, 50
    session = add_session(uow_factory)
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []
    originals: dict[tuple[str, str], object] = {}
    retries: list[tuple[tuple[str, str], object]] = []
    lock = threading.Lock()

    def sender(index: int) -> None:
        sender_id = f"user-{index}"
        try:
            barrier.wait()
            for n in range(per_thread):
                key = (sender_id, f"c-{n}")
                result = append(uow_factory, draft(session.id, f"{sender_id} #{n}", sender=sender_id, client_id=key[1]))
                with lock:
                    assert not result.duplicate
                    originals[key] = result.message
                if n % 5 == 0:  # a client that did not see the ack retries
                    retry = append(uow_factory, draft(session.id, "retry", sender=sender_id, client_id=key[1]))
                    with lock:
                        retries.append((key, retry))
            # Every sender also races the others on one shared client id of a shared sender.
            shared = append(uow_factory, draft(session.id, f"shared from {index}", sender="bot", client_id="shared"))
            with lock:
                retries.append((("bot", "shared"), shared))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    workers = [threading.Thread(target=sender, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)

    assert not errors, errors
    total = threads * per_thread + 1
    with uow_factory() as uow:
        stored = uow.messages.list_after(session.id, 0, 200) + uow.messages.list_after(session.id, 200, 200)
        stored += uow.messages.list_after(session.id, 400, 200)
        counter = uow.sessions.get(session.id)
    assert [m.seq for m in stored] == list(range(1, total + 1))
    assert counter is not None
    assert counter.last_seq == total
    shared_winners = [r for key, r in retries if key == ("bot", "shared")]
    assert sum(not r.duplicate for r in shared_winners) == 1  # type: ignore[attr-defined]
    assert len({r.message.id for r in shared_winners}) == 1  # type: ignore[attr-defined]
    for key, retry in retries:
        if key != ("bot", "shared"):
            assert retry.duplicate  # type: ignore[attr-defined]
            assert retry.message == originals[key]  # type: ignore[attr-defined]


def test_pages_after_and_before(uow_factory: UowFactory) -> None:
    session = add_session(uow_factory)
    for i in range(1, 11):
        append(uow_factory, draft(session.id, f"m{i}"))

    with uow_factory() as uow:
        after = uow.messages.list_after(session.id, 3, 4)
        tail = uow.messages.list_after(session.id, 8, 50)
        before = uow.messages.list_before(session.id, 5, 3)
        latest = uow.messages.list_before(session.id, None, 2)
        empty = uow.messages.list_after(session.id, 10, 5)

    assert [m.seq for m in after] == [4, 5, 6, 7]
    assert [m.seq for m in tail] == [9, 10]
    assert [m.seq for m in before] == [2, 3, 4]
    assert [m.seq for m in latest] == [9, 10]
    assert empty == []


def test_annotations_round_trip(uow_factory: UowFactory) -> None:
    session = add_session(uow_factory)
    message = append(uow_factory, draft(session.id, "Quero reembolso do pedido 123")).message
    annotations = MessageAnnotations(
        language="pt",
        sentiment=Sentiment(SentimentLabel.NEGATIVE, -0.6),
        intent="refund_request",
        entities=(NamedEntity("pedido 123", "order"),),
        keywords=("reembolso", "pedido"),
    )

    with uow_factory() as uow:
        uow.messages.set_annotations(message.id, annotations)
        uow.commit()
    with uow_factory() as uow:
        stored = uow.messages.get_by_id(message.id)
        with pytest.raises(MessageNotFound):
            uow.messages.set_annotations(message.id + 1000, annotations)

    assert stored is not None
    assert stored.annotations == annotations
    assert message.annotations.is_empty


def test_created_at_is_stored_in_utc(uow_factory: UowFactory) -> None:
    session = add_session(uow_factory)
    local = utc_now().astimezone(timezone(timedelta(hours=-3)))
    message = append(
        uow_factory,
        MessageDraft(session_id=session.id, sender_kind=SenderKind.AGENT, sender_id="nlp", body="x", created_at=local),
    ).message
    with uow_factory() as uow:
        stored = uow.messages.get_by_id(message.id)
    assert stored is not None
    assert stored.created_at == local
    assert stored.created_at.utcoffset() == timedelta(0)


def _member_of(uow_factory: UowFactory, session_id: uuid.UUID) -> uuid.UUID:
    from domain.chat import MemberRole, SessionMember
    from domain.users import User

    user = User(display_name="M", email=f"{uuid.uuid4().hex[:8]}@example.com", email_verified=True)
    with uow_factory() as uow:
        uow.users.add(user)
        uow.members.add(SessionMember(session_id=session_id, user_id=user.id, role=MemberRole.MEMBER))
        uow.commit()
    return user.id


def test_append_with_member_id_checks_membership_in_the_same_statement(uow_factory: UowFactory) -> None:
    session = add_session(uow_factory)
    member = _member_of(uow_factory, session.id)
    stranger = uuid.uuid4()

    with uow_factory() as uow:
        first = uow.messages.append(draft(session.id, "a", client_id="c-1"), member_id=member)
        no_id = uow.messages.append(draft(session.id, "b"), member_id=member)
        uow.commit()
    with uow_factory() as uow:
        retry = uow.messages.append(draft(session.id, "a again", client_id="c-1"), member_id=member)
    assert (first.message.seq, no_id.message.seq) == (1, 2)
    assert retry.duplicate and retry.message == first.message
    # Not a member: refused like a missing session, and no seq is consumed.
    for client_id in ("c-2", None, "c-1"):
        with pytest.raises(ChatSessionNotFound), uow_factory() as uow:
            uow.messages.append(draft(session.id, "intruder", client_id=client_id), member_id=stranger)
    with uow_factory() as uow:
        uow.members.remove(session.id, member)
        uow.commit()
    with pytest.raises(ChatSessionNotFound), uow_factory() as uow:  # a removed member's retry too
        uow.messages.append(draft(session.id, "a", client_id="c-1"), member_id=member)
    with uow_factory() as uow:
        uow.sessions.mark_deleted(session.id, utc_now())
        uow.commit()
    other = _member_of(uow_factory, session.id)
    with pytest.raises(ChatSessionNotFound), uow_factory() as uow:
        uow.messages.append(draft(session.id, "late"), member_id=other)
    with uow_factory() as uow:
        stored = uow.sessions.get(session.id)
    assert stored is not None and stored.last_seq == 2


def test_concurrent_members_get_gapless_seqs_from_the_one_statement(uow_factory: UowFactory) -> None:
    session = add_session(uow_factory)
    members = [_member_of(uow_factory, session.id) for _ in range(4)]
    seqs: list[int] = []
    errors: list[Exception] = []
    lock = threading.Lock()

    def send(member: uuid.UUID) -> None:
        try:
            for n in range(10):
                for _attempt in range(2):  # every message is retried once: stored once
                    with uow_factory() as uow:
                        result = uow.messages.append(draft(session.id, "x", client_id=f"{member}-{n}"),
                                                     member_id=member)
                        uow.commit()
                    if not result.duplicate:
                        with lock:
                            seqs.append(result.message.seq)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=send, args=(m,)) for m in members]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(seqs) == list(range(1, 41))
