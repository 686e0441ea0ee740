"""Marshmallow schemas for every payload, shared by HTTP, /actions and the WebSocket.

``load`` validates a payload against one of them, a refusal becoming our 422.

Requests reject unknown fields (marshmallow's default); responses are what clients rely on,
so renaming a field here is a breaking change.
"""

from __future__ import annotations

from typing import Any

from marshmallow import INCLUDE, Schema, ValidationError, fields, validate, validates_schema

from . import model, passwords
from .config import LONGPOLL_MAX_TIMEOUT_S, MAX_ATTACHMENTS_CEILING
from .errors import InvalidPayload
from .text import bidi_controls_in, has_control_characters, shows_something

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 50
# Integers must fit in a JavaScript number and in SQLite's and MongoDB's 64-bit integers.
MAX_SAFE_INTEGER = 2**53 - 1
# Matched whole (FullMatch): with re.match, "$" also matches before a final newline, so
# "alice\n" would pass. The anchors stay for the OpenAPI document (JavaScript's "$" is strict).
USERNAME_PATTERN = r"^[A-Za-z0-9_.\-]{3,32}$"
USERNAME_RULE = "3 to 32 letters, digits, '_', '.' or '-'."
DISPLAY_NAME_MAX_LENGTH = 64
MAX_DEVICE_LENGTH = 64


def load(schema: Schema, payload: Any) -> dict:
    """Validate a payload, turning marshmallow's errors into our 422."""
    try:
        return schema.load(payload)
    except ValidationError as error:
        details = error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
        raise InvalidPayload(details=details) from None


