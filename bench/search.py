"""Issue 5's benchmark: message search on a million messages, through the API and as bare SQL.

For each dialect (SQLite FTS5, PostgreSQL tsvector + GIN) on the generated corpus
(``bench/search_data.py``, cached under ``.data/bench/``):

- **API**: ``GET /api/messages/search`` through devhost serving the real ``function_app``, one
  keep-alive client, signed in as the user whose membership count is closest to 50 sessions;
- **bare**: the very SQL statements the endpoint ran for that request (captured once in-process with
  a SQLAlchemy cursor hook: the membership lookup on SQLite, the search, the two hydration queries),
  replayed on a plain DB-API connection (``sqlite3`` in one transaction / ``psycopg`` in autocommit,
  unprepared) to the same database.

Each of the 20 queries: 2 warm-up runs, then ``RUNS`` timed runs; p50 and p95 in ms. Target: API
p95 <= 50 ms and API/bare <= 1.5. Also reports index size next to table size.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import sqlite3
import statistics
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.auth_me import _devhost
from bench.search_data import DATA_DIR, HEADS, SPAN, START, Shape, ensure_postgres, ensure_sqlite

RUNS = int(os.environ.get("SEARCH_BENCH_RUNS", "20"))
TARGET_P95_MS = 50.0
TARGET_RATIO = 1.5
POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def queries(user_sessions: list[uuid.UUID], rare: str) -> list[tuple[str, dict[str, str]]]:
    last_30_days = (START + SPAN - timedelta(days=30)).date().isoformat()
    one_session = str(user_sessions[0])
    return [
        ("common 'não', relevance", {"q": "não"}),
        ("common 'não', date", {"q": "não", "sort": "date"}),
        ("accent-free 'nao', relevance", {"q": "nao"}),
        ("medium 'reunião', relevance", {"q": "reunião"}),
        ("medium 'reuniao', date", {"q": "reuniao", "sort": "date"}),
        (f"rare '{rare}', relevance", {"q": rare}),
        (f"rare '{rare}', date", {"q": rare, "sort": "date"}),
        ("two words 'reunião amanhã'", {"q": "reunião amanhã"}),
        ("phrase \"bom dia\", relevance", {"q": '"bom dia"'}),
        ("phrase \"bom dia\", date", {"q": '"bom dia"', "sort": "date"}),
        ("prefix 'reuni*', relevance", {"q": "reuni*"}),
        ("prefix 'reuni*', date", {"q": "reuni*", "sort": "date"}),
        ("exclusion 'reunião -hoje'", {"q": "reunião -hoje"}),
        ("'não' + last 30 days, relevance", {"q": "não", "after": last_30_days}),
        ("'reunião' from:me, date", {"q": "reunião from:me", "sort": "date"}),
        ("'não' in:<one session>, date", {"q": f"não in:{one_session}", "sort": "date"}),
        ("'não' has:file, relevance", {"q": "não has:file"}),
        ("'meeting' sender_kind=agent", {"q": "meeting", "sender_kind": "agent"}),
        ("'mañana' language=es sentiment=positive", {"q": "mañana", "language": "es", "sentiment": "positive"}),
        ("'the project' + page 2 (cursor)", {"q": "the project", "page": "2"}),
    ]


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return statistics.median(ordered), p95


class Capture:
    """Records the statements SQLAlchemy sends (minus transaction control) during a block."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.statements: list[tuple[str, Any]] = []

    def _hook(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if statement.split(None, 1)[0].upper() not in ("BEGIN", "COMMIT", "ROLLBACK"):
            self.statements.append((statement, parameters))

    @contextlib.contextmanager
    def recording(self) -> Iterator[None]:
        import sqlalchemy as sa

        self.statements = []
        sa.event.listen(self.engine, "before_cursor_execute", self._hook)
        try:
            yield
        finally:
            sa.event.remove(self.engine, "before_cursor_execute", self._hook)


def _bench_user(engine: Any) -> tuple[uuid.UUID, list[uuid.UUID]]:
    import sqlalchemy as sa

    from infra.sql.models import session_members as sm

    with engine.connect() as connection:
        count = sa.func.count().label("n")
        rows = connection.execute(sa.select(sm.c.user_id, count).group_by(sm.c.user_id)).all()
        user_id = min(rows, key=lambda r: (abs(r.n - 50), str(r.user_id))).user_id
        sessions = [r[0] for r in connection.execute(
            sa.select(sm.c.session_id).where(sm.c.user_id == user_id).order_by(sm.c.session_id))]
    return user_id, sessions


def _rare_word(engine: Any, sessions: list[uuid.UUID]) -> str:
    """A tail (synthetic) word of one of the user's messages: ~100 messages corpus-wide."""
    import sqlalchemy as sa

    from domain.search import tokenize
    from infra.sql.models import messages

    head = {w for text in HEADS.values() for w in tokenize(text)}
    with engine.connect() as connection:
        bodies = connection.execute(sa.select(messages.c.body).where(messages.c.session_id == sessions[0],
                                                                     messages.c.body != "")
                                    .order_by(messages.c.id).limit(50)).scalars()
        for body in bodies:
            tail = sorted((w for w in body.split() if w.lower().strip(".!?") not in head and len(w) > 6),
                          key=lambda w: (-len(w), w))
            if tail:
                return str(tail[0].lower().strip(".!?"))
    return "maxomgér"


def _sign_in(url: str, user_id: uuid.UUID, env: dict[str, str]) -> str:
    from application.identity.results import ClientInfo
    from application.identity.sessions import SessionIssuer
    from domain.auth_sessions import SessionPolicy
    from infra.sql.engine import create_engine_for
    from infra.sql.unit_of_work import make_uow_factory
    from infra.tokens.factory import build_access_tokens, build_key_ring
    from shared.clock import SystemClock
    from shared.settings import load_settings

    settings = load_settings(env)
    tokens = build_access_tokens(settings, build_key_ring(settings))
    engine = create_engine_for(url)
    try:
        with make_uow_factory(engine)() as uow:
            user = uow.users.get(user_id)
            assert user is not None
            pair = SessionIssuer(tokens, SystemClock(), SessionPolicy()).start(
                uow, user, ["oidc:dev"], ClientInfo("127.0.0.1", "bench-search"))
            uow.commit()
    finally:
        engine.dispose()
    return pair.access_token


def _replayer(url: str) -> tuple[Callable[[list[tuple[str, Any]]], None], Callable[[], None]]:
    if url.startswith("sqlite"):
        db = sqlite3.connect(url.split("sqlite:///", 1)[1], isolation_level=None)

        def replay_sqlite(statements: list[tuple[str, Any]]) -> None:
            db.execute("BEGIN")
            for statement, params in statements:
                db.execute(statement, params).fetchall()
            db.execute("COMMIT")

        return replay_sqlite, db.close
    import psycopg
    from sqlalchemy.engine import make_url

    # The cheapest honest replay: autocommit (no BEGIN/ROLLBACK round trips; the app's search runs
    # in autocommit too) and unprepared, like the app's search (a prepared full-text statement
    # drifts to a generic plan, which would slow the bare side and flatter the ratio).
    pg = psycopg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False),
                         autocommit=True, prepare_threshold=None)

    def replay_postgres(statements: list[tuple[str, Any]]) -> None:
        with pg.cursor() as cur:
            for statement, params in statements:
                cur.execute(statement, params)
                cur.fetchall()

    return replay_postgres, pg.close


