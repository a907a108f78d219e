"""Delivery guarantees on SQLite and PostgreSQL: gapless seqs under concurrent senders, idempotent
retries racing each other, catch-up and scrollback pages with no gaps or repeats, and a failed
broadcast that loses nothing."""

from __future__ import annotations

import threading
import uuid

import pytest

from application.chat.limits import ChatLimits
from shared.errors import InvalidInput


def _run(workers: list[threading.Thread]) -> None:
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert not any(worker.is_alive() for worker in workers)


def test_concurrent_senders_get_seqs_exactly_1_to_n(chat) -> None:
    senders, per_sender = 6, 15
    users = [chat.user(f"U{i}") for i in range(senders)]
    room = chat.room(users[0], *users[1:])
    barrier, errors, seqs, lock = threading.Barrier(senders), [], [], threading.Lock()

    def send(user) -> None:
        try:
            barrier.wait()
            for n in range(per_sender):
                sent = chat.send(user.id, room, f"m{n}", f"{user.display_name} #{n}")
                with lock:
                    seqs.append(sent.message["seq"])
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    _run([threading.Thread(target=send, args=(u,)) for u in users])
    assert errors == []
    total = senders * per_sender
    assert sorted(seqs) == list(range(1, total + 1))
    stored = chat.list(users[0].id, room, after_seq=0, limit=100).messages
    assert [m["seq"] for m in stored] == list(range(1, total + 1))
    assert len(chat.realtime.of("message.created")) == total


def test_concurrent_retries_of_one_message_store_it_once(chat) -> None:
    ana = chat.user()
    room = chat.room(ana)
    chat.say(ana, room, "antes")
    attempts = 8
    barrier, results, errors = threading.Barrier(attempts), [], []

    def retry() -> None:
        try:
            barrier.wait()
            results.append(chat.send(ana.id, room, "flaky-network-1", "só uma vez"))
        except Exception as error:  # pragma: no cover
            errors.append(error)

    _run([threading.Thread(target=retry) for _ in range(attempts)])
    assert errors == []
    assert {r.message["seq"] for r in results} == {2}
    assert {r.message["id"] for r in results} == {results[0].message["id"]}
    assert sum(not r.duplicate for r in results) == 1
    assert len(chat.realtime.of("message.created")) == 2  # "antes" + one broadcast of the retried message
    chat.say(ana, room, "depois")
    assert [m["seq"] for m in chat.list(ana.id, room, after_seq=0).messages] == [1, 2, 3]


def test_catch_up_pages_have_no_gaps_or_repeats_and_keep_tombstones(chat) -> None:
    ana, bia = chat.user("Ana"), chat.user("Bia")
    room = chat.room(ana, bia)
    for n in range(23):
        chat.say(ana, room, f"m{n}")
    for seq in (5, 10, 11):
        chat.delete(ana.id, room, seq)

    seen, after, pages = [], 3, 0
    while True:
        page = chat.list(bia.id, room, after_seq=after, limit=6)
        seen += page.messages
        pages += 1
        assert page.last_seq == 23 and page.next_after_seq == (page.messages[-1]["seq"] if page.messages else after)
        after = page.next_after_seq
        if not page.has_more:
            break
    assert pages == 4 and [m["seq"] for m in seen] == list(range(4, 24))
    assert [m["seq"] for m in seen if m["deleted"]] == [5, 10, 11]
    assert all(m["text"] is None for m in seen if m["deleted"])

    back, before = [], None
    while True:
        page = chat.list(bia.id, room, before_seq=before, limit=7)
        back = page.messages + back
        before = page.next_before_seq
        if not page.has_more:
            break
    assert [m["seq"] for m in back] == list(range(1, 24))

    empty = chat.list(bia.id, room, after_seq=23)
    assert empty.messages == [] and not empty.has_more and empty.next_after_seq == 23


def test_page_parameters_are_validated_and_clamped(make_chat) -> None:
    chat = make_chat(ChatLimits(send_rate_limit=0, page_size_default=2, page_size_max=3))
    ana = chat.user()
    room = chat.room(ana)
    for _ in range(5):
        chat.say(ana, room)
    assert [m["seq"] for m in chat.list(ana.id, room).messages] == [4, 5]  # latest page, default size
    assert len(chat.list(ana.id, room, after_seq=0, limit=1000).messages) == 3
    for bad in ({"after_seq": 1, "before_seq": 3}, {"after_seq": -1}, {"before_seq": 0}, {"limit": 0}):
        with pytest.raises(InvalidInput):
            chat.list(ana.id, room, **bad)


def test_a_failed_broadcast_loses_no_message(chat, caplog) -> None:
    ana, bia = chat.user("Ana"), chat.user("Bia")
    room = chat.room(ana, bia)
    chat.realtime.fail = True
    sent = chat.send(ana.id, room, "while-down", "a pubsub caiu")
    assert sent.message["seq"] == 1 and not sent.duplicate
    assert chat.edit(ana.id, room, 1, "editada")["text"] == "editada"
    assert chat.read(bia.id, room, 1) == 1
    assert "publish of message.created" in caplog.text
    chat.realtime.fail = False
    caught_up = chat.list(bia.id, room, after_seq=0).messages
    assert [(m["seq"], m["text"]) for m in caught_up] == [(1, "editada")]
    # The sender's retry after a lost ack still gets the original, not a second copy.
    assert chat.send(ana.id, room, "while-down", "a pubsub caiu").message["id"] == sent.message["id"]


def test_session_ids_for_user_lists_live_memberships_only(chat) -> None:
    ana, bia = chat.user("Ana"), chat.user("Bia")
    shared, alone = chat.room(ana, bia), chat.room(ana)
    assert sorted(chat.access.session_ids_for_user(ana.id)) == sorted([shared, alone])
    assert chat.access.session_ids_for_user(bia.id) == [shared]
    chat.leave(ana.id, alone)  # the last member leaving deletes it
    assert chat.access.session_ids_for_user(ana.id) == [shared]
    assert chat.access.session_ids_for_user(uuid.uuid4()) == []
