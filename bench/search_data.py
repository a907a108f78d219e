"""The search benchmark's data: a realistic multilingual chat history, generated once and cached.

Recipe (research/performance-limits.md §2): 1,000,000 messages, 10,000 sessions with 2–18 members,
2,000 users (about 50 sessions each); Portuguese 50% / English 30% / Spanish 20%, 8–16 words per
message, each language a Zipf head of real (accented) words plus ~15k synthetic accented tail words;
greetings ("bom dia", "good morning", "buenos días") open some messages; ids and timestamps
chronological over two years; ~8% agent and ~1% system messages; annotations (language on 70%,
sentiment on 40%, intent on 10%); ~2% of messages with an attachment; 0.5% deleted (body erased).

``ensure_sqlite(path)`` / ``ensure_postgres(admin_url)`` build the database through the real
migrations (so the FTS5 triggers / the generated tsvector are what production runs) and reuse it
while its marker says it is complete. Under ``.data/bench/`` by default.

    python -m bench.search_data --sqlite .data/bench/search.db --messages 20000
"""

from __future__ import annotations

import argparse
import io
import json
import random
import sqlite3
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT / ".data" / "bench"
SEED = 20261125

HEADS = {
    "pt": ("não que de o a e é do da em um para com uma os no se na por mais as dos como mas foi reunião ao ele das "
           "tem à "
           "seu sua ou ser quando muito há nos já está eu também só pelo pela até isso ela entre era depois sem "
           "mesmo aos ter seus quem nas me esse eles estão você tinha foram essa num nem suas meu às minha têm numa "
           "pelos elas havia seja qual será nós tenho lhe deles essas esses pelas este fosse dele tu te vocês vos "
           "lhes meus minhas teu tua teus tuas nosso nossa nossos nossas dela delas esta estes estas aquele aquela "
           "amanhã hoje obrigado obrigada projeto relatório cliente ação atenção informação próxima "
           "semana começar possível então agora já tá pode ficou olá tchau beleza combinado vamos dúvida questão "
           "orçamento previsão avaliação solução você está são já é."),
    "en": ("the be to of and a in that have i it for not on with he as you do at this but his by from they we say "
           "her she or an will my one all would there their what so up out if about who get which go me when make "
           "can like time no just him know take people into year your good some could them see other than then "
           "now look only come its over think also back after use two how our work first well way even new want "
           "because any these give day most us meeting tomorrow today thanks project report customer action "
           "budget review solution question deadline schedule update release"),
    "es": ("de la que el en y a los se del las un por con no una su para es al lo como más pero sus le ya o este sí "
           "porque esta entre cuando muy sin sobre también me hasta hay donde quien desde todo nos durante todos "
           "uno les ni contra otros ese eso ante ellos e esto mí antes algunos qué unos yo otro otras otra él tanto "
           "esa estos mucho quienes nada muchos cual poco ella estar estas algunas algo nosotros reunión mañana "
           "hoy gracias proyecto informe cliente acción atención información próxima semana también después "
           "presupuesto revisión solución pregunta España año niño"),
}
GREETINGS = {"pt": "bom dia", "en": "good morning", "es": "buenos días"}
LANGUAGES = (("pt", 0.5), ("en", 0.3), ("es", 0.2))
TAIL_WORDS = 15_000
HEAD_SHARE = 0.75
SENTIMENTS = ("positive", "neutral", "negative", "mixed")
INTENTS = ("question", "request", "greeting", "feedback", "scheduling")
AGENTS = ("assistant", "summarizer", "translator")
START = datetime(2024, 11, 1, tzinfo=UTC)
SPAN = timedelta(days=730)


@dataclass(frozen=True)
class Shape:
    messages: int = 1_000_000
    sessions: int = 10_000
    users: int = 2_000

    @property
    def key(self) -> str:
        return f"m{self.messages}-s{self.sessions}-u{self.users}-seed{SEED}-v1"


def _tail(rng: random.Random, language: str) -> list[str]:
    onsets = ["b", "c", "d", "f", "g", "l", "m", "n", "p", "r", "s", "t", "v", "x", "ch", "br", "tr", "pl", "gr"]
    vowels = {"pt": "aeiouáéíóúâêôãõ", "en": "aeiouy", "es": "aeiouáéíóúñ"}[language]
    codas = ["", "", "", "r", "s", "m", "n", "l"]
    words: set[str] = set()
    while len(words) < TAIL_WORDS:
        syllables = rng.randint(2, 4)
        words.add("".join(rng.choice(onsets) + rng.choice(vowels) + rng.choice(codas) for _ in range(syllables)))
    return sorted(words)