def storable(text: str) -> str:
    """Refuse lone surrogates (legal in JSON escapes) that no store can encode."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError("Not valid Unicode text (lone surrogate).") from None
    return text


class FullMatch(validate.Regexp):
    """A Regexp the whole value must match (marshmallow's uses ``re.match``: a prefix will do)."""

    def __call__(self, value: str) -> str:
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


class Text(fields.String):
    """A string that can be stored: lone surrogates (legal in JSON escapes) are refused."""

    def _deserialize(self, value, attr, data, **kwargs):
        return storable(super()._deserialize(value, attr, data, **kwargs))


class Email(fields.Email):
    """An email address that can be stored (the Email validator lets a lone surrogate through)."""

    def _deserialize(self, value, attr, data, **kwargs):
        return storable(super()._deserialize(value, attr, data, **kwargs))


def visible(text: str) -> None:
    """Refuse text that shows nothing: only spaces, zero-width, format or combining characters."""
    if not shows_something(text):
        raise ValidationError("Must show something: not only spaces, invisible or formatting characters.")


def attachment_id(text: str) -> None:
    if not model.BLOB_ID.fullmatch(text):
        raise ValidationError("Not an attachment id (32 hex digits, from POST /attachments).")


def one_line(text: str) -> None:
    if has_control_characters(text):
        raise ValidationError("Must be one line, without control characters.")


def no_bidi_controls(text: str) -> None:
    """Refuse bidi embeddings, overrides, isolates and marks, which can make a name read as another."""
    found = bidi_controls_in(text)
    if found:
        raise ValidationError(f"Must not hold bidirectional control characters ({', '.join(found)}).")


def password_on_its_own(password: str) -> None:
    found = passwords.problems(password)
    if found:
        raise ValidationError(found)


def NewPassword(**kwargs) -> Text:  # noqa: N802 - reads like a field class at the call sites
    """A password being set: the policy's checks on the password alone (``passwords.problems``);
    those against the account's names need the account (sign-up: the body; a change: the store)."""
    return Text(
        validate=[validate.Length(min=passwords.MIN_LENGTH, max=passwords.MAX_LENGTH), password_on_its_own],
        metadata={"description": "At least 8 characters; not a common password, nor one holding your names."},
        **kwargs,
    )


def DeviceName(**kwargs) -> Text:  # noqa: N802
    """A device's name as its user will read it in their sessions list."""
    return Text(
        validate=[validate.Length(min=1, max=MAX_DEVICE_LENGTH), visible, no_bidi_controls],
        metadata={
            "description": 'Optional: names this device in GET /me/sessions, e.g. "Pixel 8"; else it is '
            'named from the User-Agent, e.g. "Firefox on Linux".'
        },
        **kwargs,
    )


def Id(**kwargs) -> Text:  # noqa: N802 - reads like a field class at the call sites
    return Text(validate=validate.Length(min=1, max=64), **kwargs)


def Count(minimum: int = 0, **kwargs) -> fields.Integer:  # noqa: N802
    """A JSON integer (never a bool, float or string) that fits every store."""
    return fields.Integer(strict=True, validate=validate.Range(min=minimum, max=MAX_SAFE_INTEGER), **kwargs)


def QueryCount(minimum: int = 0, **kwargs) -> fields.Integer:  # noqa: N802
    """An integer from a query string, where every value arrives as text."""
    return fields.Integer(validate=validate.Range(min=minimum, max=MAX_SAFE_INTEGER), **kwargs)


def action_field(name: str) -> fields.String:
    return fields.String(validate=validate.Equal(name), metadata={"description": f'Optional, "{name}".'})


# Accounts -----------------------------------------------------------------------------
class SignupRequest(Schema):
    email = Email(required=True, validate=validate.Length(max=254))
    username = Text(
        required=True,
        validate=FullMatch(USERNAME_PATTERN, error=USERNAME_RULE),
    )
    password = NewPassword(required=True)
    device = DeviceName()

    @validates_schema(skip_on_field_errors=False)
    def check_password_against_names(self, data, **kwargs):
        """Checked even when another field is wrong, so every problem is reported at once."""
        if "password" in data:
            found = passwords.problems_with_names(data["password"], data.get("username"), data.get("email"))
            if found:
                raise ValidationError(found, "password")


class SigninRequest(Schema):
    login = Text(
        required=True,
        validate=validate.Length(min=1, max=254),
        metadata={"description": "Email or username."},
    )
    password = Text(required=True, validate=validate.Length(min=1, max=1024))
    device = DeviceName()


def DisplayName(**kwargs) -> fields.String:  # noqa: N802 - reads like a field class
    return fields.String(
        allow_none=True,
        metadata={"description": "Shown instead of the username where set; null: none."},
        **kwargs,
    )


def _field_of(value, name: str):
    """``value``'s ``name``, as an attribute (model values) or a key (dicts)."""
    return value.get(name) if isinstance(value, dict) else getattr(value, name, None)


def Avatar() -> fields.Function:  # noqa: N802
    return fields.Function(
        lambda user: _field_of(user, "avatar_id"),
        required=True,
        allow_none=True,
        metadata={"type": "string", "description": "The attachment_id of their picture; null: none."},
    )


def AvatarUrl() -> fields.Function:  # noqa: N802
    return fields.Function(
        lambda user: model.avatar_url(_field_of(user, "user_id"), _field_of(user, "avatar_id")),
        required=True,
        allow_none=True,
        metadata={
            "type": "string",
            "description": "Their picture (a thumbnail), at a stable URL that needs no token; null: none.",
        },
    )


class SignedIn(Schema):
    user_id = fields.String(required=True)
    username = fields.String(required=True)
    display_name = DisplayName(required=True)
    avatar = Avatar()
    avatar_url = AvatarUrl()
    email = fields.String(required=True)
    token = fields.String(required=True, metadata={"description": "Send as 'Authorization: Bearer <token>'."})


class PublicUser(Schema):
    user_id = fields.String(required=True)
    username = fields.String(required=True)
    display_name = DisplayName(required=True)
    avatar = Avatar()
    avatar_url = AvatarUrl()


class MemberOut(Schema):
    """A thread member. ``display_name`` is absent from thread.new updates stored before
    profiles existed: read it as null."""

    user_id = fields.String(required=True)
    username = fields.String(required=True)
    display_name = DisplayName()
    avatar = Avatar()
    avatar_url = AvatarUrl()


class DeleteAccountRequest(Schema):
    password = Text(
        required=True,
        validate=validate.Length(min=1, max=1024),
        metadata={"description": "Your current password."},
    )


class ProfileRequest(Schema):
    username = Text(
        validate=FullMatch(USERNAME_PATTERN, error=USERNAME_RULE),
        metadata={"description": "A new username, unique case-insensitively; the old one is free at once."},
    )
    display_name = Text(
        allow_none=True,
        validate=[validate.Length(min=1, max=DISPLAY_NAME_MAX_LENGTH), visible, one_line, no_bidi_controls],
        metadata={"description": f"1 to {DISPLAY_NAME_MAX_LENGTH} characters on one line; null clears it."},
    )
    avatar = Text(
        allow_none=True,
        validate=attachment_id,
        data_key="avatar",
        attribute="avatar_id",
        metadata={
            "description": "The attachment_id of an image you uploaded (POST /attachments) as your "
            "picture; null removes it.",
            "pattern": "^[0-9a-f]{32}$",
        },
    )

    @validates_schema
    def check_something_to_change(self, data, **kwargs):
        if not data:
            raise ValidationError("Give username, display_name, avatar or some of them.")


class Me(PublicUser):
    email = fields.String(required=True)
    created_at = fields.Integer(required=True)
    email_verified = fields.Boolean(
        required=True,
        metadata={"description": "A link mailed to the address was opened; false without SMTP_URL."},
    )


# Passwords and email ------------------------------------------------------------------
def OneTimeTokenField() -> fields.String:  # noqa: N802 - reads like a field class
    return Text(
        required=True,
        validate=validate.Length(min=1, max=128),
        metadata={"description": "The token from the mailed link (its token= parameter)."},
    )


class PasswordResetRequest(Schema):
    email = Email(required=True, validate=validate.Length(max=254))


class PasswordResetConfirmRequest(Schema):
    token = OneTimeTokenField()
    new_password = Text(
        required=True,
        validate=validate.Length(min=passwords.MIN_LENGTH, max=passwords.MAX_LENGTH),
        metadata={"description": "As at sign-up: 8 characters or more, not common, not holding your names."},
    )


class VerifyEmailRequest(Schema):
    token = OneTimeTokenField()


class EmailChangeRequest(Schema):
    email = Email(required=True, validate=validate.Length(max=254))
    password = Text(required=True, validate=validate.Length(min=1, max=1024))


class Accepted(Schema):
    message = fields.String(required=True)


class PasswordChangeRequest(Schema):
    current_password = Text(required=True, validate=validate.Length(min=1, max=passwords.MAX_LENGTH))
    new_password = NewPassword(required=True)


class SessionOut(Schema):
    session_id = fields.String(required=True, metadata={"description": "DELETE /me/sessions/<it> ends it."})
    device = fields.String(required=True, metadata={"description": 'As named at sign-in, or "unknown".'})
    created_at = fields.Integer(required=True, metadata={"description": "When it signed in."})
    last_seen_at = fields.Integer(required=True, metadata={"description": "Its last use, to the minute."})
    expires_at = fields.Integer(required=True, metadata={"description": "Each use moves it on (daily)."})
    address = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "The network it was last used from (an IPv4 /24, an IPv6 /48), or null."},
    )
    current = fields.Boolean(required=True, metadata={"description": "The session of this request."})


