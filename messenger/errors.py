"""Domain errors: each carries a stable machine-readable code, an HTTP status and details.

The service and the stores raise these; the web layer turns every one of them into the
same JSON shape, ``{"error": {"code", "message", "details"}}``, over HTTP and WebSocket.
"""

from __future__ import annotations

from typing import Any


class MessengerError(Exception):
    """Base of every error a client may see; subclasses fix ``code`` and ``status``."""

    code = "error"
    status = 400
    message = "The request failed."
    headers: dict[str, str] = {}

    def __init__(self, message: str | None = None, details: dict[str, Any] | None = None):
        super().__init__(message or self.message)
        self.message = message or self.message
        self.details = details or {}

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class InvalidPayload(MessengerError):
    code = "validation_error"
    status = 422
    message = "The payload is invalid."


class InvalidJson(MessengerError):
    code = "invalid_json"
    status = 400
    message = "The body is not valid JSON."


class UnsupportedContentType(MessengerError):
    code = "unsupported_content_type"
    status = 400
    message = "A request body must be JSON, sent with the header -H 'Content-Type: application/json'."


class BodyNotAllowed(MessengerError):
    """A GET or HEAD with a body: refused rather than ignored, so nobody mistakes what was read."""

    code = "body_not_allowed"
    status = 400
    message = "This request takes no body: send its parameters in the query string."


class AuthRequired(MessengerError):
    code = "auth_required"
    status = 401
    message = "Sign in and send 'Authorization: Bearer <token>'."


class InvalidToken(MessengerError):
    code = "invalid_token"
    status = 401
    message = "The token is unknown, expired or revoked; sign in again."


class InvalidCredentials(MessengerError):
    code = "invalid_credentials"
    status = 401
    message = "Wrong login or password."


class WrongPassword(MessengerError):
    """A signed-in user confirming a change (a new password, a new email) with a wrong password:
    403, not 401, which a client would take for a dead token and sign out. Counted as a failed
    sign-in of the account."""

    code = "wrong_password"
    status = 403
    message = "The password is wrong."


class UserMismatch(MessengerError):
    code = "user_mismatch"
    status = 403
    message = "The user_id in the payload must be the signed-in user."


class EmailNotVerified(MessengerError):
    code = "email_not_verified"
    status = 403
    message = "Verify your email address first: open the link mailed to it, or ask for another."


class InvalidOneTimeToken(MessengerError):
    code = "invalid_one_time_token"
    status = 400
    message = "This link is unknown, used or expired: ask for a new one."


class OriginNotAllowed(MessengerError):
    code = "origin_not_allowed"
    status = 403
    message = "This page's origin may not open the stream; see ALLOWED_ORIGINS."


class BadHandshake(MessengerError):
    code = "bad_handshake"
    status = 400
    message = "Not a valid WebSocket handshake."


class UpgradeRequired(BadHandshake):
    code = "upgrade_required"
    status = 426  # RFC 6455 4.2.2: a version the server does not speak, with the one it does
    message = "This server speaks WebSocket version 13 only."
    headers = {"Sec-WebSocket-Version": "13"}


class NotThreadCreator(MessengerError):
    code = "not_thread_creator"
    status = 403
    message = "Only the thread's creator may remove other members."


class NotAllowed(MessengerError):
    code = "not_allowed"
    status = 403
    message = "Only its sender may change this message."


class EditWindowPassed(MessengerError):
    code = "edit_window_passed"
    status = 403
    message = "This message is too old to edit (see edit_window_s in details)."


class ReaddCooldown(MessengerError):
    """Someone who left or was removed may not be pulled back in at once by who added or removed them."""

    code = "readd_cooldown"
    status = 403
    message = (
        "These people left or were removed after you added or removed them; you may add them "
        "back after retry_after seconds (another member may add them now)."
    )


# Blocks and group consent ---------------------------------------------------------------
class Blocked(MessengerError):
    """Someone named has blocked the caller; never says who (in a group, the caller named several)."""

    code = "blocked"
    status = 403
    message = "You cannot message or add someone who has blocked you."


