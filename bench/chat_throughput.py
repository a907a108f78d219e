"""Issue 4's benchmark: chat messages through devhost (emulator + event handler + PostgreSQL) vs a raw
``sendToGroup`` through the emulator alone, plus the emulator's memory per idle connection.

What it measures, in one run, loopback only, every phase bounded in count and time:

- **app path**: 10 chat sessions; per session ``SENDERS_PER_SESSION`` sender connections (each its own
  user) and one receiver connection (another member). Each sender streams ``message.send`` client
  events (``{"type":"event","event":"message.send",...,"ackId":n}``) closed-loop (one in flight per
  connection, like the real service: it holds a connection's reads while the upstream answers).
  The emulator POSTs each one as a CloudEvent to the real ``function_app``'s event handler, which runs
  ``SendMessage`` on PostgreSQL (membership, rate limit, seq, insert, commit) and broadcasts
  ``message.created`` to the session's group through the server SDK. Reported: **persisted
  messages/s** (rows counted in the database over the measured window), and **end-to-end latency
  p50/p99**: from the sender writing the frame to the receiver connection getting the
  ``message.created`` broadcast (the send time travels in the message text; sender and receiver
  share this process's monotonic clock).
- **raw path**: the same clients, the same emulator, a hub with no event handler: each sender does
  ``sendToGroup`` (with ackId) to its session's group; same latency definition (send → the receiver
  connection gets the group message). The ratio app/raw says what the app costs.
- **idle memory**: a separate emulator process; a separate client process opens 1,000 raw aiohttp
  WebSocket connections and holds them; (emulator RSS with them − RSS before) / 1,000.

Clients are raw aiohttp WebSockets speaking ``json.webpubsub.azure.v1`` (the official SDKs are
covered by the tests; a raw client does not cap throughput). The send rate limit stays **on**,
raised to 100,000 per 10 s so that it costs what it costs without refusing the load.

PostgreSQL: a throwaway database on ``TEST_POSTGRES_URL`` (default the local server), dropped at the
end. Run alone: ``.venv/bin/python bench/chat_throughput.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(ROOT))

from bench.processes import free_port, serving  # noqa: E402
from devhost.child_process import wait_until_listening  # noqa: E402

SESSIONS = 10
SENDERS_PER_SESSION = 2
MESSAGES = 5000  # per measured phase (all senders together)
WARMUP_MESSAGES = 300
PHASE_TIME_LIMIT = 25.0
IDLE_CONNECTIONS = 1000
# Python worker processes serving the app (the host's FUNCTIONS_WORKER_PROCESS_COUNT): one per core,
# as Azure's guidance for CPU-bound Python apps says; CHAT_BENCH_WORKERS overrides it.
WORKER_PROCESSES = int(os.environ.get("CHAT_BENCH_WORKERS", str(os.cpu_count() or 1)))
APP_HUB = "chat"
RAW_HUB = "rawbench"
ACCESS_KEY = "YmVuY2gtY2hhdC10aHJvdWdocHV0LWtleS0wMTIzNDU2Nzg="
DEFAULT_POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SUBPROTOCOL = "json.webpubsub.azure.v1"


def _cpu_seconds(pid: int) -> float:
    """CPU of ``pid`` and its live child processes (devhost's HTTP worker processes)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry.name) == pid or int(fields[1]) == pid:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


@contextlib.contextmanager
def _postgres_database() -> Iterator[str]:
    import sqlalchemy as sa

    admin_url = sa.make_url(os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES_ADMIN_URL))
    name = f"bench_chat_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


# --- the load -------------------------------------------------------------------------------------