class Corpus:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.vocab: dict[str, tuple[list[str], list[float]]] = {}
        for language, text in HEADS.items():
            head = list(dict.fromkeys(text.replace(".", "").split()))
            tail = _tail(rng, language)
            harmonic = sum(1 / r for r in range(1, len(head) + 1))
            weights = [HEAD_SHARE / (r * harmonic) for r in range(1, len(head) + 1)]
            weights += [(1 - HEAD_SHARE) / len(tail)] * len(tail)
            cumulative, total = [], 0.0
            for w in weights:
                total += w
                cumulative.append(total)
            self.vocab[language] = (head + tail, cumulative)

    def message(self) -> tuple[str, str]:
        rng = self.rng
        roll = rng.random()
        language = "pt" if roll < 0.5 else "en" if roll < 0.8 else "es"
        words, cumulative = self.vocab[language]
        picked = rng.choices(words, cum_weights=cumulative, k=rng.randint(8, 16))
        if rng.random() < 0.04:
            picked[:2] = GREETINGS[language].split()
        text = " ".join(picked)
        return language, text[0].upper() + text[1:] + rng.choice((".", ".", "!", "?", ""))

    def tail_word(self, language: str, index: int) -> str:
        words, _ = self.vocab[language]
        return words[-TAIL_WORDS + index]


@dataclass
class Generated:
    users: list[uuid.UUID]
    sessions: list[uuid.UUID]
    members: list[tuple[uuid.UUID, uuid.UUID, str]]  # session, user, role
    last_seq: list[int]


def _plan(rng: random.Random, shape: Shape) -> Generated:
    users = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(shape.users)]
    sessions = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(shape.sessions)]
    members = []
    for session in sessions:
        chosen = rng.sample(users, rng.randint(2, 18))
        members += [(session, user, "owner" if i == 0 else "member") for i, user in enumerate(chosen)]
    return Generated(users, sessions, members, [0] * shape.sessions)


def _messages(rng: random.Random, corpus: Corpus, shape: Shape, plan: Generated) -> Iterator[tuple[Any, ...]]:
    """(id, session index, seq, sender_kind, sender_id, body, created_at, deleted_at, language, sentiment_label,
    sentiment_score, intent, has_attachment)."""
    by_session: list[list[uuid.UUID]] = [[] for _ in plan.sessions]
    index = {s: i for i, s in enumerate(plan.sessions)}
    for session, user, _role in plan.members:
        by_session[index[session]].append(user)
    step = SPAN / shape.messages
    for n in range(shape.messages):
        s = rng.randrange(shape.sessions)
        plan.last_seq[s] += 1
        language, body = corpus.message()
        roll = rng.random()
        if roll < 0.08:
            kind, sender = "agent", rng.choice(AGENTS)
        elif roll < 0.09:
            kind, sender = "system", "system"
        else:
            kind, sender = "user", str(rng.choice(by_session[s]))
        created = START + step * n
        deleted = created + timedelta(minutes=5) if rng.random() < 0.005 else None
        sentiment = rng.choice(SENTIMENTS) if rng.random() < 0.4 else None
        yield (n + 1, s, plan.last_seq[s], kind, sender, "" if deleted else body, created, deleted,
               language if rng.random() < 0.7 else None, sentiment,
               round(rng.random(), 3) if sentiment else None,
               rng.choice(INTENTS) if rng.random() < 0.1 else None, rng.random() < 0.02)