class NotAContact(MessengerError):
    code = "not_a_contact"
    status = 403
    message = (
        "These people accept being added to a group only by someone they share a 1:1 thread with:"
        " message them first (details names the user_ids; nobody was added)."
    )


class CannotBlockSelf(MessengerError):
    code = "cannot_block_self"
    status = 422
    message = "You cannot block yourself."


class TooManyBlocks(MessengerError):
    code = "too_many_blocks"
    status = 422
    message = "You have blocked as many people as allowed (see max_blocks in details); unblock someone first."


class AlreadyMember(MessengerError):
    code = "already_a_member"
    status = 409
    message = "You are a member of this thread already: there is no invitation to decline."


class ThreadNotFound(MessengerError):
    """Raised for a thread that does not exist and for one the caller is not a member of."""

    code = "thread_not_found"
    status = 404
    message = "No such thread."


class MemberNotFound(MessengerError):
    code = "member_not_found"
    status = 404
    message = "That user is not a member of this thread."


class MessageNotFound(MessengerError):
    code = "message_not_found"
    status = 404
    message = "No message with this seq in this thread."


class SessionNotFound(MessengerError):
    """Raised for an unknown session id and for another user's: the same answer."""

    code = "session_not_found"
    status = 404
    message = "No such session of yours."


class UserNotFound(MessengerError):
    code = "user_not_found"
    status = 404
    message = "No such user."


class EmailTaken(MessengerError):
    code = "email_taken"
    status = 409
    message = "An account with this email already exists."


class UsernameTaken(MessengerError):
    code = "username_taken"
    status = 409
    message = "This username is taken."


class ClientMsgIdConflict(MessengerError):
    code = "client_msg_id_conflict"
    status = 409
    message = "This client_msg_id was already used for a message in another thread."


class MessageDeleted(MessengerError):
    code = "message_deleted"
    status = 409
    message = "This message was deleted; it can no longer be edited or reacted to."


class TooManyReactions(MessengerError):
    code = "too_many_reactions"
    status = 409
    message = "This message has as many different reactions as allowed; add one of those instead."


class DirectThreadMembersFixed(MessengerError):
    code = "direct_thread_members_fixed"
    status = 409
    message = "A 1:1 thread has fixed members; create a group thread instead."


class CursorExpired(MessengerError):
    """The log no longer holds what follows this cursor (or never did): refetch GET /threads."""

    code = "cursor_expired"
    status = 410
    message = "This cursor is older than the updates kept; reload GET /threads and resume from its cursor."


class UnknownUsers(MessengerError):
    code = "unknown_users"
    status = 422
    message = "Some users do not exist (details names each unknown user_id and username)."


class ReplyNotFound(MessengerError):
    code = "reply_not_found"
    status = 422
    message = "message.reply_to names no message of this thread."

    def __init__(self) -> None:
        super().__init__(details={"message": {"reply_to": ["No message with this seq in this thread."]}})


class UnknownAttachments(MessengerError):
    """A message names attachments that do not exist or that its sender did not upload: the
    two are one answer, so nobody learns which ids others hold. A 422 like ``UnknownUsers``
    and ``ReplyNotFound`` (an id in the body names nothing usable; the URL's resource, the
    thread, is there), which leaves 404 ``attachment_not_found`` to the download route."""

    code = "unknown_attachments"
    status = 422
    message = "Some attachments do not exist or were not uploaded by you (details.attachment_ids)."

    def __init__(self, attachment_ids: list[str]) -> None:
        super().__init__(details={"attachment_ids": list(attachment_ids)})


class TooManyMembers(MessengerError):
    code = "too_many_members"
    status = 422
    message = "The thread would have more members than allowed."


class RateLimited(MessengerError):
    code = "rate_limited"
    status = 429
    message = "Too many requests; retry after the number of seconds in Retry-After."

    def __init__(self, retry_after: int):
        super().__init__(details={"retry_after": retry_after})
        self.headers = {"Retry-After": str(retry_after)}


class TooManyRequestsInFlight(MessengerError):
    code = "too_many_requests_in_flight"
    status = 429
    message = "Too many of your requests are still being answered; read their answers first."
    headers = {"Retry-After": "1"}