class SessionList(Schema):
    sessions = fields.List(
        fields.Nested(SessionOut), required=True, metadata={"description": "The most recently used first."}
    )


class UserSearchQuery(Schema):
    q = Text(load_default="", validate=validate.Length(max=32), metadata={"description": "Username prefix."})


class UserList(Schema):
    users = fields.List(fields.Nested(PublicUser), required=True)


# Messages and threads -----------------------------------------------------------------
# A message names at most MAX_ATTACHMENTS_CEILING uploads in any case; MAX_ATTACHMENTS_PER_MESSAGE
# (at most that) is the server's own limit, checked by the service (422 too_many_attachments).
ATTACHMENT_IDS_CEILING = MAX_ATTACHMENTS_CEILING


class MessageIn(Schema):
    user_id = Id(metadata={"description": "Optional (the token says who sends); must be the signed-in user."})
    contents = Text(
        required=True,
        metadata={
            "description": "Must show something, unless the message carries attachments (then may be '')."
        },
    )
    attachments = fields.List(
        Text(validate=attachment_id, metadata={"pattern": "^[0-9a-f]{32}$"}),
        validate=validate.Length(max=ATTACHMENT_IDS_CEILING),
        metadata={
            "description": "Optional: attachment_ids of your own uploads (POST /attachments), in order."
        },
    )
    timestamp = Count(
        metadata={
            "description": "Optional: the client's clock, ms since the epoch, kept as client_timestamp "
            "(the server's time when left out)."
        }
    )
    client_msg_id = Text(
        validate=validate.Length(min=1, max=64),
        metadata={"description": "Retrying with the same id never stores a second copy."},
    )

    @validates_schema(skip_on_field_errors=True)
    def shows_something(self, data: dict, **kwargs) -> None:
        """Text that shows nothing is refused, unless files are what the message carries."""
        if not data.get("attachments"):
            try:
                visible(data["contents"])
            except ValidationError as error:
                raise ValidationError(error.messages, field_name="contents") from None


