"""The local OpenID Connect provider (npm ``oauth2-mock-server``), started and stopped by devhost.

The app offers a ``dev`` sign-in provider only when ``DEV_OIDC_ISSUER`` is set (production refuses
it). When that issuer is a loopback URL, devhost starts ``devhost/oidc/server.mjs`` on its port
*before* importing the app, so a person running ``make run`` can sign in with no internet: the
provider's ``/authorize`` asks whom to sign in as (or takes ``login_hint``) and issues real signed
ID tokens through the same OIDC code path Google uses. Something already listening on the port is
reused (a test's provider, or one started by hand).

Two entry points, like ``devhost.azurite``: ``OidcProviderSupervisor`` for the launcher, and
``run_oidc_provider`` (a context manager on a free port, optionally signing with a given key) for
tests.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

from devhost.child_process import free_port, is_loopback, port_is_open, spawn, terminate, wait_until_listening

log = logging.getLogger("devhost.oidc")

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path("devhost") / "oidc" / "server.mjs"
INSTALL_HINT = "run `make run` (it installs the Node tools) or `npm ci` in the project root"


class OidcProviderError(RuntimeError):
    """The local OIDC provider could not be started or did not come up."""


@dataclass(frozen=True)
class LocalIssuer:
    url: str
    host: str
    port: int


def local_issuer(issuer: str | None) -> LocalIssuer | None:
    """Where a local provider must listen for ``issuer``, or None when the issuer is not local."""
    if not issuer:
        return None
    parts = urlsplit(issuer.strip())
    if parts.scheme != "http" or not parts.hostname or not is_loopback(parts.hostname):
        return None
    host = "127.0.0.1" if parts.hostname.lower() == "localhost" else parts.hostname
    return LocalIssuer(issuer.strip().rstrip("/"), host, parts.port or 80)


@dataclass
class OidcProviderProcess:
    """One ``node devhost/oidc/server.mjs`` process."""

    port: int
    issuer: str
    host: str = "127.0.0.1"
    key_file: Path | None = None  # a private JWK to sign with; None: a fresh key per start
    project_root: Path = PROJECT_ROOT
    log_path: Path | None = None
    process: subprocess.Popen[bytes] | None = None
    _log_file: IO[bytes] | None = None

    def command(self) -> list[str]:
        node = shutil.which("node")
        if node is None:
            raise OidcProviderError("node is not installed (Node 20 is needed for the local OIDC provider)")
        if not (self.project_root / "node_modules" / "oauth2-mock-server").exists():
            raise OidcProviderError(f"oauth2-mock-server is not installed: {INSTALL_HINT}")
        cmd = [node, str(SCRIPT), "--host", self.host, "--port", str(self.port), "--issuer", self.issuer]
        if self.key_file is not None:
            cmd += ["--key-file", str(self.key_file)]
        return cmd

    def start(self) -> None:
        cmd = self.command()
        self.process, self._log_file = spawn(cmd, cwd=self.project_root, log_path=self.log_path)
        log.info("started the local OIDC provider (pid %d) at %s", self.process.pid, self.issuer)

    def wait_until_listening(self, timeout: float = 20.0) -> None:
        wait_until_listening(self.process, self.host, self.port, timeout=timeout, what="the local OIDC provider",
                             error=OidcProviderError)

    def stop(self, timeout: float = 5.0) -> None:
        proc, self.process = self.process, None
        log_file, self._log_file = self._log_file, None
        terminate(proc, log_file, timeout=timeout, what="the local OIDC provider")


@contextlib.contextmanager
def run_oidc_provider(*, port: int | None = None, key_file: Path | None = None, log_path: Path | None = None,
                      project_root: Path = PROJECT_ROOT) -> Iterator[OidcProviderProcess]:
    """A private provider on a free port, issuer ``http://127.0.0.1:PORT``, stopped on exit. For tests."""
    port = port or free_port()
    provider = OidcProviderProcess(port=port, issuer=f"http://127.0.0.1:{port}", key_file=key_file,
                                   project_root=project_root, log_path=log_path)
    provider.start()
    try:
        provider.wait_until_listening()
        yield provider
    finally:
        provider.stop()


class OidcProviderSupervisor:
    """What the launcher runs: start the provider ``DEV_OIDC_ISSUER`` names (if local) and stop it."""

    def __init__(self, issuer: str | None, *, project_root: Path = PROJECT_ROOT) -> None:
        self.target = local_issuer(issuer)
        self.project_root = project_root
        self.provider: OidcProviderProcess | None = None

    def start(self) -> None:
        """Never fails the launcher: without the provider the `dev` sign-in simply cannot complete."""
        if self.target is None:
            return
        if port_is_open(self.target.host, self.target.port):
            log.info("something already listens on %s:%d; using it as the local OIDC provider",
                     self.target.host, self.target.port)
            return
        self.provider = OidcProviderProcess(port=self.target.port, host=self.target.host, issuer=self.target.url,
                                            project_root=self.project_root,
                                            log_path=self.project_root / ".data" / "oidc-provider.log")
        try:
            self.provider.start()
            self.provider.wait_until_listening()
        except OidcProviderError as exc:
            log.error("%s; the dev sign-in provider will not work", exc)
            self.provider.stop()
            self.provider = None
            return
        log.info("local OIDC provider ready at %s (sign in at /api/auth/dev/login)", self.target.url)

    def stop(self) -> None:
        if self.provider is not None:
            self.provider.stop()
            self.provider = None
