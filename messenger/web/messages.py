"""Routes that change one message: edit, delete, react and take a reaction back.

The WebSocket takes the same changes as actions (``web.actions.SOCKET_ACTIONS``), with the
same bodies, statuses and errors; both count against the per-user "send" limit.
"""

from __future__ import annotations

from flask import g

from .. import schemas
from ..errors import MessageNotFound
from . import actions
from .api import Blueprint
from .auth import authenticated
from .context import deps
from .limits import limited_per_user

blp = Blueprint("messages", __name__, description="Changing messages: edits, deletions, reactions")

MESSAGE_PATH = "/threads/<thread_id>/messages/<int:seq>"


def address(thread_id: str, seq: int) -> dict:
    """The message a path names; a seq no store could hold is no message at all (404)."""
    if not 1 <= seq <= schemas.MAX_SAFE_INTEGER:
        raise MessageNotFound()
    return {"thread_id": thread_id, "seq": seq}


@blp.route(MESSAGE_PATH, methods=["PATCH"])
@authenticated
@limited_per_user("send")
@blp.arguments(schemas.EditMessageRequest)
@blp.response(200, schemas.MessageReply)
def edit_message(data, thread_id, seq):
    """Edit your own message (within EDIT_WINDOW_S, when set); the same contents change nothing."""
    reply, _ = actions.edit_message(deps(), g.user_id, {**data, **address(thread_id, seq)})
    return reply


@blp.route(MESSAGE_PATH, methods=["DELETE"])
@authenticated
@limited_per_user("send")
@blp.response(204)
def delete_message(thread_id, seq):
    """Delete your own message, or as a group's creator anyone's: its text is erased for good."""
    actions.delete_message(deps(), g.user_id, address(thread_id, seq))


@blp.route(MESSAGE_PATH + "/reactions/<emoji>", methods=["PUT"])
@authenticated
@limited_per_user("send")
@blp.response(200, schemas.MessageReply)
def react(thread_id, seq, emoji):
    """React with one emoji (URL-encoded); reacting again changes nothing."""
    reply, _ = actions.react(deps(), g.user_id, {**address(thread_id, seq), "emoji": emoji})
    return reply


@blp.route(MESSAGE_PATH + "/reactions/<emoji>", methods=["DELETE"])
@authenticated
@limited_per_user("send")
@blp.response(204)
def unreact(thread_id, seq, emoji):
    """Take your reaction back; one that is not there is no error."""
    actions.unreact(deps(), g.user_id, {**address(thread_id, seq), "emoji": emoji})