class SentMessageIn(MessageIn):
    reply_to = Count(
        minimum=1,
        metadata={"description": "Optional: the seq of the message of this thread it answers (422 if none)."},
    )


class SendMessageRequest(Schema):
    thread_id = Id(required=True)
    message = fields.Nested(SentMessageIn, required=True)
    action = action_field("send_message")


class CreateThreadRequest(Schema):
    user_ids = fields.List(
        Id(),
        validate=validate.Length(min=1, max=1000),
        metadata={"description": "Members by id; you are added if left out. Give this, usernames or both."},
    )
    usernames = fields.List(
        Text(validate=validate.Length(min=1, max=32)),
        validate=validate.Length(min=1, max=1000),
        metadata={"description": "Members by username, case-insensitive; beside or instead of user_ids."},
    )
    message = fields.Nested(MessageIn, required=True)
    title = Text(
        allow_none=True,
        validate=[validate.Length(min=1, max=100), visible, no_bidi_controls],
        metadata={"description": "Group threads only."},
    )
    action = action_field("create_thread")

    @validates_schema
    def check_members_named(self, data, **kwargs):
        if "user_ids" not in data and "usernames" not in data:
            raise ValidationError("Name the other members in user_ids, usernames or both.", "user_ids")


class PageMixin:
    """0-based ``start_index``/``end_index`` counted from the newest, end exclusive."""

    @validates_schema
    def check_page(self, data, **kwargs):
        start = data.setdefault("start_index", 0)
        end = data.setdefault("end_index", start + DEFAULT_PAGE_SIZE)
        if end < start:
            raise ValidationError("end_index must not be below start_index.", "end_index")
        if end - start > MAX_PAGE_SIZE:
            raise ValidationError(f"A page holds at most {MAX_PAGE_SIZE} items.", "end_index")


class GetUserThreadsRequest(PageMixin, Schema):
    user_id = Id(required=True)
    start_index = Count()
    end_index = Count()
    action = action_field("get_user_threads")


class GetThreadMessagesRequest(PageMixin, Schema):
    user_id = Id(required=True)
    thread_id = Id(required=True)
    start_index = Count()
    end_index = Count()
    action = action_field("get_thread_messages")


class ThreadsQuery(PageMixin, Schema):
    user_id = Id(metadata={"description": "Optional; must be the signed-in user."})
    start_index = QueryCount()
    end_index = QueryCount()


class MessagesQuery(Schema):
    user_id = Id(metadata={"description": "Optional; must be the signed-in user."})
    start_index = QueryCount()
    end_index = QueryCount()
    before_seq = QueryCount(minimum=1, metadata={"description": "Page back from this seq (exclusive)."})
    limit = QueryCount(minimum=0, metadata={"description": f"With before_seq; default {DEFAULT_PAGE_SIZE}."})

    @validates_schema
    def check_page(self, data, **kwargs):
        if "before_seq" in data:
            if "start_index" in data or "end_index" in data:
                raise ValidationError("Use either before_seq/limit or start_index/end_index.", "before_seq")
            limit = data.setdefault("limit", DEFAULT_PAGE_SIZE)
            if limit > MAX_PAGE_SIZE:
                raise ValidationError(f"A page holds at most {MAX_PAGE_SIZE} items.", "limit")
            return
        if "limit" in data:
            raise ValidationError("limit goes with before_seq.", "limit")
        PageMixin.check_page(self, data)


class MarkReadRequest(Schema):
    seq = Count(required=True)


