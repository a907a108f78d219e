"""Presence over the real connection registry, on SQLite and PostgreSQL.

Several devices per user: ``online`` only on the first connection, ``offline`` only on the last;
duplicate ``connected``/``disconnected`` events change nothing; concurrent devices announce once.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from application.chat.access import SessionAccess
from application.ports.realtime import RealtimeUnavailable
from application.realtime.connections import HandleConnect, HandleConnected, HandleDisconnected
from application.realtime.presence import GetSessionPresence
from application.realtime.presence_check import PresenceCheck
from domain.chat import MemberRole, SessionMember
from infra.sql.models import users
from infra.sql.repositories.realtime_connections import SqlConnectionRegistry
from shared import errors
from tests.integration.sql.builders import add_session, add_user


class Clock:
    def now(self):
        return datetime.now(UTC)


class Recording:
    """Publisher + membership that record calls (or fail, to prove presence does not depend on them)."""

    def __init__(self, fail: bool = False) -> None:
        self.published: list[tuple[uuid.UUID, str, dict]] = []
        self.joined: list[tuple[str, list[uuid.UUID]]] = []
        self.fail = fail
        self._lock = threading.Lock()

    def publish_to_session(self, session_id, event, data, *, exclude_connection=None):
        if self.fail:
            raise RealtimeUnavailable("down")
        with self._lock:
            self.published.append((session_id, event, dict(data)))

    def publish_to_user(self, user_id, event, data):
        raise AssertionError("not used")

    def add_connection_to_sessions(self, connection_id, session_ids):
        if self.fail:
            raise RealtimeUnavailable("down")
        with self._lock:
            self.joined.append((connection_id, list(session_ids)))

    def statuses(self, user):
        return [d["status"] for _, e, d in self.published if e == "presence.changed" and d["user_id"] == str(user)]


@pytest.fixture
def world(uow_factory, migrated_engine):
    registry = SqlConnectionRegistry(migrated_engine)
    realtime = Recording()
    access = SessionAccess(uow_factory)
    ana, bia = add_user(uow_factory, "Ana"), add_user(uow_factory, "Bia")
    room = add_session(uow_factory, ana)
    with uow_factory() as uow:
        uow.members.add(SessionMember(session_id=room.id, user_id=bia.id, role=MemberRole.MEMBER))
        uow.commit()

    class World:
        pass

    w = World()
    w.registry, w.realtime, w.ana, w.bia, w.room, w.uow_factory = registry, realtime, ana, bia, room, uow_factory
    w.connected = HandleConnected(registry, access, realtime, realtime, Clock(), hub="chat")
    w.disconnected = HandleDisconnected(registry, access, realtime)
    w.presence = GetSessionPresence(uow_factory, registry)
    return w


def test_online_on_the_first_device_offline_on_the_last(world):
    ana = world.ana.id
    world.connected("phone", str(ana))
    assert world.realtime.statuses(ana) == ["online"]
    assert world.realtime.joined == [("phone", [world.room.id])]
    world.connected("laptop", str(ana))
    assert world.realtime.statuses(ana) == ["online"]  # a second device says nothing
    assert world.presence(world.bia.id, world.room.id) == [ana]
    world.disconnected("phone")
    assert world.realtime.statuses(ana) == ["online"]
    assert world.presence(world.bia.id, world.room.id) == [ana]
    world.disconnected("laptop")
    assert world.realtime.statuses(ana) == ["online", "offline"]
    assert world.presence(world.bia.id, world.room.id) == []
    session_id, event, data = world.realtime.published[-1]
    assert (session_id, event, data) == (
        world.room.id, "presence.changed", {"session_id": str(world.room.id), "user_id": str(ana), "status": "offline"}
    )


def test_duplicate_connected_and_disconnected_change_nothing(world):
    ana = world.ana.id
    world.connected("phone", str(ana))
    world.connected("phone", str(ana))
    world.disconnected("phone")
    world.disconnected("phone")
    world.disconnected("never-seen")
    assert world.realtime.statuses(ana) == ["online", "offline"]


def test_presence_is_for_members_only(world, uow_factory):
    stranger = add_user(uow_factory, "Eve")
    with pytest.raises(errors.NotFound):
        world.presence(stranger.id, world.room.id)
    with pytest.raises(errors.NotFound):
        world.presence(world.ana.id, uuid.uuid4())


def test_presence_survives_a_realtime_outage(world):
    failing = Recording(fail=True)
    access = SessionAccess(world.uow_factory)
    connected = HandleConnected(world.registry, access, failing, failing, Clock(), hub="chat")
    connected("phone", str(world.ana.id))  # no exception: logged
    assert world.presence(world.bia.id, world.room.id) == [world.ana.id]
    HandleDisconnected(world.registry, access, failing)("phone")
    assert world.presence(world.bia.id, world.room.id) == []


def test_concurrent_devices_announce_online_once_and_offline_once(world):
    ana = world.ana.id
    devices = [f"device-{n}" for n in range(8)]

    def run_all(action):
        barrier = threading.Barrier(len(devices))
        failures = []

        def run(device):
            try:
                barrier.wait()
                action(device)
            except Exception as exc:  # surfaced below
                failures.append(exc)

        threads = [threading.Thread(target=run, args=(d,)) for d in devices]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert failures == []

    run_all(lambda device: world.connected(device, str(ana)))
    assert world.realtime.statuses(ana) == ["online"]
    run_all(world.disconnected)
    assert world.realtime.statuses(ana) == ["online", "offline"]


def test_connect_admits_only_existing_enabled_users(world, uow_factory):
    connect = HandleConnect(uow_factory)
    assert connect(str(world.ana.id)).user_id == world.ana.id
    for raw in (None, "", "not-a-uuid", str(uuid.uuid4())):
        with pytest.raises(errors.Unauthenticated):
            connect(raw)
    with uow_factory() as uow:
        uow.session.execute(sa.update(users).where(users.c.id == world.bia.id).values(disabled_at=datetime.now(UTC)))
        uow.commit()
    with pytest.raises(errors.Forbidden):
        connect(str(world.bia.id))


# --- self-healing presence: rows are checked with the service (application/realtime/presence_check.py)


class Liveness:
    """The service's view of which connections are open (``connection_exists``), with a call log."""

    def __init__(self) -> None:
        self.open: set[str] = set()
        self.asked: list[str] = []
        self.down = False

    def connection_exists(self, connection_id):
        if self.down:
            raise RealtimeUnavailable("down")
        self.asked.append(connection_id)
        return connection_id in self.open


