"""The delivery fault test of issue 4: nothing lost, nothing doubled, while sockets keep dying.

devhost serves the real ``function_app`` on PostgreSQL (and SQLite); a Web PubSub emulator in this
process, with a 3 s recovery window, calls its event handler; every client is the official Python SDK on
the reliable subprotocol with a URL from ``POST /api/negotiate``. Three users share one chat session, and
each has two devices:

- a *laptop* that streams ``message.send`` events, each with a unique client message id, and retries some
  with the same id: both frames on the wire at once, again after the reply, and over REST — as a client
  does after a timeout. When no reply comes in time (its frame died with a cut socket) it resends too;
- a *phone* that only receives.

While the messages stream, every device's TCP connection is cut again and again (the emulator's ``cut()``,
no close frame): the SDK recovers the logical connection with its reconnection token and the emulator
replays what the client had not acknowledged. Caio's phone goes through a TCP proxy this test controls:
once the stream is under way it is cut and its recovery refused until the emulator has ended the logical
connection (the recovery window ran out); the SDK then gets 1008, reconnects with a fresh negotiated URL,
and Caio catches up over REST.

Asserted on the raw ``message.created`` events the SDK handed to the application (nothing deduplicated):

- the phones that were only cut and the three laptops received every seq 1..N exactly once, and on each
  logical connection the SDK handed over sequenceIds 1, 2, 3... with no gap and no repeat;
- order: a client holds messages by seq. Arrival order is the order of the broadcasts, and concurrent
  senders commit in one order and publish after commit in parallel, so two messages from *different*
  senders may arrive swapped (the test prints how often). What is guaranteed, and asserted, is that each
  sender's messages arrive in its order, and that each held sequence is exactly 1..N;
- Caio has three sources: *before* (live on his first logical connection), *after* (live on the new one)
  and *catch-up* (the REST pages, asked for once *after* has its first message — so the new connection is
  in the session's group — from ``after_seq`` = b, the last seq he held with none missing below, paged until
  ``has_more`` is false; C is the last seq of the last page). Each source holds each seq at most once;
  *before* covers 1..b; catch-up is exactly b+1..C in order; *before* and *after* are disjoint; every seq
  after C arrived live; overlaps occur only between catch-up and a live source; the union is exactly 1..N;
- every client message id got exactly one reply with ``duplicate: false``, and the same seq on every retry;
- the database holds N rows for the session with seqs exactly 1..N and every client message id once.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import random
import socket
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from azure.messaging.webpubsubclient import WebPubSubClient, WebPubSubClientCredential
from azure.messaging.webpubsubclient.models import CallbackType, WebPubSubDataType

from devhost.webpubsub import BackgroundEmulator, EmulatorConfig, EventHandler, parse_connection_string
from infra.sql.migrate import upgrade_to_head
from infra.sql.models import messages as messages_table
from tests.e2e.test_app_e2e import call
from tests.e2e.test_tokens_e2e import InProcess, bearer
from tests.fixtures.devhost import free_port
from tests.fixtures.webpubsub import TEST_ACCESS_KEY, emulator_connection_string

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]

APP = "function_app"
RECOVERY_WINDOW = 3.0
MIN_PER_SENDER = 80  # the stream goes on at least this long, and until Caio has caught up
TAIL_PER_SENDER = 15  # sent after Caio is back, so the end of the stream reaches him live
MAX_PER_SENDER = 1000  # a bound: the stream never runs away (the time budget below is the real limit)
SEND_PAUSE = 0.02
REPLY_TIMEOUT = 2.0
RECOVERY_TIMEOUT = 10.0  # the SDK recovers within about a second (it joins its 1 s sequenceAck thread first)
BUDGET = 45.0  # seconds for the whole scenario once devhost is up
_hubs = itertools.count(1)


# --- fixtures ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def emulator() -> Iterator[BackgroundEmulator]:
    """A private emulator with a short recovery window (the session one keeps the 30 s default)."""
    config = EmulatorConfig(connection=parse_connection_string(emulator_connection_string(free_port())),
                            recovery_window_seconds=RECOVERY_WINDOW, upstream_timeout_seconds=10.0)
    with BackgroundEmulator(config) as running:
        yield running


@pytest.fixture(params=[pytest.param("postgres", marks=pytest.mark.postgres), "sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'app.db'}"
        upgrade_to_head(url)
        yield url
        return
    server = request.getfixturevalue("postgres_server")
    server.require()
    created = server.create_database()
    try:
        url = created.render_as_string(hide_password=False)
        upgrade_to_head(url)
        yield url
    finally:
        server.drop_database(created)


@pytest.fixture
def running(tmp_path, database_url, emulator, start_devhost):
    hub = f"faults{next(_hubs)}"
    env = {
        "DATABASE_URL": database_url,
        "APP_ENVIRONMENT": "test",
        "JWT_KEY_DIRECTORY": str(tmp_path / "keys"),
        "WebPubSubConnectionString": emulator.connection_string,
        "WEBPUBSUB_HUB": hub,
        "WEBPUBSUB_ALLOWED_ORIGINS": "127.0.0.1",
        "CHAT_SEND_RATE_LIMIT": "100000",  # the limiter stays on the path, but 3 senders stay under it
    }
    assert TEST_ACCESS_KEY in emulator.connection_string
    with start_devhost(APP, env=env, extra_args=["--no-webpubsub"]) as (base, _process):
        emulator.set_hub(hub, (EventHandler(url=f"{base}/api/realtime/events"),))
        side = InProcess(env)
        try:
            yield base, hub, side
        finally:
            side.engine.dispose()


# --- helpers -------------------------------------------------------------------------------------
def _wait(predicate: Callable[[], bool], timeout: float, what: str, interval: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def _api(base: str, token: str, method: str, path: str, body: object = None) -> tuple[int, Any]:
    headers = bearer(token)
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    status, _, payload = call(method, f"{base}/api{path}", data, headers)
    return status, (json.loads(payload) if payload else None)


class TcpProxy:
    """A loopback TCP proxy to the emulator: it can cut every connection and refuse new ones."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.blocked = threading.Event()
        self.refused = 0
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, name="faults-proxy", daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.blocked.is_set():
                self.refused += 1
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._pairs.append((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, inbound: bool = False) -> None:
        # The service checks the token's audience against the Host it was reached at: like a reverse
        # proxy that preserves the host, hand it the service's own.
        rewrite = (f"127.0.0.1:{self.port}".encode(), f"127.0.0.1:{self.target_port}".encode()) if inbound else None
        try:
            while data := source.recv(65536):
                if rewrite is not None:
                    head, sep, rest = data.partition(b"\r\n\r\n")
                    data, rewrite = head.replace(*rewrite) + sep + rest, None
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        with self._lock:
            self._pairs = [pair for pair in self._pairs if source not in pair]

    def cut_all(self) -> int:
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for sock in pair:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        return len(pairs)

    def close(self) -> None:
        self._closed = True
        self.listener.close()
        self.cut_all()


class Device:
    """One official SDK client of one user; records every ``message.created`` and reply it is handed."""

    def __init__(self, name: str, base: str, token: str, *, proxy_port: int | None = None,
                 sdk_retries: bool = True) -> None:
        self.name = name
        self.base, self.token, self.proxy_port = base, token, proxy_port
        self.lock = threading.Lock()
        self.created: list[tuple[int, int]] = []  # (connection generation, seq), in arrival order
        self.sequence_ids: list[tuple[int, int]] = []  # (generation, sequenceId) of every data message
        self.connected: list[str] = []
        self.disconnected = 0
        self.replies: dict[str, list[dict[str, Any]]] = {}
        self.reply_arrived = threading.Condition(self.lock)
        self.errors: list[Any] = []
        self.cuts = 0
        self.unacked_at_cuts = 0  # messages the emulator held for replay when this device was cut
        self.client = WebPubSubClient(
            credential=WebPubSubClientCredential(client_access_url_provider=self._negotiate),
            ack_timeout=2.0,  # SDK 1.1.0 lost wake-up race (see tests/integration/webpubsub/clients.py)
            # The same race in its connect: a recovery attempt refused at once can notify before the SDK
            # waits, which then sleeps the whole start_timeout (30 s by default) before trying again.
            start_timeout=5.0,
            # A sender retries by itself (same client message id), promptly: the SDK's own retry of a send
            # made while it recovers backs off for seconds.
            **({} if sdk_retries else {"message_retry_total": 0}),
        )
        self.client.subscribe(CallbackType.GROUP_MESSAGE, lambda e: self._on_data(e.data, e.sequence_id))
        self.client.subscribe(CallbackType.SERVER_MESSAGE, lambda e: self._on_data(e.data, e.sequence_id))
        self.client.subscribe(CallbackType.CONNECTED, self._on_connected)
        self.client.subscribe(CallbackType.DISCONNECTED, self._on_disconnected)

    def _negotiate(self) -> str:
        status, body = _api(self.base, self.token, "POST", "/negotiate")
        assert status == 200, body
        url = str(body["url"])
        if self.proxy_port is not None:
            parts = urllib.parse.urlsplit(url)
            url = parts._replace(netloc=f"127.0.0.1:{self.proxy_port}").geturl()
        return url

    def _on_connected(self, event: Any) -> None:
        with self.lock:
            self.connected.append(event.connection_id)

    def _on_disconnected(self, _event: Any) -> None:
        with self.lock:
            self.disconnected += 1

    def _on_data(self, data: Any, sequence_id: int | None) -> None:
        with self.lock:
            self.sequence_ids.append((len(self.connected), sequence_id or 0))
        if not isinstance(data, dict):
            return
        kind = data.get("type")
        with self.lock:
            if kind == "message.created":
                self.created.append((len(self.connected), int(data["message"]["seq"])))
            elif kind == "message.send.ok":
                self.replies.setdefault(data["client_message_id"], []).append(data)
                self.reply_arrived.notify_all()
            elif kind == "error":
                self.errors.append(data)
                self.reply_arrived.notify_all()

    def connection_id(self) -> str | None:
        with self.lock:
            return self.connected[-1] if self.connected else None

    def seqs(self, generation: int | None = None) -> list[int]:
        with self.lock:
            return [seq for gen, seq in self.created if generation is None or gen == generation]


class Sender:
    """Streams ``message.send`` events from one device; retries on a timeout with the same client id."""

    def __init__(self, device: Device, session_id: str, proceed: threading.Event, stop_at: float,
                 rng: random.Random) -> None:
        self.device, self.session_id, self.proceed, self.stop_at, self.rng = device, session_id, proceed, stop_at, rng
        self.sent: list[str] = []  # client message ids acknowledged by a reply, in order
        self.timeouts = 0
        self.deliberate = {"immediate": 0, "after_reply": 0, "rest": 0}
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name=f"sender-{device.name}", daemon=True)

    def _frame(self, client_message_id: str) -> None:
        data = {"session_id": self.session_id, "client_message_id": client_message_id,
                "text": f"{self.device.name} {client_message_id}"}
        deadline = time.monotonic() + RECOVERY_TIMEOUT
        while True:  # the socket may be between connections: try again shortly, as an app would
            try:
                self.device.client.send_event("message.send", data, WebPubSubDataType.JSON, ack=False)
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _await_reply(self, client_message_id: str, count: int, timeout: float) -> bool:
        device = self.device
        deadline = time.monotonic() + timeout
        with device.lock:
            while len(device.replies.get(client_message_id, ())) < count:
                if device.errors:
                    raise AssertionError(f"{device.name} got an error reply: {device.errors[0]}")
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                device.reply_arrived.wait(left)
        return True

    def _until_replied(self, client_message_id: str, frames: int) -> None:
        """Send ``frames`` frames (at once), then wait for one more reply than before; resend on a timeout."""
        with self.device.lock:
            expected = len(self.device.replies.get(client_message_id, ())) + 1
        for _ in range(frames):
            self._frame(client_message_id)
        expected += frames - 1
        while not self._await_reply(client_message_id, expected, REPLY_TIMEOUT):
            self.timeouts += 1  # no reply in time (the frame died with a cut socket): send it again
            if time.monotonic() > self.stop_at:
                raise AssertionError(f"{self.device.name}: no reply for {client_message_id}")
            with self.device.lock:
                expected = len(self.device.replies.get(client_message_id, ())) + 1
            self._frame(client_message_id)

    def send(self, client_message_id: str, pattern: int) -> None:
        if pattern == 3:  # the retry is on the wire before the first reply
            self.deliberate["immediate"] += 1
        self._until_replied(client_message_id, 2 if pattern == 3 else 1)
        if pattern == 6:  # the reply came, and the app retries anyway (it did not see it in time)
            self.deliberate["after_reply"] += 1
            self._until_replied(client_message_id, 1)
        if pattern == 8:  # a retry over REST (the socket timed out; the app falls back to HTTP)
            self.deliberate["rest"] += 1
            status, body = _api(self.device.base, self.device.token, "POST",
                                f"/sessions/{self.session_id}/messages",
                                {"client_message_id": client_message_id, "text": "the REST retry"})
            assert status == 200 and body["duplicate"] is True, (status, body)
            with self.device.lock:
                first = self.device.replies[client_message_id][0]["message"]
            assert body["message"]["seq"] == first["seq"] and body["message"]["text"] == first["text"], body
        self.sent.append(client_message_id)

    def _run(self) -> None:
        try:
            tail = None
            for n in range(1, MAX_PER_SENDER + 1):
                if tail is None and n > MIN_PER_SENDER and self.proceed.is_set():
                    tail = n + TAIL_PER_SENDER
                if tail is not None and n >= tail:
                    return
                if time.monotonic() > self.stop_at:
                    raise AssertionError(f"{self.device.name}: the stream ran out of time after {n - 1} sends")
                self.send(f"{self.device.name}-{n}", n % 10)
                time.sleep(self.rng.uniform(0, 2 * SEND_PAUSE))
            raise AssertionError(f"{self.device.name}: {MAX_PER_SENDER} sends and the scenario never proceeded")
        except BaseException as exc:  # reported by the test thread
            self.failure = exc