def _sqlite_time(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _marker(path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return {}


def ensure_sqlite(path: Path, shape: Shape = Shape(), *, log: Any = print) -> Path:
    from infra.sql.migrate import upgrade_to_head

    marker = path.with_suffix(".json")
    if path.exists() and _marker(marker).get("key") == shape.key:
        return path
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    marker.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    upgrade_to_head(f"sqlite:///{path}")
    rng = random.Random(SEED)
    corpus, plan = Corpus(rng), _plan(rng, shape)
    began = time.perf_counter()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-262144")
    db.execute("BEGIN")
    now = _sqlite_time(START)
    db.executemany("INSERT INTO users (id, display_name, email, email_verified, created_at) VALUES (?, ?, ?, 1, ?)",
                   [(u.hex, f"User {i}", f"user{i}@bench.example", now) for i, u in enumerate(plan.users)])
    db.executemany("INSERT INTO chat_sessions (id, title, created_by, created_at, updated_at, last_seq) "
                   "VALUES (?, ?, ?, ?, ?, 0)",
                   [(s.hex, f"Sala {i}", plan.users[0].hex, now, now) for i, s in enumerate(plan.sessions)])
    db.executemany("INSERT INTO session_members (session_id, user_id, role, joined_at, last_read_seq) "
                   "VALUES (?, ?, ?, ?, 0)", [(s.hex, u.hex, r, now) for s, u, r in plan.members])
    files: list[tuple[Any, ...]] = []
    links: list[tuple[int, str]] = []
    batch: list[tuple[Any, ...]] = []
    insert = ("INSERT INTO messages (id, session_id, seq, sender_kind, sender_id, body, created_at, deleted_at, "
              "language, sentiment_label, sentiment_score, intent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
    for row in _messages(rng, corpus, shape, plan):
        (mid, s, seq, kind, sender, body, created, deleted, language, sentiment, score, intent, attach) = row
        batch.append((mid, plan.sessions[s].hex, seq, kind, sender, body, _sqlite_time(created),
                      _sqlite_time(deleted), language, sentiment, score, intent))
        if attach and not deleted:
            file_id = uuid.UUID(int=rng.getrandbits(128), version=4)
            files.append((file_id.hex, plan.users[0].hex, plan.sessions[s].hex, f"bench/{file_id}", "file.pdf",
                          "application/pdf", 1000, "ready", _sqlite_time(created)))
            links.append((mid, file_id.hex))
        if len(batch) >= 50_000:
            db.executemany(insert, batch)
            batch.clear()
            log(f"  sqlite: {mid:,} messages ({time.perf_counter() - began:.0f} s)")
    db.executemany(insert, batch)
    db.executemany("INSERT INTO files (id, owner_id, session_id, blob_name, original_name, content_type, size_bytes, "
                   "status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", files)
    db.executemany("INSERT INTO message_attachments (message_id, file_id) VALUES (?, ?)", links)
    db.executemany("UPDATE chat_sessions SET last_seq = ? WHERE id = ?",
                   [(seq, s.hex) for s, seq in zip(plan.sessions, plan.last_seq, strict=True)])
    db.execute("COMMIT")
    db.execute("INSERT INTO messages_fts(messages_fts) VALUES ('optimize')")
    db.execute("ANALYZE")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    elapsed = time.perf_counter() - began
    marker.write_text(json.dumps({"key": shape.key, "load_seconds": round(elapsed, 1)}))
    log(f"  sqlite: {shape.messages:,} messages loaded in {elapsed:.0f} s (FTS5 kept by the triggers)")
    return path


def _copy_text(value: Any) -> str:
    if value is None:
        return "\\N"
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def ensure_postgres(admin_url: str, shape: Shape = Shape(), *, database: str = "tagarela_bench_search",
                    log: Any = print) -> str:
    """The bench database on the PostgreSQL server of ``admin_url``; returns its URL."""
    import psycopg
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    from infra.sql.migrate import upgrade_to_head

    admin = make_url(admin_url)
    url = admin.set(database=database).render_as_string(hide_password=False)
    marker = DATA_DIR / f"{database}.json"
    admin_engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    try:
        with admin_engine.connect() as connection:
            exists = connection.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                        {"n": database}).first()
            if exists and _marker(marker).get("key") == shape.key:
                return url
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            connection.execute(sa.text(f'CREATE DATABASE "{database}"'))
    finally:
        admin_engine.dispose()
    marker.unlink(missing_ok=True)
    upgrade_to_head(url)
    rng = random.Random(SEED)
    corpus, plan = Corpus(rng), _plan(rng, shape)
    began = time.perf_counter()
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=False) as db:
        db.execute("SET maintenance_work_mem = '512MB'")
        db.execute("DROP INDEX ix_messages_search_vector")  # rebuilt after the load: much faster than per row
        db.execute("ALTER TABLE messages DROP CONSTRAINT uq_messages_session_id_seq")
        with db.cursor() as cur:
            cur.executemany("INSERT INTO users (id, display_name, email, email_verified, created_at) "
                            "VALUES (%s, %s, %s, true, %s)",
                            [(u, f"User {i}", f"user{i}@bench.example", START) for i, u in enumerate(plan.users)])
            cur.executemany("INSERT INTO chat_sessions (id, title, created_by, created_at, updated_at, last_seq) "
                            "VALUES (%s, %s, %s, %s, %s, 0)",
                            [(s, f"Sala {i}", plan.users[0], START, START) for i, s in enumerate(plan.sessions)])
            members = "COPY session_members (session_id, user_id, role, joined_at, last_read_seq) FROM STDIN"
            with cur.copy(members) as cp:
                for s, u, r in plan.members:
                    cp.write_row((s, u, r, START, 0))
            files: list[tuple[Any, ...]] = []
            links: list[tuple[int, uuid.UUID]] = []
            columns = ("id, session_id, seq, sender_kind, sender_id, body, created_at, deleted_at, language, "
                       "sentiment_label, sentiment_score, intent")
            with cur.copy(f"COPY messages ({columns}) FROM STDIN") as cp:
                buffer = io.StringIO()
                for row in _messages(rng, corpus, shape, plan):
                    (mid, s, seq, kind, sender, body, created, deleted, language, sentiment, score, intent,
                     attach) = row
                    values = (mid, plan.sessions[s], seq, kind, sender, body, created, deleted, language, sentiment,
                              score, intent)
                    buffer.write("\t".join(_copy_text(v) for v in values) + "\n")
                    if attach and not deleted:
                        file_id = uuid.UUID(int=rng.getrandbits(128), version=4)
                        files.append((file_id, plan.users[0], plan.sessions[s], f"bench/{file_id}", "file.pdf",
                                      "application/pdf", 1000, "ready", created))
                        links.append((mid, file_id))
                    if mid % 20_000 == 0:
                        cp.write(buffer.getvalue())
                        buffer = io.StringIO()
                    if mid % 100_000 == 0:
                        log(f"  postgres: {mid:,} messages ({time.perf_counter() - began:.0f} s)")
                cp.write(buffer.getvalue())
            with cur.copy("COPY files (id, owner_id, session_id, blob_name, original_name, content_type, size_bytes, "
                          "status, created_at) FROM STDIN") as cp:
                for f in files:
                    cp.write_row(f)
            with cur.copy("COPY message_attachments (message_id, file_id) FROM STDIN") as cp:
                for link in links:
                    cp.write_row(link)
            cur.executemany("UPDATE chat_sessions SET last_seq = %s WHERE id = %s",
                            list(zip(plan.last_seq, plan.sessions, strict=True)))
            cur.execute("SELECT setval(pg_get_serial_sequence('messages', 'id'), %s)", (shape.messages,))
        log(f"  postgres: rows loaded ({time.perf_counter() - began:.0f} s); building indexes")
        db.execute("ALTER TABLE messages ADD CONSTRAINT uq_messages_session_id_seq UNIQUE (session_id, seq)")
        db.execute("CREATE INDEX ix_messages_search_vector ON messages USING gin (search_vector)")
        db.commit()
    with psycopg.connect(dsn, autocommit=True) as db:
        db.execute("VACUUM (ANALYZE) messages")
        db.execute("ANALYZE")
    elapsed = time.perf_counter() - began
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({"key": shape.key, "load_seconds": round(elapsed, 1)}))
    log(f"  postgres: {shape.messages:,} messages loaded and indexed in {elapsed:.0f} s")
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sqlite", type=Path)
    parser.add_argument("--postgres", help="admin URL, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--messages", type=int, default=Shape.messages)
    parser.add_argument("--sessions", type=int, default=Shape.sessions)
    parser.add_argument("--users", type=int, default=Shape.users)
    args = parser.parse_args()
    shape = Shape(args.messages, args.sessions, args.users)
    if args.sqlite:
        ensure_sqlite(args.sqlite, shape)
    if args.postgres:
        print(ensure_postgres(args.postgres, shape))


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(ROOT))
    main()