def _sizes(url: str) -> dict[str, float]:
    mb = 1024 * 1024
    if url.startswith("sqlite"):
        path = url.split("sqlite:///", 1)[1]
        db = sqlite3.connect(path)
        try:
            rows = db.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall()
            indexes = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'index' "
                                                "AND tbl_name = 'messages'")}
        finally:
            db.close()
        size = dict(rows)
        fts = sum(v for k, v in size.items() if k.startswith("messages_fts"))
        return {"table_mb": round(size.get("messages", 0) / mb, 1), "fts_index_mb": round(fts / mb, 1),
                "btree_indexes_mb": round(sum(v for k, v in size.items() if k in indexes) / mb, 1),
                "database_mb": round(os.path.getsize(path) / mb, 1)}
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as c:
            q = c.execute(sa.text(
                "SELECT pg_relation_size('messages'), pg_total_relation_size('messages'), "
                "pg_relation_size('ix_messages_search_vector'), pg_indexes_size('messages'), "
                "pg_database_size(current_database()), "
                "(SELECT avg(pg_column_size(search_vector)) FROM messages TABLESAMPLE SYSTEM (1)), "
                "(SELECT avg(pg_column_size(body)) FROM messages TABLESAMPLE SYSTEM (1))")).one()
    finally:
        engine.dispose()
    heap, total, gin, all_indexes, database, tsv, body = q
    return {"table_mb": round(heap / mb, 1), "table_with_toast_and_indexes_mb": round(total / mb, 1),
            "fts_index_mb": round(gin / mb, 1), "btree_indexes_mb": round((all_indexes - gin) / mb, 1),
            "database_mb": round(database / mb, 1), "avg_tsvector_bytes": round(float(tsv or 0)),
            "avg_body_bytes": round(float(body or 0))}


