"""Entry point for the Azure Functions host (Python v2 programming model).

Registers one blueprint per area and tells the interface layer how to reach the composition
root. Settings are validated here, so a bad one stops the app at start with its name. Nothing
heavy is imported: SQLAlchemy, the Azure SDKs, PyJWT, msal and LangChain load on first use (see
``bootstrap.py``), which keeps the cold start close to that of the bare Functions SDK.
"""

import azure.durable_functions as df
import azure.functions as func

import bootstrap
from interface import dependencies
from interface.http import health, me, sign_in, tokens, two_factor
from interface.http import messages as chat_messages
from interface.http import search as chat_search
from interface.http import sessions as chat_sessions
from interface.orchestration import deep_health
from interface.realtime import events as realtime_events
from interface.realtime import negotiate as realtime_negotiate
from interface.realtime import presence as realtime_presence

bootstrap.load_app_settings()

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
dependencies.provide(bootstrap.get_container)

for blueprint in (
    health.bp, deep_health.bp, sign_in.bp, tokens.bp, me.bp, two_factor.bp,
    chat_sessions.bp, chat_messages.bp, chat_search.bp,
    realtime_negotiate.bp, realtime_events.bp, realtime_presence.bp,
):
    app.register_functions(blueprint)