class _Conn:
    """One raw ``json.webpubsub.azure.v1`` client connection."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.acks: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.on_data: Any = None  # callback(data) for group/server messages
        self._ack_ids = itertools.count(1)
        self.reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        import aiohttp

        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            frame = json.loads(msg.data)
            kind = frame.get("type")
            if kind == "ack":
                future = self.acks.pop(frame["ackId"], None)
                if future is not None and not future.done():
                    future.set_result(frame)
            elif kind == "message" and self.on_data is not None:
                self.on_data(frame.get("data"))

    async def request(self, frame: dict[str, Any], timeout: float = 10.0) -> dict[str, Any]:
        ack_id = next(self._ack_ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.acks[ack_id] = future
        await self.ws.send_str(json.dumps({**frame, "ackId": ack_id}))
        return await asyncio.wait_for(future, timeout)

    async def close(self) -> None:
        await self.ws.close()
        self.reader.cancel()


class _Phase:
    def __init__(self) -> None:
        self.sent_at: dict[str, float] = {}  # marker -> perf_counter at send
        self.latencies: list[float] = []
        self.seen: set[str] = set()
        self.errors: dict[str, int] = {}
        self.acked = 0

    def received(self, marker: str) -> None:
        started = self.sent_at.get(marker)
        if started is not None and marker not in self.seen:
            self.seen.add(marker)
            self.latencies.append(time.perf_counter() - started)

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1


def _marker_of_app(data: Any) -> str | None:
    if isinstance(data, dict) and data.get("type") == "message.created":
        text = data["message"]["text"]
        return str(text.split("|", 1)[0])
    return None


def _marker_of_raw(data: Any) -> str | None:
    return str(data["m"]) if isinstance(data, dict) and "m" in data else None


async def _open(session: Any, url: str) -> _Conn:
    ws = await session.ws_connect(url, protocols=(SUBPROTOCOL,), autoping=True, max_msg_size=0)
    first = json.loads((await ws.receive(timeout=10)).data)
    if first.get("type") != "system" or first.get("event") != "connected":
        raise RuntimeError(f"unexpected first frame {first}")
    return _Conn(ws)


async def _drive(senders: list[tuple[_Conn, str]], phase: _Phase, count: int, make_frame: Any,
                 time_limit: float) -> float:
    """Closed loop: every sender keeps one request in flight until ``count`` are acked in total."""
    tickets = iter(range(count))
    deadline = time.perf_counter() + time_limit

    async def sender(conn: _Conn, target: str) -> None:
        for n in tickets:
            if time.perf_counter() > deadline:
                return
            marker = f"{id(phase)}-{n}"
            phase.sent_at[marker] = time.perf_counter()
            try:
                ack = await conn.request(make_frame(target, marker))
            except TimeoutError:
                phase.error("ack timeout")
                continue
            if ack.get("success"):
                phase.acked += 1
            else:
                phase.error(str(ack.get("error", {}).get("name")))

    started = time.perf_counter()
    await asyncio.gather(*(sender(conn, target) for conn, target in senders))
    return time.perf_counter() - started


async def _drain(phase: _Phase, expected: int, timeout: float = 10.0) -> None:
    deadline = time.perf_counter() + timeout
    while len(phase.seen) < expected and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)


def _summary(phase: _Phase, seconds: float, count: int) -> dict[str, Any]:
    lat = sorted(phase.latencies)

    def pct(p: float) -> float:
        return round(lat[min(len(lat) - 1, int(p * len(lat)))] * 1000, 2) if lat else float("nan")

    return {
        "messages": count, "seconds": round(seconds, 3), "acked": phase.acked,
        "acked_per_s": round(phase.acked / seconds, 1) if seconds else 0.0,
        "received_by_receiver": len(phase.seen), "p50_ms": pct(0.50), "p99_ms": pct(0.99),
        "max_ms": round(lat[-1] * 1000, 2) if lat else float("nan"),
        "mean_ms": round(statistics.mean(lat) * 1000, 2) if lat else float("nan"),
        "errors": phase.errors,
    }


def _app_frame(target: str, marker: str) -> dict[str, Any]:
    data = {"session_id": target, "client_message_id": marker, "text": f"{marker}|olá, benchmark"}
    return {"type": "event", "event": "message.send", "dataType": "json", "data": data}


def _raw_frame(target: str, marker: str) -> dict[str, Any]:
    return {"type": "sendToGroup", "group": target, "dataType": "json", "data": {"m": marker, "text": "olá, benchmark"}}


async def _load(plan: dict[str, Any], count_rows: Any, devhost_pid: int, emulator_pid: int) -> dict[str, Any]:
    import aiohttp

    results: dict[str, Any] = {}
    async with aiohttp.ClientSession() as http:
        # App hub: senders + one receiver per session, all members of their session.
        app_senders: list[tuple[_Conn, str]] = []
        app_receivers: list[_Conn] = []
        for room in plan["app"]:
            for url in room["senders"]:
                app_senders.append((await _open(http, url), room["session_id"]))
            app_receivers.append(await _open(http, room["receiver"]))
        # Raw hub: the same shape, joined with joinGroup.
        raw_senders: list[tuple[_Conn, str]] = []
        raw_receivers: list[_Conn] = []
        for room in plan["raw"]:
            for url in room["senders"]:
                conn = await _open(http, url)
                await conn.request({"type": "joinGroup", "group": room["group"]})
                raw_senders.append((conn, room["group"]))
            receiver = await _open(http, room["receiver"])
            await receiver.request({"type": "joinGroup", "group": room["group"]})
            raw_receivers.append(receiver)

        async def app_phase(count: int) -> tuple[_Phase, float, float, int]:
            phase = _Phase()
            for conn in app_receivers:
                conn.on_data = lambda data, p=phase: (m := _marker_of_app(data)) and p.received(m)
            rows_before = count_rows()
            cpu_before = _cpu_seconds(devhost_pid)
            seconds = await _drive(app_senders, phase, count, _app_frame, PHASE_TIME_LIMIT)
            rows = count_rows() - rows_before
            cpu = _cpu_seconds(devhost_pid) - cpu_before
            await _drain(phase, phase.acked)
            return phase, seconds, cpu, rows

        async def raw_phase(count: int) -> tuple[_Phase, float, float]:
            phase = _Phase()
            for conn in raw_receivers:
                conn.on_data = lambda data, p=phase: (m := _marker_of_raw(data)) and p.received(m)
            cpu_before = _cpu_seconds(emulator_pid)
            seconds = await _drive(raw_senders, phase, count, _raw_frame, PHASE_TIME_LIMIT)
            cpu = _cpu_seconds(emulator_pid) - cpu_before
            await _drain(phase, phase.acked)
            return phase, seconds, cpu

        # Warm-up: first-use imports, pools, the abuse-protection handshake; every receiver has joined.
        await app_phase(WARMUP_MESSAGES)
        await raw_phase(WARMUP_MESSAGES)
        profiler = None
        if os.environ.get("BENCH_PROFILE"):  # py-spy over devhost during the measured app phase
            profiler = subprocess.Popen([str(Path(sys.executable).with_name("py-spy")), "record", "--gil", "-p",
                                         str(devhost_pid), "-d", "10", "-r", "200", "--format", "raw", "-o",
                                         os.environ["BENCH_PROFILE"]], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        phase, seconds, cpu, rows = await app_phase(MESSAGES)
        if profiler is not None:
            profiler.wait(30)
        app = _summary(phase, seconds, MESSAGES)
        app.update(persisted=rows, persisted_per_s=round(rows / seconds, 1), devhost_cpu_s=round(cpu, 2),
                   devhost_cpu_ms_per_message=round(cpu * 1000 / max(rows, 1), 3))
        results["app"] = app
        phase, seconds, cpu = await raw_phase(MESSAGES)
        raw = _summary(phase, seconds, MESSAGES)
        raw.update(emulator_cpu_ms_per_message=round(cpu * 1000 / max(phase.acked, 1), 3))
        results["raw"] = raw
        for conn, _ in app_senders + raw_senders:
            await conn.close()
        for conn in app_receivers + raw_receivers:
            await conn.close()
    return results


# --- idle connections (a separate client process) ---------------------------------------------------


async def _hold_idle(urls: list[str], hold_seconds: float) -> None:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        sockets = []
        for n in range(0, len(urls), 50):
            sockets += await asyncio.gather(*(http.ws_connect(u, protocols=(SUBPROTOCOL,), autoping=True)
                                              for u in urls[n:n + 50]))
        for ws in sockets:  # each got its "connected" frame
            await ws.receive(timeout=10)
        print(f"OPEN {len(sockets)}", flush=True)
        await asyncio.sleep(hold_seconds)
        for ws in sockets:
            await ws.close()


def _idle_memory(directory: Path) -> dict[str, Any]:
    from azure.messaging.webpubsubservice import WebPubSubServiceClient

    port = free_port()
    connection_string = f"Endpoint=http://127.0.0.1:{port};AccessKey={ACCESS_KEY};Version=1.0;"
    cmd = [sys.executable, "-m", "devhost.webpubsub", "--port", str(port), "--connection-string", connection_string,
           "--log-level", "WARNING"]
    with serving(cmd, {}, directory / "emulator.log", port) as emulator:
        service = WebPubSubServiceClient.from_connection_string(connection_string, hub="idle")
        urls = [service.get_client_access_token(user_id=f"idle-{n}", minutes_to_expire=30)["url"]
                for n in range(IDLE_CONNECTIONS)]
        # One connection first, so the lazy first-use allocations are not counted as per-connection cost.
        warm = [service.get_client_access_token(user_id="warm")["url"]]
        url_file = directory / "idle-urls.json"
        url_file.write_text(json.dumps(warm))
        _run_idle_client(url_file, 1.0)
        time.sleep(0.5)
        before = _rss_kb(emulator.pid)
        url_file.write_text(json.dumps(urls))
        client = subprocess.Popen([sys.executable, __file__, "--idle-client", str(url_file), "15"], cwd=ROOT,
                                  stdout=subprocess.PIPE, text=True)
        try:
            assert client.stdout is not None
            line = client.stdout.readline()
            if not line.startswith("OPEN"):
                raise RuntimeError(f"idle client failed: {line!r}")
            time.sleep(1.5)
            with_idle = _rss_kb(emulator.pid)
        finally:
            client.terminate()
            client.wait(15)
    delta = with_idle - before
    return {"connections": IDLE_CONNECTIONS, "rss_before_kb": before, "rss_with_idle_kb": with_idle,
            "kb_per_idle_connection": round(delta / IDLE_CONNECTIONS, 2)}


def _run_idle_client(url_file: Path, hold: float) -> None:
    subprocess.run([sys.executable, __file__, "--idle-client", str(url_file), str(hold)], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, timeout=60)


# --- setup ----------------------------------------------------------------------------------------


def run(*, separate_emulator: bool = False) -> dict[str, Any]:
    """``separate_emulator``: run the emulator as ``python -m devhost.webpubsub`` instead of inside
    devhost (which shares one process, so one GIL, between the emulator and the app)."""
    import sqlalchemy as sa
    from azure.messaging.webpubsubservice import WebPubSubServiceClient

    from domain.chat import ChatSession, MemberRole, SessionMember
    from domain.users import User
    from infra.sql.engine import create_engine_for
    from infra.sql.migrate import upgrade_to_head
    from infra.sql.models import messages
    from infra.sql.unit_of_work import make_uow_factory

    with tempfile.TemporaryDirectory(prefix="bench-chat-") as temp, contextlib.ExitStack() as stack:
        directory = Path(temp)
        url = stack.enter_context(_postgres_database())
        upgrade_to_head(url)
        port, emulator_port = free_port(), free_port()
        connection_string = f"Endpoint=http://127.0.0.1:{emulator_port};AccessKey={ACCESS_KEY};Version=1.0;"
        handler = {"url": f"http://127.0.0.1:{port}/api/realtime/events", "user_events": "*",
                   "system_events": ["connect", "connected", "disconnected"]}
        env = {"DATABASE_URL": url, "APP_ENVIRONMENT": "test", "JWT_KEY_DIRECTORY": str(directory / "keys"),
               "LOG_LEVEL": "WARNING", "WebPubSubConnectionString": connection_string, "WEBPUBSUB_HUB": APP_HUB,
               "WEBPUBSUB_ALLOWED_ORIGINS": "127.0.0.1", "WEBPUBSUB_EMULATOR_HUBS": json.dumps({APP_HUB: handler}),
               "CHAT_SEND_RATE_LIMIT": "100000", "CHAT_SEND_RATE_WINDOW_SECONDS": "10",
               "FUNCTIONS_WORKER_PROCESS_COUNT": str(WORKER_PROCESSES)}
        engine = create_engine_for(url)
        stack.callback(engine.dispose)
        uow_factory = make_uow_factory(engine)
        rooms = []
        with uow_factory() as uow:
            for n in range(SESSIONS):
                people = [User(display_name=f"U{n}.{k}", email=f"u{n}.{k}@example.com", email_verified=True)
                          for k in range(SENDERS_PER_SESSION + 1)]
                for user in people:
                    uow.users.add(user)
                session = ChatSession(title=f"Bench {n}", created_by=people[0].id)
                uow.sessions.add(session)
                for k, user in enumerate(people):
                    role = MemberRole.OWNER if k == 0 else MemberRole.MEMBER
                    uow.members.add(SessionMember(session_id=session.id, user_id=user.id, role=role))
                rooms.append((session.id, [str(u.id) for u in people]))
            uow.commit()

        def count_rows() -> int:
            with engine.connect() as connection:
                return int(connection.execute(sa.select(sa.func.count()).select_from(messages)).scalar_one())

        cmd = [sys.executable, "-m", "devhost", "--app", "function_app", "--port", str(port), "--no-azurite",
               "--log-level", "WARNING"]
        if separate_emulator:  # the emulator in its own process (like the real service: not in the app's GIL)
            cmd.append("--no-webpubsub")
            emulator_cmd = [sys.executable, "-m", "devhost.webpubsub", "--log-level", "WARNING"]
            emulator_pid = stack.enter_context(serving(emulator_cmd, env, directory / "emulator-app.log",
                                                        emulator_port)).pid
        devhost = stack.enter_context(serving(cmd, env, directory / "devhost.log", port))
        if not separate_emulator:
            emulator_pid = devhost.pid
        wait_until_listening(devhost, "127.0.0.1", emulator_port, timeout=40.0, what="the emulator",
                             error=RuntimeError, hint=f" (see {directory / 'devhost.log'})")
        app_service = WebPubSubServiceClient.from_connection_string(connection_string, hub=APP_HUB)
        raw_service = WebPubSubServiceClient.from_connection_string(connection_string, hub=RAW_HUB)
        raw_roles = ["webpubsub.sendToGroup", "webpubsub.joinLeaveGroup"]

        def token(service: Any, user_id: str, roles: list[str] | None = None) -> str:
            return str(service.get_client_access_token(user_id=user_id, roles=roles, minutes_to_expire=30)["url"])

        plan: dict[str, Any] = {"app": [], "raw": []}
        for session_id, member_ids in rooms:
            plan["app"].append({"session_id": str(session_id), "receiver": token(app_service, member_ids[0]),
                                "senders": [token(app_service, u) for u in member_ids[1:]]})
            plan["raw"].append({"group": f"raw.{session_id}", "receiver": token(raw_service, member_ids[0], raw_roles),
                                "senders": [token(raw_service, u, raw_roles) for u in member_ids[1:]]})

        result = asyncio.run(_load(plan, count_rows, devhost.pid, emulator_pid))
        with engine.connect() as connection:  # the guarantees held under load: seqs 1..N per session
            gaps = connection.execute(sa.text(
                "SELECT count(*) FROM (SELECT session_id, count(*) AS n, max(seq) AS top, count(DISTINCT seq) AS d"
                " FROM messages GROUP BY session_id) s WHERE n <> top OR d <> n")).scalar_one()
        result["sessions_with_seq_gaps_or_duplicates"] = int(gaps)
        engine.dispose()
        result["idle"] = _idle_memory(directory)

    result.update(emulator="separate process" if separate_emulator else "in devhost", sessions=SESSIONS,
                  senders_per_session=SENDERS_PER_SESSION, receivers_per_session=1, database="postgresql",
                  messages_per_phase=MESSAGES, cores=os.cpu_count(), worker_processes=WORKER_PROCESSES,
                  ratio_app_to_raw=round(result["app"]["persisted_per_s"] / result["raw"]["acked_per_s"], 3))
    return result


def report(result: dict[str, Any]) -> str:
    app, raw, idle = result["app"], result["raw"], result["idle"]
    target = "MET" if app["persisted_per_s"] >= 500 and app["p99_ms"] < 100 else "NOT MET"
    return "\n".join([
        f"chat throughput (devhost + emulator {result['emulator']} + {result['database']}, "
        f"{result['sessions']} sessions x {result['senders_per_session']} senders + 1 receiver, "
        f"{result['messages_per_phase']} messages/phase, "
        f"closed loop, {result['cores']} cores, {result['worker_processes']} app worker process(es)):",
        f"  {'path':<34}{'msg/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}  errors",
        f"  {'app: message.send -> created':<34}{app['persisted_per_s']:>9.1f}{app['p50_ms']:>9.2f}"
        f"{app['p99_ms']:>9.2f}{app['max_ms']:>9.2f}  {app['errors'] or '-'}",
        f"  {'raw: sendToGroup (emulator only)':<34}{raw['acked_per_s']:>9.1f}{raw['p50_ms']:>9.2f}"
        f"{raw['p99_ms']:>9.2f}{raw['max_ms']:>9.2f}  {raw['errors'] or '-'}",
        f"  ratio app/raw = {result['ratio_app_to_raw']}; persisted {app['persisted']} rows, receiver got "
        f"{app['received_by_receiver']}; seq gaps/dups in {result['sessions_with_seq_gaps_or_duplicates']} sessions",
        f"  CPU per message: devhost {app['devhost_cpu_ms_per_message']} ms (app path), "
        f"{raw['emulator_cpu_ms_per_message']} ms (raw path); the app processes alone would persist "
        f"~{1000 / max(app['devhost_cpu_ms_per_message'], 0.001):.0f} msg/s per core of their own",
        f"  target >= 500 msg/s with p99 < 100 ms: {target}",
        f"  idle: {idle['connections']} connections, emulator RSS {idle['rss_before_kb']} -> "
        f"{idle['rss_with_idle_kb']} kB = {idle['kb_per_idle_connection']} kB per idle connection",
    ])


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--idle-client":
        asyncio.run(_hold_idle(json.loads(Path(sys.argv[2]).read_text()), float(sys.argv[3])))
    else:
        print(report(run(separate_emulator="--separate-emulator" in sys.argv)))