class MarkReadAction(MarkReadRequest):
    """mark_read over the WebSocket: the thread travels in the payload."""

    thread_id = Id(required=True)
    action = action_field("mark_read")


class TypingAction(Schema):
    thread_id = Id(required=True)
    action = action_field("typing")


class TypingReply(Schema):
    thread_id = fields.String(required=True)


class UpdatesQuery(Schema):
    since = QueryCount(
        metadata={"description": "The cursor of the last update received; omit to get the current one."}
    )
    timeout = fields.Float(
        load_default=None,
        validate=validate.Range(min=0, max=LONGPOLL_MAX_TIMEOUT_S),
        metadata={
            "description": "Seconds to wait for an update (default: the server's LONGPOLL_TIMEOUT_S;"
            f" at most {LONGPOLL_MAX_TIMEOUT_S})."
        },
    )


class AddMembersRequest(Schema):
    user_ids = fields.List(Id(), required=True, validate=validate.Length(min=1, max=1000))


# Changes to a message: HTTP takes thread_id and seq (and the emoji) from the path, the socket's
# actions from the frame.
class EditMessageRequest(Schema):
    contents = Text(required=True, validate=visible, metadata={"description": "As for a send."})


class MessageAddress(Schema):
    thread_id = Id(required=True)
    seq = Count(minimum=1, required=True)


class EditMessageAction(MessageAddress, EditMessageRequest):
    action = action_field("edit_message")


class DeleteMessageAction(MessageAddress):
    action = action_field("delete_message")


class ReactAction(MessageAddress):
    emoji = Text(
        required=True, validate=validate.Length(min=1, max=32), metadata={"description": "One emoji."}
    )
    action = action_field("react")


class UnreactAction(ReactAction):
    action = action_field("unreact")


class NoContent(Schema):
    """What a 204 answers on the socket: the result frame alone."""


class QuoteOut(Schema):
    seq = fields.Integer(required=True)
    user_id = fields.String(required=True)
    preview = fields.String(
        required=True, metadata={"description": "Its first 140 characters; '' once deleted."}
    )


class ReactionOut(Schema):
    emoji = fields.String(required=True)
    count = fields.Integer(required=True, metadata={"description": "Exact."})
    user_ids = fields.List(
        fields.String(), required=True, metadata={"description": "Who reacted, earliest first: at most 100."}
    )


class AttachmentOut(Schema):
    """An attachment as the API shows it: ``model.Attachment.public`` (never a blob id) with
    signed URLs."""

    attachment_id = fields.String(required=True)
    filename = fields.String(required=True)
    content_type = fields.String(required=True, metadata={"description": "Sniffed from the bytes."})
    size = fields.Integer(required=True, metadata={"description": "Bytes, of what is served."})
    sha256 = fields.String(required=True, metadata={"description": "Hex, of what is served."})
    width = fields.Integer(allow_none=True, metadata={"description": "Images: upright, in pixels."})
    height = fields.Integer(allow_none=True)
    url = fields.String(
        required=True, metadata={"description": "Signed: works without a token until it expires."}
    )
    thumbnail_url = fields.String(allow_none=True, metadata={"description": "Images only; signed like url."})


class AttachmentReply(Schema):
    attachment = fields.Nested(AttachmentOut, required=True)


class UploadQuery(Schema):
    filename = Text(
        validate=validate.Length(min=1, max=255),
        metadata={"description": "The file's name; required with a raw body, optional for multipart."},
    )


class MessageOut(Schema):
    message_id = fields.String(required=True)
    thread_id = fields.String(required=True)
    seq = fields.Integer(required=True)
    user_id = fields.String(required=True)
    contents = fields.String(required=True, metadata={"description": "'' once deleted."})
    timestamp = fields.Integer(required=True, metadata={"description": "Server time, ms since the epoch."})
    client_timestamp = fields.Integer(required=True)
    client_msg_id = fields.String(allow_none=True)
    edited_at = fields.Integer(allow_none=True, metadata={"description": "Server time of the latest edit."})
    edit_count = fields.Integer(required=True)
    deleted = fields.Boolean(required=True)
    version = fields.Integer(
        required=True,
        metadata={"description": "One more for every change: keep what the highest version says."},
    )
    reply_to = fields.Nested(QuoteOut, allow_none=True, metadata={"description": "The message it answers."})
    mentions = fields.List(fields.String(), required=True, metadata={"description": "User ids it @mentions."})
    reactions = fields.List(fields.Nested(ReactionOut), required=True)
    attachments = fields.List(
        fields.Nested(AttachmentOut),
        metadata={
            "description": "In the order sent; [] once deleted. Absent from updates stored before"
            " attachments existed: read that as []."
        },
    )


