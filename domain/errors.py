"""Domain errors.

Each one subclasses a category from :mod:`shared.errors` so the interface layer can map it to a
response without knowing the domain; the ``code`` is what clients branch on.
"""

from __future__ import annotations

from shared.errors import Conflict, InvalidInput, NotFound


class UserNotFound(NotFound):
    code = "user_not_found"


class ChatSessionNotFound(NotFound):
    code = "session_not_found"


class MessageNotFound(NotFound):
    code = "message_not_found"


class FileNotFound(NotFound):
    code = "file_not_found"


class IdentityAlreadyLinked(Conflict):
    """The (provider, subject) pair already belongs to a user: one external account, one user."""

    code = "identity_already_linked"


class AlreadyMember(Conflict):
    code = "already_member"


class InvalidMessage(InvalidInput):
    code = "invalid_message"


class InvalidSession(InvalidInput):
    code = "invalid_session"


class InvalidFile(InvalidInput):
    code = "invalid_file"


class InvalidTokenUsage(InvalidInput):
    code = "invalid_token_usage"


class InvalidUser(InvalidInput):
    code = "invalid_user"