# Attachments: what messenger/media refuses in an upload ------------------------------------
class ImageTooLarge(MessengerError):
    """Refused from its header alone, before a pixel is decoded: a decompression bomb (a tiny
    file that decodes to gigapixels) costs nothing more than a huge photo."""

    code = "image_too_large"
    status = 422
    message = "This image has more pixels than allowed (details: its width and height, and max_pixels)."


class InvalidImage(MessengerError):
    """Bytes that start like a JPEG, PNG, WebP or GIF but cannot be read as one (corrupt,
    truncated, or another format behind the signature): refused rather than stored unchecked."""

    code = "invalid_image"
    status = 422
    message = "This file starts like an image but cannot be read as one: it is corrupt or truncated."


class InternalError(MessengerError):
    code = "internal_error"
    status = 500
    message = "The request failed unexpectedly."


class MailNotConfigured(MessengerError):
    """404, not 503: the feature is absent on this server, not down for a while (a client
    should not retry), and a 5xx would be a server error by the fuzzer's and monitors' rule."""

    code = "mail_not_configured"
    status = 404
    message = "This server sends no mail (SMTP_URL is not set): ask its operator to reset your password."


class StoreUnavailable(MessengerError):
    code = "store_unavailable"
    status = 503
    message = "The message store is unavailable; try again shortly."


class BlobTooLarge(MessengerError):
    """Raised by ``BlobStore.put`` the moment a stream passes its bound; nothing is kept."""

    code = "payload_too_large"
    status = 413
    message = "The file is larger than this server accepts."

    def __init__(self, max_bytes: int):
        super().__init__(details={"max_bytes": max_bytes})


class BlobNotFound(MessengerError):
    """No bytes are stored under this blob id (never stored, or deleted)."""

    code = "attachment_not_found"
    status = 404
    message = "No such attachment."


class AttachmentNotFound(MessengerError):
    """No such attachment, or not one the caller may read: the same answer, so an id reveals
    nothing to someone who is neither its uploader nor a member of a thread where it was sent."""

    code = "attachment_not_found"
    status = 404
    message = "No such attachment."


class QuotaExceeded(MessengerError):
    """The upload would take the uploader past ATTACHMENT_QUOTA_BYTES; nothing is kept."""

    code = "quota_exceeded"
    status = 413
    message = "Your uploads have used all the space this server gives each person."

    def __init__(self, quota_bytes: int):
        super().__init__(details={"quota_bytes": quota_bytes})


class TooManyAttachments(MessengerError):
    code = "too_many_attachments"
    status = 422
    message = "A message carries at most MAX_ATTACHMENTS_PER_MESSAGE files."

    def __init__(self, max_attachments: int):
        super().__init__(details={"max_attachments": max_attachments})


class InvalidAvatar(MessengerError):
    """A picture must be an image (JPEG, PNG, WebP or GIF) that its user uploaded."""

    code = "invalid_avatar"
    status = 422
    message = "Your picture must be an image you uploaded (POST /attachments)."


class UrlExpired(MessengerError):
    """A signed download URL of ours, past its expiry: the message read again carries a new one."""

    code = "url_expired"
    status = 403
    message = "This link has expired: load the message again for a fresh one."


class IncompleteBody(MessengerError):
    """The upload ended before its Content-Length (a cancelled or broken upload); nothing kept."""

    code = "incomplete_body"
    status = 400
    message = "The upload ended before all its bytes arrived."


class BodyTimeout(MessengerError):
    """A streamed upload did not arrive within UPLOAD_TIMEOUT_S, or stalled for
    SOCKET_TIMEOUT_S; nothing is kept."""

    code = "request_timeout"
    status = 408
    message = "The upload took too long to arrive."


class MailDeliveryError(Exception):
    """A mail transport could not hand a mail over; never shown to a client (the outbox keeps
    the mail). ``permanent``: the server refused it for good (a 5xx reply), so retrying is vain."""

    def __init__(self, reason: str, permanent: bool = False):
        super().__init__(reason)
        self.permanent = permanent


# Leaving the service --------------------------------------------------------------------
class AccountDisabled(MessengerError):
    code = "account_disabled"
    status = 403
    message = "This account has been disabled by the operator."
