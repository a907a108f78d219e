"""Composition root: builds every adapter from settings, once per worker process.

Azure Functions keeps a Python worker process alive across invocations, so adapters are built
on the first invocation that needs them (not at import: cold start) and reused afterwards.
Settings are the exception: ``function_app.py`` validates them at import (~90 ms), so a bad or
missing setting stops the app at start with a message naming the variable, instead of failing
the first request in production.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from shared.clock import SystemClock
from shared.logging_setup import configure_logging

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from application.chat.access import SessionAccess
    from application.chat.limits import ChatLimits
    from application.chat.members import AddMember, LeaveSession, RemoveMember
    from application.chat.messages import DeleteMessage, EditMessage, ListMessages, SendMessage
    from application.chat.publishing import SafeRealtime
    from application.chat.reads import MarkRead, SendTyping
    from application.chat.search import SearchMessages
    from application.chat.sessions import CreateSession, GetSession, ListMySessions, RenameSession
    from application.health import CheckHealth
    from application.identity.authenticate import AuthenticateAccessToken
    from application.identity.external_providers import ProviderRegistry
    from application.identity.jwks import PublishSigningKeys
    from application.identity.logout import Logout, LogoutAll
    from application.identity.me import GetMe
    from application.identity.mfa import MfaGate
    from application.identity.mfa_codes import SecondFactor
    from application.identity.mfa_enrollment import (
        DisableTwoFactor,
        EnableTwoFactor,
        RegenerateRecoveryCodes,
        SetUpTwoFactor,
    )
    from application.identity.mfa_verify import VerifyTwoFactor
    from application.identity.refresh import RefreshSession
    from application.identity.sessions import SessionIssuer
    from application.identity.sign_in import (
        CompleteSignIn,
        FinishWebLogin,
        ListProviders,
        RedeemHandover,
        SignInWithIdToken,
        StartLink,
        StartWebLogin,
    )
    from application.ports.rate_limit import RateLimiter
    from application.ports.search import MessageSearch
    from application.ports.unit_of_work import UnitOfWorkFactory
    from application.realtime.connections import HandleConnect, HandleConnected, HandleDisconnected
    from application.realtime.negotiate import Negotiate
    from application.realtime.presence import GetSessionPresence
    from application.realtime.presence_check import PresenceCheck
    from application.realtime.upstream import UpstreamGuard
    from domain.auth_sessions import SessionPolicy
    from infra.realtime.webpubsub import WebPubSubGateway
    from infra.sql.repositories.realtime_connections import SqlConnectionRegistry
    from infra.tokens.access_tokens import JwtAccessTokens
    from infra.tokens.key_ring import KeyRing
    from shared.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Container:
    """Holds the process-wide adapters and hands out use cases.

    Properties are built on first access so an invocation only pays for what it uses (the
    health endpoint never imports LangChain, for instance).
    """

    settings: Settings

    @cached_property
    def engine(self) -> Engine:
        from infra.sql.engine import create_engine_for

        s = self.settings
        return create_engine_for(
            s.database_url,
            entra_auth=s.database_entra_auth,
            pool_size=s.database_pool_size,
            pool_timeout=s.database_pool_timeout_seconds,
            echo=s.database_echo,
        )

    @cached_property
    def check_health(self) -> CheckHealth:
        from application.health import CheckHealth
        from infra.blob.health import StorageProbe
        from infra.sql.health import DatabaseProbe

        timeout = self.settings.health_check_timeout_seconds
        probes = [
            DatabaseProbe(self.engine),
            StorageProbe(self.settings.storage_target, timeout_seconds=timeout),
        ]
        return CheckHealth(probes, timeout_seconds=timeout)

    @cached_property
    def clock(self) -> SystemClock:
        return SystemClock()

    @cached_property
    def uow_factory(self) -> UnitOfWorkFactory:
        from infra.sql.unit_of_work import make_uow_factory

        return make_uow_factory(self.engine)

    @cached_property
    def session_policy(self) -> SessionPolicy:
        from datetime import timedelta

        from domain.auth_sessions import SessionPolicy

        s = self.settings
        return SessionPolicy(
            access_ttl=timedelta(seconds=s.access_token_ttl_seconds),
            absolute_ttl=timedelta(seconds=s.refresh_token_absolute_ttl_seconds),
            idle_ttl=timedelta(seconds=s.refresh_token_idle_ttl_seconds),
            reuse_grace=timedelta(seconds=s.refresh_token_reuse_grace_seconds),
        )

    @cached_property
    def key_ring(self) -> KeyRing:
        """Production keys from JWT_SIGNING_KEYS, else dev keys generated into JWT_KEY_DIRECTORY."""
        from infra.tokens.factory import build_key_ring

        return build_key_ring(self.settings)

    @cached_property
    def access_tokens(self) -> JwtAccessTokens:
        from infra.tokens.factory import build_access_tokens

        return build_access_tokens(self.settings, self.key_ring)

    @cached_property
    def session_issuer(self) -> SessionIssuer:
        """Starts a session inside the caller's unit of work (sign-in and 2FA use it)."""
        from application.identity.sessions import SessionIssuer

        return SessionIssuer(self.access_tokens, self.clock, self.session_policy)

    @cached_property
    def authenticate(self) -> AuthenticateAccessToken:
        from application.identity.authenticate import AuthenticateAccessToken
        from infra.sql.repositories.auth_sessions import SqlAuthSessionLookup

        return AuthenticateAccessToken(self.access_tokens, SqlAuthSessionLookup(self.engine), self.clock)

    @cached_property
    def refresh_session(self) -> RefreshSession:
        from application.identity.refresh import RefreshSession

        return RefreshSession(self.uow_factory, self.session_issuer, self.clock)

    @cached_property
    def logout(self) -> Logout:
        from application.identity.logout import Logout

        return Logout(self.uow_factory, self.clock)

    @cached_property
    def logout_all(self) -> LogoutAll:
        from application.identity.logout import LogoutAll

        return LogoutAll(self.uow_factory, self.clock)

    @cached_property
    def get_me(self) -> GetMe:
        from application.identity.me import GetMe

        return GetMe(self.uow_factory, self.mfa_gate)

    @cached_property
    def publish_signing_keys(self) -> PublishSigningKeys:
        from application.identity.jwks import PublishSigningKeys

        return PublishSigningKeys(self.key_ring, self.clock)

    @cached_property
    def identity_providers(self) -> ProviderRegistry:
        """Only the providers the settings configure; discovery and JWKS are fetched on first use."""
        from infra.identity.registry import build_registry

        return build_registry(self.settings, self.clock)

    @cached_property
    def complete_sign_in(self) -> CompleteSignIn:
        from application.identity.sign_in import CompleteSignIn

        return CompleteSignIn(self.session_issuer, self.mfa_gate, self.clock)

    @cached_property
    def list_providers(self) -> ListProviders:
        from application.identity.sign_in import ListProviders

        return ListProviders(self.identity_providers)

    @cached_property
    def start_web_login(self) -> StartWebLogin:
        from application.identity.sign_in import StartWebLogin

        s = self.settings
        return StartWebLogin(
            self.identity_providers,
            self.uow_factory,
            self.clock,
            public_base_url=s.public_base_url,
            return_to_allowlist=s.return_to_allowlist,
        )

    @cached_property
    def start_link(self) -> StartLink:
        from application.identity.sign_in import StartLink

        return StartLink(self.start_web_login, self.uow_factory)

    @cached_property
    def finish_web_login(self) -> FinishWebLogin:
        from application.identity.sign_in import FinishWebLogin

        return FinishWebLogin(self.identity_providers, self.uow_factory, self.clock, self.complete_sign_in)

    @cached_property
    def redeem_handover(self) -> RedeemHandover:
        from application.identity.sign_in import RedeemHandover

        return RedeemHandover(self.uow_factory, self.clock, self.complete_sign_in)

    @cached_property
    def sign_in_with_id_token(self) -> SignInWithIdToken:
        from application.identity.sign_in import SignInWithIdToken

        return SignInWithIdToken(self.identity_providers, self.uow_factory, self.complete_sign_in)

    @cached_property
    def mfa_gate(self) -> MfaGate:
        """Used by the sign-in flow: is a second factor required, and its challenge."""
        from application.identity.mfa import MfaGate

        return MfaGate(self.clock)

    @cached_property
    def second_factor(self) -> SecondFactor:
        """TOTP (pyotp), the AES-GCM secret cipher (key from settings, or a local key file) and lockout."""
        from datetime import timedelta

        from application.identity.mfa_codes import SecondFactor
        from domain.mfa import LockoutPolicy
        from infra.mfa.keys import build_cipher
        from infra.mfa.totp import PyotpTotp

        s = self.settings
        base = timedelta(seconds=s.mfa_lockout_base_seconds)
        lockout = LockoutPolicy(
            threshold=s.mfa_lockout_threshold, base=base, cap=max(base, timedelta(seconds=s.mfa_lockout_max_seconds))
        )
        cipher = build_cipher(s.mfa_encryption_key, s.mfa_previous_encryption_keys, s.mfa_key_dir)
        return SecondFactor(totp=PyotpTotp(s.mfa_issuer), cipher=cipher, clock=self.clock, lockout=lockout)

    @cached_property
    def setup_two_factor(self) -> SetUpTwoFactor:
        from application.identity.mfa_enrollment import SetUpTwoFactor
        from infra.mfa.qr import SegnoQrRenderer

        return SetUpTwoFactor(self.uow_factory, self.second_factor, SegnoQrRenderer())

    @cached_property
    def enable_two_factor(self) -> EnableTwoFactor:
        from application.identity.mfa_enrollment import EnableTwoFactor

        return EnableTwoFactor(self.uow_factory, self.second_factor)

    @cached_property
    def verify_two_factor(self) -> VerifyTwoFactor:
        from application.identity.mfa_verify import VerifyTwoFactor

        return VerifyTwoFactor(self.uow_factory, self.second_factor, self.session_issuer)

    @cached_property
    def disable_two_factor(self) -> DisableTwoFactor:
        from application.identity.mfa_enrollment import DisableTwoFactor

        return DisableTwoFactor(self.uow_factory, self.second_factor)

    @cached_property
    def regenerate_recovery_codes(self) -> RegenerateRecoveryCodes:
        from application.identity.mfa_enrollment import RegenerateRecoveryCodes

        return RegenerateRecoveryCodes(self.uow_factory, self.second_factor)

    # Real-time: Azure Web PubSub (negotiate, the upstream event handler, presence).
    @cached_property
    def realtime_gateway(self) -> WebPubSubGateway:
        """One Web PubSub SDK client per process: RealtimePublisher, RealtimeMembership, client URLs."""
        from infra.realtime.webpubsub import WebPubSubGateway

        s = self.settings
        return WebPubSubGateway(
            hub=s.webpubsub_hub, connection_string=s.webpubsub_connection_string, endpoint=s.webpubsub_endpoint
        )

    @cached_property
    def upstream_guard(self) -> UpstreamGuard:
        from application.realtime.upstream import UpstreamGuard

        s = self.settings
        return UpstreamGuard(
            hub=s.webpubsub_hub,
            signature_keys=s.webpubsub_signature_key_list,
            allowed_origins=s.webpubsub_allowed_origin_hosts,
        )

    @cached_property
    def connection_registry(self) -> SqlConnectionRegistry:
        from infra.sql.repositories.realtime_connections import SqlConnectionRegistry

        return SqlConnectionRegistry(self.engine)

    @cached_property
    def negotiate(self) -> Negotiate:
        from application.realtime.negotiate import Negotiate

        return Negotiate(self.realtime_gateway, token_minutes=self.settings.webpubsub_client_token_minutes)

    @cached_property
    def handle_connect(self) -> HandleConnect:
        from application.realtime.connections import HandleConnect

        return HandleConnect(self.uow_factory)

    @cached_property
    def handle_connected(self) -> HandleConnected:
        from application.realtime.connections import HandleConnected

        gateway = self.realtime_gateway
        return HandleConnected(
            self.connection_registry, self.session_access, gateway, gateway, self.clock, hub=self.settings.webpubsub_hub
        )

    @cached_property
    def handle_disconnected(self) -> HandleDisconnected:
        from application.realtime.connections import HandleDisconnected

        return HandleDisconnected(self.connection_registry, self.session_access, self.realtime_gateway,
                                  self.presence_check)

    @cached_property
    def presence_check(self) -> PresenceCheck:
        from application.realtime.presence_check import PresenceCheck

        gateway = self.realtime_gateway
        return PresenceCheck(self.connection_registry, gateway, self.session_access, gateway, self.clock)

    @cached_property
    def get_session_presence(self) -> GetSessionPresence:
        from application.realtime.presence import GetSessionPresence

        return GetSessionPresence(self.uow_factory, self.connection_registry, self.presence_check)

    @cached_property
    def rate_limiter(self) -> RateLimiter:
        """Per-IP and per-account abuse limits, counted in SQL so they hold across instances."""
        from infra.sql.rate_limiter import SqlRateLimiter

        return SqlRateLimiter(self.engine, self.clock)

    # Chat: sessions, members, messages. The real-time ports come from the REALTIME area's
    # ``realtime_gateway`` (one Web PubSub adapter implementing RealtimePublisher and RealtimeMembership).
    @cached_property
    def chat_limits(self) -> ChatLimits:
        from application.chat.limits import ChatLimits

        s = self.settings
        return ChatLimits(
            max_message_chars=s.chat_message_max_chars,
            send_rate_limit=s.chat_send_rate_limit,
            send_rate_window_seconds=s.chat_send_rate_window_seconds,
            page_size_default=min(s.chat_page_size_default, s.chat_page_size_max),
            page_size_max=s.chat_page_size_max,
        )

    @cached_property
    def chat_realtime(self) -> SafeRealtime:
        from application.chat.publishing import SafeRealtime

        return SafeRealtime(self.realtime_gateway, self.realtime_gateway)

    @cached_property
    def session_access(self) -> SessionAccess:
        from application.chat.access import SessionAccess

        return SessionAccess(self.uow_factory)

    @cached_property
    def create_session(self) -> CreateSession:
        from application.chat.sessions import CreateSession

        return CreateSession(self.uow_factory, self.chat_realtime, self.clock)

    @cached_property
    def list_my_sessions(self) -> ListMySessions:
        from application.chat.sessions import ListMySessions

        return ListMySessions(self.uow_factory, self.chat_limits)

    @cached_property
    def get_session(self) -> GetSession:
        from application.chat.sessions import GetSession

        return GetSession(self.uow_factory)

    @cached_property
    def rename_session(self) -> RenameSession:
        from application.chat.sessions import RenameSession

        return RenameSession(self.uow_factory, self.chat_realtime, self.clock)

    @cached_property
    def add_member(self) -> AddMember:
        from application.chat.members import AddMember

        return AddMember(self.uow_factory, self.chat_realtime, self.clock)

    @cached_property
    def remove_member(self) -> RemoveMember:
        from application.chat.members import RemoveMember

        return RemoveMember(self.uow_factory, self.chat_realtime)

    @cached_property
    def leave_session(self) -> LeaveSession:
        from application.chat.members import LeaveSession

        return LeaveSession(self.uow_factory, self.chat_realtime, self.clock)

    @cached_property
    def send_message(self) -> SendMessage:
        from application.chat.messages import SendMessage

        return SendMessage(self.uow_factory, self.chat_realtime, self.clock, self.chat_limits)

    @cached_property
    def edit_message(self) -> EditMessage:
        from application.chat.messages import EditMessage

        return EditMessage(self.uow_factory, self.chat_realtime, self.clock, self.chat_limits)

    @cached_property
    def delete_message(self) -> DeleteMessage:
        from application.chat.messages import DeleteMessage

        return DeleteMessage(self.uow_factory, self.chat_realtime, self.clock)

    @cached_property
    def list_messages(self) -> ListMessages:
        from application.chat.messages import ListMessages

        return ListMessages(self.uow_factory, self.chat_limits)

    @cached_property
    def mark_read(self) -> MarkRead:
        from application.chat.reads import MarkRead

        return MarkRead(self.uow_factory, self.chat_realtime)

    @cached_property
    def send_typing(self) -> SendTyping:
        from application.chat.reads import SendTyping

        return SendTyping(self.uow_factory, self.chat_realtime, self.rate_limiter, self.chat_limits)

    # Message search: one adapter per SQL dialect (infra/sql/search).
    @cached_property
    def message_search(self) -> MessageSearch:
        from infra.sql.search import make_message_search

        return make_message_search(self.engine, mssql_top_n=self.settings.search_mssql_top_n)

    @cached_property
    def search_messages(self) -> SearchMessages:
        from application.chat.search import SearchLimits, SearchMessages

        s = self.settings
        limits = SearchLimits(
            page_size_default=min(s.search_page_size_default, s.search_page_size_max),
            page_size_max=s.search_page_size_max,
        )
        return SearchMessages(self.message_search, limits)


_settings: Settings | None = None
_container: Container | None = None
_lock = threading.Lock()


def load_app_settings() -> Settings:
    """Validates the settings once per process; raises ``SettingsError`` naming bad variables."""
    global _settings
    if _settings is None:
        from shared.settings import SettingsError, load_settings

        try:
            _settings = load_settings()
        except SettingsError as error:
            log.critical("the app cannot start: %s", error)
            raise
        configure_logging(_settings.log_level)
    return _settings


def get_container() -> Container:
    """The process-wide container (thread-safe, built once)."""
    global _container
    if _container is None:
        with _lock:
            if _container is None:
                _container = Container(settings=load_app_settings())
    return _container


def reset_container() -> None:
    """Forget settings and adapters (tests that change settings between cases)."""
    global _container, _settings
    with _lock:
        if _container is not None and "engine" in _container.__dict__:
            _container.engine.dispose()
        _container = None
        _settings = None
