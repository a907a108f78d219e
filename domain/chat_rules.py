"""Chat rules: what a message text may contain, who may change what, and who owns a session next.

Kept apart from ``domain/chat.py`` (the entities) so the rules read as one list of decisions:

- **Text**: control characters are stripped (except newline and tab; CR LF becomes LF) because they
  break terminals, logs and some clients' renderers; the text is trimmed and must not be empty.
- **Client message ids**: 1-64 characters of ``[A-Za-z0-9._:-]`` (UUIDs, ULIDs, "device:counter"),
  so they are safe in logs and in the unique index.
- **Rename**: owners only (members can talk, owners run the room — the same rule as adding and
  removing members, so one role decides everything about the room itself).
- **Edit**: the sender only, and not once deleted. **Delete**: the sender or an owner of the session.
- **Ownership**: a session never loses its last owner while it has members. When the last owner
  leaves, the oldest remaining member becomes owner; when the last member leaves, the session is
  deleted (soft). An owner cannot *remove* the last owner (another owner could only remove
  themselves by leaving, which hands ownership on).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence

from domain.chat import BODY_MAX, CLIENT_MESSAGE_ID_MAX, MemberRole, Message, SenderKind, SessionMember
from shared.errors import Conflict, Forbidden, InvalidInput, PayloadTooLarge

MAX_ATTACHMENTS = 10
MAX_INITIAL_MEMBERS = 100

# C0 controls except \t (0x09) and \n (0x0a), DEL, and the C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CLIENT_MESSAGE_ID = re.compile(rf"^[A-Za-z0-9._:\-]{{1,{CLIENT_MESSAGE_ID_MAX}}}$")


class MessageTooLong(PayloadTooLarge):
    code = "message_too_long"


class EmptyMessage(InvalidInput):
    code = "empty_message"


class InvalidClientMessageId(InvalidInput):
    code = "invalid_client_message_id"


class InvalidReplyTo(InvalidInput):
    code = "invalid_reply_to"


class AttachmentNotUsable(InvalidInput):
    """One message for unknown, foreign, pending and rejected files alike: no probing of file ids."""

    code = "invalid_attachment"


class NotSessionOwner(Forbidden):
    code = "not_session_owner"


class NotMessageSender(Forbidden):
    code = "not_message_sender"


class MessageAlreadyDeleted(Conflict):
    code = "message_deleted"


class LastOwner(Conflict):
    code = "last_owner"


def normalize_text(text: str, *, max_chars: int) -> str:
    """The text as stored: CR LF → LF, lone CR → LF, control characters removed, trimmed."""
    cleaned = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if not cleaned:
        raise EmptyMessage("The message text must not be empty.")
    limit = min(max_chars, BODY_MAX)
    if len(cleaned) > limit:
        raise MessageTooLong(f"The message text must have at most {limit} characters.", details={"max_chars": limit})
    return cleaned


def validate_client_message_id(value: str) -> str:
    if not isinstance(value, str) or not _CLIENT_MESSAGE_ID.match(value):
        raise InvalidClientMessageId(
            f"client_message_id must have 1 to {CLIENT_MESSAGE_ID_MAX} characters among letters, digits and '._:-'."
        )
    return value


def validate_attachment_count(file_ids: Sequence[uuid.UUID]) -> tuple[uuid.UUID, ...]:
    unique = tuple(dict.fromkeys(file_ids))
    if len(unique) > MAX_ATTACHMENTS:
        raise AttachmentNotUsable(f"A message can carry at most {MAX_ATTACHMENTS} files.")
    return unique


def is_owner(member: SessionMember | None) -> bool:
    return member is not None and member.role is MemberRole.OWNER


def require_owner(member: SessionMember | None) -> None:
    if not is_owner(member):
        raise NotSessionOwner("Only an owner of the session may do this.")


def require_can_edit(message: Message, user_id: uuid.UUID) -> None:
    if message.sender_kind is not SenderKind.USER or message.sender_id != str(user_id):
        raise NotMessageSender("Only the sender may edit a message.")
    if message.deleted_at is not None:
        raise MessageAlreadyDeleted("The message was deleted.")


def can_delete(message: Message, user_id: uuid.UUID, member: SessionMember | None) -> bool:
    own = message.sender_kind is SenderKind.USER and message.sender_id == str(user_id)
    return own or is_owner(member)


def owners(members: Sequence[SessionMember]) -> list[SessionMember]:
    return [m for m in members if m.role is MemberRole.OWNER]


def require_not_last_owner(members: Sequence[SessionMember], user_id: uuid.UUID) -> None:
    """Removing ``user_id`` must leave at least one owner behind."""
    remaining = [m for m in owners(members) if m.user_id != user_id]
    target_is_owner = any(m.user_id == user_id for m in owners(members))
    if target_is_owner and not remaining:
        raise LastOwner("The last owner cannot be removed; they can leave, which hands ownership on.")


def successor_owner(members: Sequence[SessionMember], leaving: uuid.UUID) -> SessionMember | None:
    """Who becomes owner when ``leaving`` goes: None if an owner remains or nobody remains.

    The oldest remaining member (earliest ``joined_at``, then user id for a total order).
    """
    rest = [m for m in members if m.user_id != leaving]
    if not rest or owners(rest):
        return None
    return min(rest, key=lambda m: (m.joined_at, str(m.user_id)))