class Cutter:
    """Cuts devices' TCP connections (emulator side, no close frame) at random short intervals."""

    def __init__(self, emulator: BackgroundEmulator, hub: str, devices: list[Device], rng: random.Random) -> None:
        self.emulator, self.hub, self.devices, self.rng = emulator, hub, devices, rng
        self.paused: set[str] = set()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="cutter", daemon=True)

    def _cut(self, connection_id: str) -> int | None:
        """On the emulator's loop: how many messages await the client's ack (to be replayed), then cut."""
        conn = self.emulator.emulator.service.find(self.hub, connection_id)
        pending = len(conn.unacked or ()) if conn is not None else 0
        return pending if self.emulator.emulator.cut(self.hub, connection_id) else None

    def _run(self) -> None:
        for device in itertools.cycle(self.devices):
            if self.stop.wait(self.rng.uniform(0.05, 0.2)):
                return
            connection_id = device.connection_id()
            if device.name in self.paused or connection_id is None:
                continue
            pending = self.emulator.run(self._cut, connection_id)
            if pending is not None:
                device.cuts += 1
                device.unacked_at_cuts += pending


def _in_group(emulator: BackgroundEmulator, hub: str, group: str, connection_id: str) -> bool:
    def check() -> bool:
        found = emulator.emulator.service.hubs.get(hub.lower())
        members = found.groups.get(group, ()) if found is not None else ()
        return any(c.connection_id == connection_id for c in members)

    return bool(emulator.run(check))


