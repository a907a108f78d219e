"""How interface code reaches the use cases without importing the composition root.

The layer rule forbids ``interface`` from importing ``bootstrap`` (the root sits above it), so
``function_app.py`` hands a provider to :func:`provide` when it registers the blueprints. The
provider is called on first use, which keeps SQLAlchemy, pydantic-settings and the Azure SDKs out
of the cold-start import path. Tests hand in a container of fakes the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from application.chat.access import SessionAccess
    from application.chat.members import AddMember, LeaveSession, RemoveMember
    from application.chat.messages import DeleteMessage, EditMessage, ListMessages, SendMessage
    from application.chat.reads import MarkRead, SendTyping
    from application.chat.search import SearchMessages
    from application.chat.sessions import CreateSession, GetSession, ListMySessions, RenameSession
    from application.health import CheckHealth
    from application.identity.jwks import PublishSigningKeys
    from application.identity.logout import Logout, LogoutAll
    from application.identity.me import GetMe
    from application.identity.mfa_enrollment import (
        DisableTwoFactor,
        EnableTwoFactor,
        RegenerateRecoveryCodes,
        SetUpTwoFactor,
    )
    from application.identity.mfa_verify import VerifyTwoFactor
    from application.identity.refresh import RefreshSession
    from application.identity.results import Principal
    from application.identity.sessions import SessionIssuer
    from application.identity.sign_in import (
        FinishWebLogin,
        ListProviders,
        RedeemHandover,
        SignInWithIdToken,
        StartLink,
        StartWebLogin,
    )
    from application.ports.rate_limit import RateLimiter
    from application.realtime.connections import HandleConnect, HandleConnected, HandleDisconnected
    from application.realtime.negotiate import Negotiate
    from application.realtime.presence import GetSessionPresence
    from application.realtime.upstream import UpstreamGuard


class Services(Protocol):
    """What the interface layer needs from the composition root."""

    @property
    def check_health(self) -> CheckHealth: ...

    def authenticate(self, token: str) -> Principal:
        """Verify an access token and its live session; raises ``Unauthenticated``."""
        ...

    @property
    def session_issuer(self) -> SessionIssuer: ...

    @property
    def refresh_session(self) -> RefreshSession: ...

    @property
    def logout(self) -> Logout: ...

    @property
    def logout_all(self) -> LogoutAll: ...

    @property
    def get_me(self) -> GetMe: ...

    @property
    def publish_signing_keys(self) -> PublishSigningKeys: ...

    @property
    def list_providers(self) -> ListProviders: ...

    @property
    def start_web_login(self) -> StartWebLogin: ...

    @property
    def start_link(self) -> StartLink: ...

    @property
    def finish_web_login(self) -> FinishWebLogin: ...

    @property
    def redeem_handover(self) -> RedeemHandover: ...

    @property
    def sign_in_with_id_token(self) -> SignInWithIdToken: ...

    @property
    def rate_limiter(self) -> RateLimiter: ...

    @property
    def setup_two_factor(self) -> SetUpTwoFactor: ...

    @property
    def enable_two_factor(self) -> EnableTwoFactor: ...

    @property
    def verify_two_factor(self) -> VerifyTwoFactor: ...

    @property
    def disable_two_factor(self) -> DisableTwoFactor: ...

    @property
    def regenerate_recovery_codes(self) -> RegenerateRecoveryCodes: ...

    # Real-time (negotiate, the Web PubSub event handler, presence).
    @property
    def upstream_guard(self) -> UpstreamGuard: ...

    @property
    def negotiate(self) -> Negotiate: ...

    @property
    def handle_connect(self) -> HandleConnect: ...

    @property
    def handle_connected(self) -> HandleConnected: ...

    @property
    def handle_disconnected(self) -> HandleDisconnected: ...

    @property
    def get_session_presence(self) -> GetSessionPresence: ...

    # Chat (sessions, members, messages).
    @property
    def session_access(self) -> SessionAccess: ...

    @property
    def create_session(self) -> CreateSession: ...

    @property
    def list_my_sessions(self) -> ListMySessions: ...

    @property
    def get_session(self) -> GetSession: ...

    @property
    def rename_session(self) -> RenameSession: ...

    @property
    def add_member(self) -> AddMember: ...

    @property
    def remove_member(self) -> RemoveMember: ...

    @property
    def leave_session(self) -> LeaveSession: ...

    @property
    def send_message(self) -> SendMessage: ...

    @property
    def edit_message(self) -> EditMessage: ...

    @property
    def delete_message(self) -> DeleteMessage: ...

    @property
    def list_messages(self) -> ListMessages: ...

    @property
    def mark_read(self) -> MarkRead: ...

    @property
    def send_typing(self) -> SendTyping: ...

    @property
    def search_messages(self) -> SearchMessages: ...


_provider: Callable[[], Services] | None = None


def provide(provider: Callable[[], Services]) -> None:
    global _provider
    _provider = provider


def services() -> Services:
    if _provider is None:
        raise RuntimeError("interface.dependencies.provide() was not called by function_app.py")
    return _provider()