def _explain(url: str, statement: str, params: Any) -> str:
    if url.startswith("sqlite"):
        db = sqlite3.connect(url.split("sqlite:///", 1)[1])
        try:
            return "\n".join(str(r[-1]) for r in db.execute(f"EXPLAIN QUERY PLAN {statement}", params))
        finally:
            db.close()
    import psycopg
    from sqlalchemy.engine import make_url

    with psycopg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)) as pg:
        rows = pg.execute(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {statement}", params).fetchall()
        return "\n".join(r[0] for r in rows)


def run_dialect(dialect: str, url: str, log: Callable[[str], None] = print) -> dict[str, Any]:
    from application.chat.search import SearchLimits, SearchMessages, SearchParams
    from infra.sql.engine import create_engine_for
    from infra.sql.search import make_message_search

    engine = create_engine_for(url)
    user_id, sessions = _bench_user(engine)
    rare = _rare_word(engine, sessions)
    use_case = SearchMessages(make_message_search(engine), SearchLimits(page_size_default=20, page_size_max=50))
    capture = Capture(engine)
    replay, close_replay = _replayer(url)
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-search-") as temp:
        env = {"DATABASE_URL": url, "APP_ENVIRONMENT": "test", "JWT_KEY_DIRECTORY": str(Path(temp) / "keys"),
               "LOG_LEVEL": "WARNING", "SEARCH_PAGE_SIZE_DEFAULT": "20"}
        token = _sign_in(url, user_id, env)
        with _devhost(env, Path(temp) / "devhost.log") as base:
            parsed = urllib.parse.urlsplit(base)
            conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
            headers = {"Authorization": f"Bearer {token}"}

            def api(params: dict[str, str]) -> dict[str, Any]:
                conn.request("GET", "/api/messages/search?" + urllib.parse.urlencode(params), headers=headers)
                response = conn.getresponse()
                payload = response.read()
                if response.status != 200:
                    raise RuntimeError(f"{response.status} {payload[:300]!r}")
                return dict(json.loads(payload))

            for name, spec in queries(sessions, rare):
                params = {k: v for k, v in spec.items() if k != "page"}
                if spec.get("page") == "2":  # the cursor of page 1 is part of the query
                    params["cursor"] = api(params)["next_cursor"] or ""
                    if not params["cursor"]:
                        params.pop("cursor")
                search_params = SearchParams(**params)  # type: ignore[arg-type]
                with capture.recording():
                    page = use_case(user_id, search_params)
                statements = list(capture.statements)
                api_times, bare_times = [], []
                for _ in range(2):
                    api(params)
                    replay(statements)
                for _ in range(RUNS):  # interleaved, so machine noise hits both alike
                    began = time.perf_counter()
                    body = api(params)
                    api_times.append((time.perf_counter() - began) * 1000)
                    began = time.perf_counter()
                    replay(statements)
                    bare_times.append((time.perf_counter() - began) * 1000)
                assert len(body["results"]) == len(page.results), name
                api_p50, api_p95 = _percentiles(api_times)
                bare_p50, bare_p95 = _percentiles(bare_times)
                row = {"query": name, "results": len(body["results"]), "statements": len(statements),
                       "api_p50_ms": round(api_p50, 2), "api_p95_ms": round(api_p95, 2),
                       "bare_p50_ms": round(bare_p50, 2), "bare_p95_ms": round(bare_p95, 2),
                       "ratio_p50": round(api_p50 / bare_p50, 2) if bare_p50 else None}
                search_sql = statements[1] if dialect == "sqlite" else statements[0]
                if api_p95 > TARGET_P95_MS:
                    row["plan"] = _explain(url, *search_sql)
                results.append(row)
                log(f"  {dialect:8} {name:44} api {api_p50:7.2f} / {api_p95:7.2f}   bare {bare_p50:7.2f} / "
                    f"{bare_p95:7.2f}   ({len(body['results'])} results)")
            floor = []  # the same client on an authenticated endpoint with one small read: the fixed cost
            for i in range(RUNS + 2):
                began = time.perf_counter()
                conn.request("GET", "/api/me", headers=headers)
                conn.getresponse().read()
                if i >= 2:
                    floor.append((time.perf_counter() - began) * 1000)
            conn.close()
    close_replay()
    engine.dispose()
    floor_p50, floor_p95 = _percentiles(floor)
    return {"user_sessions": len(sessions), "rare_word": rare, "queries": results, "sizes": _sizes(url),
            "api_me_p50_ms": round(floor_p50, 2), "api_me_p95_ms": round(floor_p95, 2)}


def run(shape: Shape = Shape(), dialects: tuple[str, ...] = ("sqlite", "postgres")) -> dict[str, Any]:
    out: dict[str, Any] = {"messages": shape.messages, "sessions": shape.sessions, "users": shape.users,
                           "runs_per_query": RUNS, "dialects": {}}
    for dialect in dialects:
        began = time.perf_counter()
        if dialect == "sqlite":
            suffix = "" if shape == Shape() else f"-{shape.messages}"
            url = f"sqlite:///{ensure_sqlite(DATA_DIR / f'search{suffix}.db', shape)}"
        else:
            name = "tagarela_bench_search" if shape == Shape() else f"tagarela_bench_search_{shape.messages}"
            url = ensure_postgres(POSTGRES_ADMIN_URL, shape, database=name)
        prepared = time.perf_counter() - began
        result = run_dialect(dialect, url)
        result["data_ready_seconds"] = round(prepared, 1)
        out["dialects"][dialect] = result
    return out


def report(result: dict[str, Any]) -> str:
    dialects = list(result["dialects"])
    lines = [f"Message search: {result['messages']:,} messages, {result['sessions']:,} sessions, "
             f"{result['users']:,} users; p50 / p95 ms over {result['runs_per_query']} runs "
             f"(target: API p95 <= {TARGET_P95_MS:g} ms, API/bare <= {TARGET_RATIO})"]
    header = f"{'query':46}" + "".join(f"| {d + ' API':>17} | {d + ' bare':>17} | {'ratio':>5} " for d in dialects)
    lines += [header, "-" * len(header)]
    names = [q["query"] for q in result["dialects"][dialects[0]]["queries"]]
    for i, name in enumerate(names):
        cells = []
        for d in dialects:
            q = result["dialects"][d]["queries"][i]
            ratio = q["api_p95_ms"] / q["bare_p95_ms"] if q["bare_p95_ms"] else 0
            cells.append(f"| {q['api_p50_ms']:7.2f} / {q['api_p95_ms']:7.2f} | {q['bare_p50_ms']:7.2f} / "
                         f"{q['bare_p95_ms']:7.2f} | {ratio:5.2f} ")
        lines.append(f"{name[:46]:46}" + "".join(cells))
    for d in dialects:
        r = result["dialects"][d]
        qs = r["queries"]
        worst = max(q["api_p95_ms"] for q in qs)
        over = [q["query"] for q in qs if q["api_p95_ms"] > TARGET_P95_MS]
        within_ratio = sum(1 for q in qs if q["bare_p95_ms"] and q["api_p95_ms"] / q["bare_p95_ms"] <= TARGET_RATIO)
        lines.append(f"{d}: user in {r['user_sessions']} sessions; worst API p95 {worst:.1f} ms; "
                     f"over target: {over or 'none'}; API/bare <= {TARGET_RATIO}: {within_ratio}/{len(qs)}; median "
                     f"API-bare overhead {statistics.median(q['api_p50_ms'] - q['bare_p50_ms'] for q in qs):.2f} ms "
                     f"(GET /api/me on the same host: {r['api_me_p50_ms']:.2f} / {r['api_me_p95_ms']:.2f} ms); "
                     f"sizes {r['sizes']}")
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    small = os.environ.get("SEARCH_BENCH_MESSAGES")
    shape = Shape(int(small), max(50, int(small) // 100), max(100, int(small) // 500)) if small else Shape()
    outcome = run(shape)
    print(report(outcome))