def _assert_exactly_once(name: str, seqs: list[int], total: int) -> None:
    assert len(seqs) == total and sorted(seqs) == list(range(1, total + 1)), (
        f"{name}: {len(seqs)} message.created for {total} messages; duplicates "
        f"{sorted({s for s in seqs if seqs.count(s) > 1})[:10]}, missing "
        f"{sorted(set(range(1, total + 1)) - set(seqs))[:10]}")


def _assert_each_senders_order(name: str, seqs: list[int], by_sender: list[list[int]]) -> None:
    """A sender sends its next message after the reply to the last, which follows its broadcast."""
    position = {seq: n for n, seq in enumerate(seqs)}
    for own in by_sender:
        arrived = [position[seq] for seq in own if seq in position]
        assert arrived == sorted(arrived), f"{name}: one sender's messages arrived out of their order"


def _assert_transport_exactly_once(device: Device) -> None:
    """On each logical connection the SDK handed over sequenceIds 1, 2, 3... — no gap, no repeat."""
    for generation in sorted({gen for gen, _ in device.sequence_ids}):
        ids = [sid for gen, sid in device.sequence_ids if gen == generation]
        assert ids == list(range(1, len(ids) + 1)), f"{device.name} connection {generation}: sequenceIds {ids}"


def _inversions(seqs: list[int]) -> int:
    return sum(1 for a, b in itertools.pairwise(seqs) if b < a)


