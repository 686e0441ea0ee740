"""The original protocol's four actions, shared by their HTTP routes and ``POST /actions``.

Each handler takes already-validated data and returns ``(reply, status)``; the caller dumps
the reply with the action's reply schema, so every transport answers with the same body.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from marshmallow import Schema

from .. import metrics, schemas
from ..errors import InvalidPayload, UserMismatch
from ..service import messages, threads
from ..service.deps import Deps
from .limits import SCOPES, RateLimits

Reply = tuple[dict[str, Any], int]


def require_self(actor_id: str, claimed_id: str | None) -> None:
    """The protocol names the acting user in the payload; it must be the signed-in one."""
    if claimed_id is not None and claimed_id != actor_id:
        raise UserMismatch()


def send_message(deps: Deps, actor_id: str, data: dict) -> Reply:
    message = data["message"]
    require_self(actor_id, message.get("user_id"))
    with metrics.timed_send("send_message"):
        sent = messages.send_message(
            deps,
            actor_id,
            data["thread_id"],
            message["contents"],
            message.get("timestamp"),
            message.get("client_msg_id"),
            message.get("reply_to"),
            message.get("attachments"),
        )
    return {"message": sent.message}, 201 if sent.created else 200


def create_thread(deps: Deps, actor_id: str, data: dict) -> Reply:
    message = data["message"]
    require_self(actor_id, message.get("user_id"))
    with metrics.timed_send("create_thread"):
        thread, first, created, invited = threads.create_thread(
            deps,
            actor_id,
            data.get("user_ids", []),
            message["contents"],
            message.get("timestamp"),
            message.get("client_msg_id"),
            data.get("title"),
            data.get("usernames", []),
            message.get("attachments"),
        )
    reply = {"thread": thread, "message": first} | ({"invited": invited} if invited else {})
    return reply, 201 if created else 200


def get_user_threads(deps: Deps, actor_id: str, data: dict) -> Reply:
    require_self(actor_id, data.get("user_id"))
    page = threads.list_threads(deps, actor_id, data["start_index"], data["end_index"])
    return {"threads": page.threads, "cursor": page.cursor}, 200


def get_thread_messages(deps: Deps, actor_id: str, data: dict) -> Reply:
    require_self(actor_id, data.get("user_id"))
    if "before_seq" in data:
        page = messages.list_messages_before(
            deps, actor_id, data["thread_id"], data["before_seq"], data["limit"]
        )
    else:
        page = messages.list_messages(
            deps, actor_id, data["thread_id"], data["start_index"], data["end_index"]
        )
    return {"messages": page}, 200


def mark_read(deps: Deps, actor_id: str, data: dict) -> Reply:
    last_read_seq = threads.mark_read(deps, actor_id, data["thread_id"], data["seq"])
    return {"thread_id": data["thread_id"], "last_read_seq": last_read_seq}, 200


def edit_message(deps: Deps, actor_id: str, data: dict) -> Reply:
    message = messages.edit_message(deps, actor_id, data["thread_id"], data["seq"], data["contents"])
    return {"message": message}, 200


def delete_message(deps: Deps, actor_id: str, data: dict) -> Reply:
    messages.delete_message(deps, actor_id, data["thread_id"], data["seq"])
    return {}, 204


def react(deps: Deps, actor_id: str, data: dict) -> Reply:
    return {"message": messages.react(deps, actor_id, data["thread_id"], data["seq"], data["emoji"])}, 200


def unreact(deps: Deps, actor_id: str, data: dict) -> Reply:
    messages.unreact(deps, actor_id, data["thread_id"], data["seq"], data["emoji"])
    return {}, 204


def announce_typing(deps: Deps, actor_id: str, data: dict) -> Reply:
    threads.announce_typing(deps, actor_id, data["thread_id"])
    return {"thread_id": data["thread_id"]}, 200


@dataclass(frozen=True)
class Action:
    """An action's schemas, made once (a new instance per call would deep-copy every field),
    and the per-user rate-limit scopes it counts against, whatever transport carries it."""

    request: Schema
    reply: Schema
    handle: Callable[[Deps, str, dict], Reply]
    scopes: tuple[str, ...]

    def __post_init__(self) -> None:
        unknown = set(self.scopes) - set(SCOPES)
        if unknown:
            raise ValueError(f"unknown rate-limit scopes {sorted(unknown)}")


# The HTTP routes of these actions declare the same scopes with ``limited_per_user``.
ACTIONS: dict[str, Action] = {
    "send_message": Action(schemas.SendMessageRequest(), schemas.MessageReply(), send_message, ("send",)),
    "create_thread": Action(
        schemas.CreateThreadRequest(), schemas.ThreadReply(), create_thread, ("send", "create_thread")
    ),
    "get_user_threads": Action(
        schemas.GetUserThreadsRequest(), schemas.ThreadList(), get_user_threads, ("read",)
    ),
    "get_thread_messages": Action(
        schemas.GetThreadMessagesRequest(), schemas.MessageList(), get_thread_messages, ("read",)
    ),
}
# The WebSocket also takes these, which HTTP serves on their own routes.
SOCKET_ACTIONS: dict[str, Action] = {
    **ACTIONS,
    "mark_read": Action(schemas.MarkReadAction(), schemas.ReadMarker(), mark_read, ("mark_read",)),
    # Changes to a message count as sends: each writes and tells every member.
    "edit_message": Action(schemas.EditMessageAction(), schemas.MessageReply(), edit_message, ("send",)),
    "delete_message": Action(schemas.DeleteMessageAction(), schemas.NoContent(), delete_message, ("send",)),
    "react": Action(schemas.ReactAction(), schemas.MessageReply(), react, ("send",)),
    "unreact": Action(schemas.UnreactAction(), schemas.NoContent(), unreact, ("send",)),
    # Typing is throttled where it is relayed (service.threads.announce_typing), and answered OK anyway;
    # its one membership read per frame counts as a read.
    "typing": Action(schemas.TypingAction(), schemas.TypingReply(), announce_typing, ("read",)),
}


def dispatch(
    deps: Deps, limits: RateLimits, actor_id: str, payload: Any, registry: dict[str, Action] = ACTIONS
) -> Reply:
    """Run any protocol action from its verbatim JSON and dump the reply."""
    name = payload.get("action") if isinstance(payload, dict) else None
    action = registry.get(name) if isinstance(name, str) else None
    if action is None:
        raise InvalidPayload(details={"action": [f"Must be one of: {', '.join(registry)}."]})
    for scope in action.scopes:  # before validation: a malformed request counts too
        limits.check(scope, actor_id)
    data = schemas.load(action.request, payload)
    reply, status = action.handle(deps, actor_id, data)
    return action.reply.dump(reply), status
