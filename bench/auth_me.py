"""Authenticated ``GET /api/me`` vs unauthenticated endpoints, through devhost, in one run.

What it measures (issue 3's benchmark):
- requests/s of ``GET /api/me`` with a valid bearer token (JWT verification + the per-request
  session lookup in SQL + the user/identities/session reads of the endpoint itself);
- requests/s of ``GET /api/health`` (real probes: the database and Azurite, started here) and of
  ``GET /api/.well-known/jwks.json`` (no I/O: the cheapest unauthenticated endpoint), from the same
  aiohttp client with the same concurrency and request count, loopback only, each phase bounded
  in time;
- raw PyJWT ``jwt.decode`` verifications/s of the same token (signature + claims), and our full
  verifier (``JwtAccessTokens.verify``: header checks, key lookup, PyJWT, clock checks).

The app runs on a migrated SQLite file in a temp directory (the embedded default); every SQLite
transaction is ``BEGIN IMMEDIATE``, so the session lookup serializes — expect PostgreSQL or Azure
SQL to scale the authenticated path better under concurrency.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(ROOT))

from bench.processes import free_port, serving  # noqa: E402

CONCURRENCY = 16
REQUESTS = 1500
PHASE_TIME_LIMIT = 20.0
ROUNDS = 2
DECODE_SECONDS = 2.0


@contextlib.contextmanager
def _devhost(env: dict[str, str], log_path: Path) -> Iterator[str]:
    port = free_port()
    cmd = [sys.executable, "-m", "devhost", "--app", "function_app", "--port", str(port), "--no-azurite",
           "--log-level", "WARNING"]
    with serving(cmd, env, log_path, port, timeout=30):
        yield f"http://127.0.0.1:{port}"


async def _load(url: str, headers: dict[str, str], requests: int, concurrency: int) -> dict[str, Any]:
    import aiohttp

    statuses: dict[int, int] = {}
    latencies: list[float] = []
    remaining = iter(range(requests))
    deadline = time.perf_counter() + PHASE_TIME_LIMIT
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            for _ in remaining:
                if time.perf_counter() > deadline:
                    return
                started = time.perf_counter()
                async with session.get(url, headers=headers) as response:
                    await response.read()
                    statuses[response.status] = statuses.get(response.status, 0) + 1
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    done = len(latencies)
    return {
        "requests": done,
        "seconds": round(elapsed, 3),
        "requests_per_s": round(done / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "statuses": {str(k): v for k, v in statuses.items()},
    }


def _decode_rate(fn: Any) -> float:
    fn()  # warm
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < DECODE_SECONDS:
        for _ in range(50):
            fn()
        count += 50
    return count / (time.perf_counter() - started)


def run() -> dict[str, Any]:
    import jwt

    from application.identity.results import ClientInfo
    from application.identity.sessions import SessionIssuer
    from devhost.azurite import azurite_blob_executable, run_azurite
    from domain.auth_sessions import SessionPolicy
    from domain.users import User
    from infra.sql.engine import create_engine_for
    from infra.sql.migrate import upgrade_to_head
    from infra.sql.unit_of_work import make_uow_factory
    from infra.tokens.access_tokens import JwtAccessTokens
    from infra.tokens.factory import build_access_tokens, build_key_ring
    from shared.clock import SystemClock
    from shared.settings import load_settings

    with tempfile.TemporaryDirectory(prefix="bench-auth-") as temp, contextlib.ExitStack() as stack:
        directory = Path(temp)
        url = f"sqlite:///{directory / 'bench.db'}"
        upgrade_to_head(url)
        env = {"DATABASE_URL": url, "APP_ENVIRONMENT": "test", "JWT_KEY_DIRECTORY": str(directory / "keys"),
               "LOG_LEVEL": "WARNING"}
        if azurite_blob_executable() is not None:
            env["AzureWebJobsStorage"] = stack.enter_context(run_azurite()).connection_string
        settings = load_settings(env)
        ring = build_key_ring(settings)
        tokens = build_access_tokens(settings, ring)
        engine = create_engine_for(url)
        stack.callback(engine.dispose)
        uow_factory = make_uow_factory(engine)
        user = User(display_name="Bench", email="bench@example.com", email_verified=True)
        with uow_factory() as uow:
            uow.users.add(user)
            pair = SessionIssuer(tokens, SystemClock(), SessionPolicy()).start(
                uow, user, ["oidc:dev"], ClientInfo("127.0.0.1", "bench")
            )
            uow.commit()

        base = stack.enter_context(_devhost(env, directory / "devhost.log"))
        auth = {"Authorization": f"Bearer {pair.access_token}"}
        targets = {
            "me": (f"{base}/api/me", auth),
            "health": (f"{base}/api/health", {}),
            "jwks": (f"{base}/api/.well-known/jwks.json", {}),
        }
        for path, headers in targets.values():  # warm up: first-use imports, pools, key loading
            asyncio.run(_load(path, headers, 50, 4))
        phases: dict[str, list[dict[str, Any]]] = {name: [] for name in targets}
        for _ in range(ROUNDS):  # interleaved so that machine noise hits every endpoint alike
            for name, (path, headers) in targets.items():
                phases[name].append(asyncio.run(_load(path, headers, REQUESTS, CONCURRENCY)))

        public_key = ring.signer(SystemClock().now()).public_key
        options = {"require": ["exp", "iat", "nbf", "sub", "sid", "jti", "amr"]}

        def raw_decode() -> None:
            jwt.decode(pair.access_token, public_key, algorithms=["ES256"], audience=settings.jwt_audience,
                       issuer=settings.jwt_issuer, options=options)

        def cached_verify() -> None:  # what a request with a token seen before pays
            tokens.verify(pair.access_token, SystemClock().now())

        uncached = JwtAccessTokens(ring, issuer=settings.jwt_issuer, audience=settings.jwt_audience,
                                   ttl=timedelta(seconds=settings.access_token_ttl_seconds), cache_size=0)

        def full_verify() -> None:  # a token seen for the first time
            uncached.verify(pair.access_token, SystemClock().now())

        pyjwt_rate = _decode_rate(raw_decode)
        verifier_rate = _decode_rate(full_verify)
        cached_rate = _decode_rate(cached_verify)

    rps = {name: statistics.mean(p["requests_per_s"] for p in runs) for name, runs in phases.items()}
    return {
        "concurrency": CONCURRENCY,
        "requests_per_phase": REQUESTS,
        "rounds": ROUNDS,
        "database": "sqlite",
        "azurite": "AzureWebJobsStorage" in env,
        "phases": phases,
        "requests_per_s": {name: round(value, 1) for name, value in rps.items()},
        "pyjwt_decodes_per_s": round(pyjwt_rate, 1),
        "verifier_checks_per_s": round(verifier_rate, 1),
        "verifier_cached_checks_per_s": round(cached_rate, 1),
        "ratio_me_to_health": round(rps["me"] / rps["health"], 3),
        "ratio_me_to_jwks": round(rps["me"] / rps["jwks"], 3),
        "ratio_pyjwt_decode_to_me": round(pyjwt_rate / rps["me"], 1),
    }


def report(result: dict[str, Any]) -> str:
    rps = result["requests_per_s"]
    statuses = {name: runs[-1]["statuses"] for name, runs in result["phases"].items()}
    return "\n".join([
        f"auth /api/me (devhost, {result['database']}, concurrency {result['concurrency']}, "
        f"{result['requests_per_phase']} requests x {result['rounds']} rounds, azurite={result['azurite']}):",
        f"  GET /api/me (bearer)          {rps['me']:>9.1f} req/s  statuses {statuses['me']}",
        f"  GET /api/health (anonymous)   {rps['health']:>9.1f} req/s  statuses {statuses['health']}",
        f"  GET /api/.well-known/jwks.json {rps['jwks']:>8.1f} req/s  statuses {statuses['jwks']}",
        f"  PyJWT jwt.decode (ES256)      {result['pyjwt_decodes_per_s']:>9.1f} /s",
        f"  our verifier (no DB)          {result['verifier_checks_per_s']:>9.1f} /s first sight, "
        f"{result['verifier_cached_checks_per_s']:.1f} /s for a token verified before (cache)",
        f"  ratio me/health = {result['ratio_me_to_health']}, me/jwks = {result['ratio_me_to_jwks']}, "
        f"PyJWT decode/me = {result['ratio_pyjwt_decode_to_me']}",
    ])


if __name__ == "__main__":
    print(report(run()))