class MovableClock:
    def __init__(self) -> None:
        self.moment = datetime.now(UTC)

    def now(self):
        return self.moment


@pytest.fixture
def checked(world):
    """``world`` with presence checks on, a clock the test moves and a scriptable service."""
    clock, liveness = MovableClock(), Liveness()
    access = SessionAccess(world.uow_factory)
    check = PresenceCheck(world.registry, liveness, access, world.realtime, clock, recheck_after=timedelta(seconds=60))
    world.clock, world.liveness = clock, liveness
    world.connected = HandleConnected(world.registry, access, world.realtime, world.realtime, clock, hub="chat")
    world.disconnected = HandleDisconnected(world.registry, access, world.realtime, check)
    world.presence = GetSessionPresence(world.uow_factory, world.registry, check)
    return world


def test_a_lost_last_disconnect_heals_at_the_next_presence_read(checked):
    ana = checked.ana.id
    checked.connected("phone", str(ana))
    checked.liveness.open.add("phone")
    assert checked.presence(checked.bia.id, checked.room.id) == [ana]
    assert checked.liveness.asked == []  # confirmed a moment ago (on connect): not asked again
    checked.liveness.open.discard("phone")  # the phone dropped; its "disconnected" never reached us
    checked.clock.moment += timedelta(seconds=61)
    assert checked.presence(checked.bia.id, checked.room.id) == []
    assert checked.liveness.asked == ["phone"]
    assert checked.realtime.statuses(ana) == ["online", "offline"]


def test_an_open_connection_is_confirmed_once_per_recheck_period(checked):
    ana = checked.ana.id
    checked.connected("phone", str(ana))
    checked.liveness.open.add("phone")
    checked.clock.moment += timedelta(seconds=61)
    for _ in range(3):
        assert checked.presence(checked.bia.id, checked.room.id) == [ana]
    assert checked.liveness.asked == ["phone"]  # last_seen_at moved: the next reads trust it
    checked.clock.moment += timedelta(seconds=61)
    assert checked.presence(checked.bia.id, checked.room.id) == [ana]
    assert checked.liveness.asked == ["phone", "phone"]


def test_a_ghost_device_does_not_keep_the_user_online_after_the_real_last_one_leaves(checked):
    ana = checked.ana.id
    checked.connected("ghost", str(ana))  # its "disconnected" will be lost
    checked.connected("laptop", str(ana))
    checked.liveness.open.update({"laptop"})
    checked.disconnected("laptop")  # the user still "has" the ghost: it is checked at once
    assert checked.liveness.asked == ["ghost"]
    assert checked.realtime.statuses(ana) == ["online", "offline"]
    assert checked.presence(checked.bia.id, checked.room.id) == []


def test_a_live_second_device_keeps_the_user_online_and_silent(checked):
    ana = checked.ana.id
    checked.connected("phone", str(ana))
    checked.connected("laptop", str(ana))
    checked.liveness.open.update({"phone", "laptop"})
    checked.disconnected("laptop")
    assert checked.realtime.statuses(ana) == ["online"]
    assert checked.presence(checked.bia.id, checked.room.id) == [ana]


def test_rows_are_kept_when_the_service_cannot_be_asked(checked):
    ana = checked.ana.id
    checked.connected("phone", str(ana))
    checked.liveness.down = True
    checked.clock.moment += timedelta(seconds=61)
    assert checked.presence(checked.bia.id, checked.room.id) == [ana]  # not guessed offline
    checked.liveness.down = False
    assert checked.presence(checked.bia.id, checked.room.id) == []  # asked next time: gone