class PreviewOut(Schema):
    seq = fields.Integer(required=True)
    user_id = fields.String(required=True)
    contents = fields.String(required=True)
    timestamp = fields.Integer(required=True)
    deleted = fields.Boolean(required=True, metadata={"description": "The newest message was deleted."})


class ThreadOut(Schema):
    thread_id = fields.String(required=True)
    kind = fields.String(required=True, metadata={"description": '"direct" (1:1) or "group".'})
    title = fields.String(allow_none=True)
    created_by = fields.String(required=True)
    created_at = fields.Integer(required=True)
    members = fields.List(fields.Nested(MemberOut), required=True)
    last_activity = fields.Integer(required=True)
    last_seq = fields.Integer(required=True)
    last_read_seq = fields.Integer(required=True)
    unread_count = fields.Integer(
        required=True,
        metadata={"description": "Others' messages after last_read_seq, deleted ones not counted."},
    )
    last_message = fields.Nested(PreviewOut, allow_none=True)
    unread_mentions = fields.Integer(
        required=True, metadata={"description": "Unread messages that @mention you."}
    )


class MessageReply(Schema):
    message = fields.Nested(MessageOut, required=True)


class ThreadReply(Schema):
    thread = fields.Nested(ThreadOut, required=True)
    message = fields.Nested(MessageOut)
    invited = fields.List(
        fields.String(),
        metadata={
            "description": "Under GROUP_ADD_POLICY=invite: who was invited instead of added"
            " (present only when anyone was)."
        },
    )


class ThreadList(Schema):
    threads = fields.List(fields.Nested(ThreadOut), required=True)
    cursor = fields.Integer(
        required=True,
        metadata={"description": "Resume GET /updates or /stream from here after loading this list."},
    )


class MessageList(Schema):
    messages = fields.List(fields.Nested(MessageOut), required=True)


class ReadMarker(Schema):
    thread_id = fields.String(required=True)
    last_read_seq = fields.Integer(required=True)


# Blocks and invitations -------------------------------------------------------------------
class BlockOut(Schema):
    user_id = fields.String(required=True)
    username = fields.String(required=True)
    blocked_at = fields.Integer(required=True, metadata={"description": "Server time, ms since the epoch."})


class BlockList(Schema):
    blocks = fields.List(fields.Nested(BlockOut), required=True, metadata={"description": "Newest first."})


class InvitationOut(Schema):
    thread = fields.Nested(
        ThreadOut,
        required=True,
        metadata={"description": "The group as an invitee may see it: members and title, no messages."},
    )
    invited_by = fields.String(required=True)
    invited_at = fields.Integer(required=True, metadata={"description": "Server time, ms since the epoch."})


class InvitationList(Schema):
    invitations = fields.List(
        fields.Nested(InvitationOut), required=True, metadata={"description": "Newest first, at most 100."}
    )