# --- the test --------------------------------------------------------------------------------------
def test_every_receiver_holds_every_message_exactly_once_through_cuts_and_a_long_absence(running, emulator):
    base, hub, side = running
    started = time.monotonic()
    stop_at = started + BUDGET
    ana, bia, caio = (side.user(f"{n}@example.com") for n in ("ana", "bia", "caio"))
    tokens = {user.id: side.sign_in(user).access_token for user in (ana, bia, caio)}

    status, room = _api(base, tokens[ana.id], "POST", "/sessions", {"title": "Faltas"})
    assert status == 201, room
    session_id = room["id"]
    for user in (bia, caio):
        status, body = _api(base, tokens[ana.id], "POST", f"/sessions/{session_id}/members", {"user_id": str(user.id)})
        assert status == 201, body
    group = f"session.{session_id}"

    proxy = TcpProxy(emulator.port)
    receivers = [Device("ana-phone", base, tokens[ana.id]), Device("bia-phone", base, tokens[bia.id]),
                 Device("caio-phone", base, tokens[caio.id], proxy_port=proxy.port)]
    senders = [Device(f"{name}-laptop", base, tokens[user.id], sdk_retries=False) for name, user in
               (("ana", ana), ("bia", bia), ("caio", caio))]
    away = receivers[2]
    rng = random.Random(4)
    proceed = threading.Event()
    streams = [Sender(device, session_id, proceed, stop_at, random.Random(n)) for n, device in enumerate(senders)]
    cutter = Cutter(emulator, hub, [*receivers, *senders], rng)
    opened: list[Device] = []
    try:
        for device in receivers + senders:
            device.client.open()
            opened.append(device)
        for device in receivers + senders:
            _wait(lambda d=device: d.connection_id() is not None, 10, f"{device.name} to be connected")
            _wait(lambda d=device: _in_group(emulator, hub, group, d.connection_id()), 10,
                  f"{device.name} to join the session's group")

        for stream in streams:
            stream.thread.start()
        cutter.thread.start()

        # Caio's phone goes away once the stream is under way, for longer than the recovery window.
        _wait(lambda: sum(len(s.sent) for s in streams) >= 60 or any(s.failure for s in streams), 20,
              f"the first 60 messages ({[(len(s.sent), s.timeouts, s.failure) for s in streams]})")
        cutter.paused.add(away.name)
        first_connection = away.connection_id()
        assert first_connection is not None
        _wait(lambda: away.client.is_connected() and emulator.run(
            lambda: emulator.emulator.service.find(hub, first_connection).ws is not None), RECOVERY_TIMEOUT,
              "Caio's phone to recover from its last cut")
        proxy.blocked.set()
        assert proxy.cut_all() >= 1
        went_away = time.monotonic()
        _wait(lambda: first_connection not in emulator.connection_ids(hub), RECOVERY_WINDOW + 5,
              "the emulator to end Caio's connection after the recovery window")
        assert time.monotonic() - went_away >= RECOVERY_WINDOW - 0.5
        assert proxy.refused >= 1, "the SDK never tried to recover while Caio was away"
        before = away.seqs(generation=1)
        proxy.blocked.clear()

        # The SDK's next recovery gets 1008, so it reconnects with a fresh negotiated URL.
        _wait(lambda: len(away.connected) == 2, 15, "Caio's phone to reconnect")
        assert away.connected[1] != first_connection and away.disconnected >= 1
        cutter.paused.discard(away.name)
        _wait(lambda: bool(away.seqs(generation=2)), 10, "Caio's first live message on the new connection")
        held = set(before)
        b = next(n for n in itertools.count() if n + 1 not in held)  # the last seq held with none missing below
        after_seq = b
        pages: list[list[int]] = []
        while True:
            status, page = _api(base, tokens[caio.id], "GET",
                                f"/sessions/{session_id}/messages?after_seq={after_seq}&limit=40")
            assert status == 200, page
            pages.append([m["seq"] for m in page["messages"]])
            if not page["has_more"]:
                break
            after_seq = page["next_after_seq"]
            assert time.monotonic() < stop_at, "the catch-up did not end"
        proceed.set()

        for stream in streams:
            stream.thread.join(max(0.1, stop_at - time.monotonic()))
            assert not stream.thread.is_alive(), f"{stream.device.name} did not finish in time"
            if stream.failure is not None:
                raise stream.failure
        total = sum(len(s.sent) for s in streams)
        live = [receivers[0], receivers[1], *senders]
        for device in live:
            _wait(lambda d=device: len(d.seqs()) >= total, max(1, stop_at - time.monotonic()),
                  f"{device.name} to receive all {total} messages (it has {len(device.seqs())})")
        _wait(lambda: total in away.seqs(generation=2),
              max(1, stop_at - time.monotonic()), "Caio's phone to receive the last message live")
        cutter.stop.set()
        cutter.thread.join(5)
        time.sleep(0.5)  # anything doubled would arrive now
    finally:
        cutter.stop.set()
        for device in opened:
            with contextlib.suppress(Exception):
                device.client.close()
        proxy.close()

    # The senders' view: one original per client message id, every retry answered with it.
    sent_ids = [cid for stream in streams for cid in stream.sent]
    assert len(sent_ids) == len(set(sent_ids)) == total
    for stream in streams:
        assert all(stream.deliberate.values()), stream.deliberate
        for cid in stream.sent:
            replies = stream.device.replies[cid]
            assert [r["duplicate"] for r in replies].count(False) == 1, (cid, replies)
            assert len({r["message"]["seq"] for r in replies}) == 1, (cid, replies)
            assert all(r["message"]["client_message_id"] == cid for r in replies)
        assert not stream.device.errors, stream.device.errors

    # Receivers that were only cut, and the senders: every seq exactly once, in order.
    # (The SDK recovers in about a second, so a device can be cut about once a second.)
    assert sum(d.cuts for d in [*receivers, *senders]) >= 25
    for device in [receivers[0], receivers[1], *senders]:
        assert device.cuts >= 3, f"{device.name} was cut only {device.cuts} times"
        assert device.unacked_at_cuts > 0, f"{device.name} never had a message to replay when cut"
        assert device.connected == device.connected[:1], f"{device.name} reconnected instead of recovering"
    by_sender = [[stream.device.replies[cid][0]["message"]["seq"] for cid in stream.sent] for stream in streams]
    for device in [*receivers, *senders]:
        _assert_transport_exactly_once(device)
        _assert_each_senders_order(device.name, device.seqs(), by_sender)
    for device in [receivers[0], receivers[1], *senders]:
        _assert_exactly_once(device.name, device.seqs(), total)

    # Caio: live before + catch-up + live after, as defined in the module docstring.
    after = away.seqs(generation=2)
    catch_up = [seq for page in pages for seq in page]
    catch_up_last_seq = catch_up[-1] if catch_up else b
    assert len(before) == len(set(before)) and set(range(1, b + 1)) <= set(before), f"before the absence: {before}"
    assert b < total and catch_up == list(range(b + 1, catch_up_last_seq + 1)), (b, catch_up_last_seq, catch_up)
    assert len(pages) >= 2, f"the catch-up should take several pages: {pages}"
    assert len(after) == len(set(after)), f"live after the absence, not each once: {after}"
    assert not set(before) & set(after)
    assert set(range(catch_up_last_seq + 1, total + 1)) <= set(after), "a message after the catch-up was missed"
    assert sorted(set(before) | set(catch_up) | set(after)) == list(range(1, total + 1)), "Caio misses messages"
    assert max(after) == total and min(after) <= catch_up_last_seq + 1

    # The database: each message exactly once.
    with side.engine.connect() as connection:
        rows = connection.execute(
            sa.select(messages_table.c.seq, messages_table.c.client_message_id)
            .where(messages_table.c.session_id == uuid.UUID(session_id)).order_by(messages_table.c.seq)
        ).all()
    assert [row.seq for row in rows] == list(range(1, total + 1))
    assert sorted(row.client_message_id for row in rows) == sorted(sent_ids)

    duration = time.monotonic() - started
    print(f"\n{total} messages; cuts {[d.cuts for d in [*receivers, *senders]]}, replayed "
          f"{[d.unacked_at_cuts for d in [*receivers, *senders]]}; timeouts retried "
          f"{[s.timeouts for s in streams]}; deliberate retries {[s.deliberate for s in streams]}; "
          f"Caio: before 1..{b}, catch-up {b + 1}..{catch_up_last_seq} in {len(pages)} pages, live after "
          f"{min(after)}..{max(after)} ({len(after)}), {proxy.refused} refused recoveries; broadcast order "
          f"inversions {[_inversions(d.seqs()) for d in receivers]}; scenario {duration:.1f}s")
    assert duration < BUDGET