class StrictBoolean(fields.Boolean):
    """JSON true or false only: not 1, "yes" or "on", which a typo would make an answer."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class InvitationAnswer(Schema):
    accept = StrictBoolean(required=True, metadata={"description": "true: join the group; false: decline."})


class InvitationReply(Schema):
    accepted = fields.Boolean(required=True)
    thread = fields.Nested(ThreadOut, metadata={"description": "The group you joined (when accepted)."})


# Updates ----------------------------------------------------------------------------------
def Tag(value: str, **kwargs) -> fields.String:  # noqa: N802 - reads like a field class
    """The ``type`` of an update or a frame: one fixed value, what generated clients switch on."""
    return fields.String(required=True, validate=validate.Equal(value), **kwargs)


class Union(fields.Field):
    """One of several schemas, told apart by their ``type``; dumped as it is.

    The OpenAPI and AsyncAPI documents show it as a ``oneOf`` of ``variants`` with a ``type``
    discriminator, then ``other`` (web.api). Dumped unchanged: the value is already in its wire
    shape (``Update.to_wire``), and copying each nested field again would only cost time.
    """

    def __init__(self, variants: dict[str, type[Schema]], other: type[Schema], **kwargs) -> None:
        super().__init__(**kwargs)
        self.variants = variants
        self.other = other

    def _serialize(self, value, attr, obj, **kwargs):
        return value


class UpdateBase(Schema):
    """What every update has. Clients must ignore fields they do not know: updates gain fields."""

    cursor = fields.Integer(required=True, metadata={"description": "Resume from here (since=)."})


class MessageNewUpdate(UpdateBase):
    type = Tag(model.MESSAGE_NEW)
    message = fields.Nested(MessageOut, required=True)


class ThreadNewUpdate(UpdateBase):
    type = Tag(model.THREAD_NEW)
    thread = fields.Nested(ThreadOut, required=True, metadata={"description": "As in GET /threads."})


class ThreadReadUpdate(UpdateBase):
    type = Tag(model.THREAD_READ)
    thread_id = fields.String(required=True)
    user_id = fields.String(required=True, metadata={"description": "Whose read marker moved."})
    last_read_seq = fields.Integer(required=True)


class MemberAddedUpdate(UpdateBase):
    type = Tag(model.MEMBER_ADDED)
    thread_id = fields.String(required=True)
    user_id = fields.String(required=True)


class MemberRemovedUpdate(UpdateBase):
    type = Tag(model.MEMBER_REMOVED)
    thread_id = fields.String(required=True)
    user_id = fields.String(required=True)


class MessageEditedUpdate(UpdateBase):
    type = Tag(model.MESSAGE_EDITED)
    message = fields.Nested(MessageOut, required=True, metadata={"description": "The whole message now."})


class MessageChangeBase(UpdateBase):
    thread_id = fields.String(required=True)
    seq = fields.Integer(required=True)
    version = fields.Integer(required=True, metadata={"description": "The message's version after it."})


class MessageDeletedUpdate(MessageChangeBase):
    type = Tag(model.MESSAGE_DELETED)


class ReactionUpdateBase(MessageChangeBase):
    user_id = fields.String(required=True, metadata={"description": "Who reacted or took it back."})
    emoji = fields.String(required=True)
    count = fields.Integer(required=True, metadata={"description": "How many now have this emoji on it."})


class ReactionAddedUpdate(ReactionUpdateBase):
    type = Tag(model.REACTION_ADDED)


class ReactionRemovedUpdate(ReactionUpdateBase):
    type = Tag(model.REACTION_REMOVED)


class UserUpdatedUpdate(UpdateBase):
    type = Tag(model.USER_UPDATED)
    user = fields.Nested(
        PublicUser,
        required=True,
        metadata={"description": "The user's profile now: they renamed themselves or changed display_name."},
    )


class ThreadInvitedUpdate(UpdateBase):
    type = Tag(model.THREAD_INVITED)
    thread = fields.Nested(
        ThreadOut,
        required=True,
        metadata={"description": "The group as an invitee may see it: members and title, no messages."},
    )
    invited_by = fields.String(required=True)


UPDATE_SCHEMAS: dict[str, type[Schema]] = {
    model.MESSAGE_NEW: MessageNewUpdate,
    model.THREAD_NEW: ThreadNewUpdate,
    model.THREAD_READ: ThreadReadUpdate,
    model.MEMBER_ADDED: MemberAddedUpdate,
    model.MEMBER_REMOVED: MemberRemovedUpdate,
    model.MESSAGE_EDITED: MessageEditedUpdate,
    model.MESSAGE_DELETED: MessageDeletedUpdate,
    model.REACTION_ADDED: ReactionAddedUpdate,
    model.REACTION_REMOVED: ReactionRemovedUpdate,
    model.USER_UPDATED: UserUpdatedUpdate,
    model.THREAD_INVITED: ThreadInvitedUpdate,
}


class OtherUpdate(UpdateBase):
    """A type this document does not list (a newer server's): skip it, and keep its cursor."""

    class Meta:
        unknown = INCLUDE  # documented as open: a newer type brings fields of its own

    type = fields.String(required=True, metadata={"not": {"enum": list(UPDATE_SCHEMAS)}})


def OneOfUpdate(**kwargs) -> Union:  # noqa: N802
    return Union(UPDATE_SCHEMAS, OtherUpdate, **kwargs)


class UpdatesReply(Schema):
    updates = fields.List(
        OneOfUpdate(),
        required=True,
        metadata={"description": "Updates oldest first: {cursor, type, ...} (see the README)."},
    )
    cursor = fields.Integer(required=True, metadata={"description": "Pass as since= on the next call."})
    more = fields.Boolean(required=True, metadata={"description": "True: call again at once."})


class ErrorBody(Schema):
    code = fields.String(required=True, metadata={"description": "Stable machine-readable code."})
    message = fields.String(required=True)
    details = fields.Dict(required=True)


class ErrorReply(Schema):
    error = fields.Nested(ErrorBody, required=True)


class Status(Schema):
    status = fields.String(
        required=True,
        validate=validate.OneOf(["ok", "ready", "degraded"]),
        metadata={"description": "/healthz: ok; /readyz: ready, or degraded (see reason)"},
    )
    reason = fields.String(metadata={"description": "Why /readyz is degraded (e.g. redis_unreachable)"})


# WebSocket frames: only documented (web.asyncapi); web.stream writes them ------------------
def RequestId(**kwargs) -> fields.Raw:  # noqa: N802
    return fields.Raw(
        metadata={
            "oneOf": [{"type": "string", "maxLength": 128}, {"type": "integer"}, {"type": "null"}],
            "description": "Echoed in the answer; null when the frame could not be read.",
        },
        **kwargs,
    )


class ClientFrame(Schema):
    """What a frame adds to its action's payload (the action's HTTP body): web.asyncapi merges
    the two into one schema per action."""

    request_id = RequestId()


class ResultFrame(Schema):
    """An action's answer; the rest of the frame is the action's HTTP reply body (merged)."""

    type = Tag("result")
    request_id = RequestId(required=True)
    status = fields.Integer(required=True, metadata={"description": "The status HTTP would answer."})


class ErrorFrame(Schema):
    type = Tag("error")
    request_id = RequestId(required=True)
    status = fields.Integer(required=True, metadata={"description": "The status HTTP would answer."})
    error = fields.Nested(ErrorBody, required=True)


class UpdateFrame(Schema):
    type = Tag("update")
    update = OneOfUpdate(required=True)
    cursor = fields.Integer(required=True, metadata={"description": "The update's cursor: resume from it."})


class TypingEventFrame(Schema):
    """Someone is typing in a thread: never stored, no cursor."""

    type = Tag("typing")
    thread_id = fields.String(required=True)
    user_id = fields.String(required=True)


class StreamQuery(Schema):
    token = fields.String(metadata={"description": "The bearer token (or send Authorization: Bearer)."})
    since = fields.Integer(
        validate=validate.Range(min=0, max=MAX_SAFE_INTEGER),
        metadata={"description": "Replay the updates after this cursor first; omit for live ones only."},
    )


# Forward compatibility ------------------------------------------------------------------
class Limits(Schema):
    max_page_size = fields.Integer(required=True)
    max_message_length = fields.Integer(required=True, metadata={"description": "Characters."})
    max_body_bytes = fields.Integer(required=True, metadata={"description": "Also the largest frame."})
    longpoll_max_timeout_s = fields.Integer(required=True)
    max_attachment_bytes = fields.Integer(
        required=True, metadata={"description": "The largest upload (POST /attachments) in bytes."}
    )
    max_attachments_per_message = fields.Integer(required=True)


class VersionReply(Schema):
    api_version = fields.String(
        required=True, metadata={"description": "Changes only with a breaking change."}
    )
    feature_level = fields.Integer(
        required=True, metadata={"description": "Only grows; send a newer field only to a level that has it."}
    )
    features = fields.List(fields.String(), required=True, metadata={"description": "What this server does."})
    update_types = fields.List(
        fields.String(), required=True, metadata={"description": "Update types it may send; skip others."}
    )
    limits = fields.Nested(Limits, required=True)
