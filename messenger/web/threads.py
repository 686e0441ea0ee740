"""Routes for threads, messages, read markers, membership and the /actions dispatcher."""

from __future__ import annotations

from flask import g, request
from werkzeug.exceptions import BadRequest

from .. import schemas
from ..errors import InvalidJson
from ..service import threads
from . import actions
from .api import Blueprint
from .auth import authenticated
from .context import deps
from .limits import limited_per_user, rate_limits

blp = Blueprint("threads", __name__, description="Threads and messages")


def _json_any_of(*schemas: str) -> dict:
    refs = [{"$ref": f"#/components/schemas/{name}"} for name in schemas]
    return {"content": {"application/json": {"schema": {"anyOf": refs}}}}


# POST /actions answers with the body of the action's own route, so its replies are documented
# (and checked by the schema fuzzer) as one of those.
ACTION_REPLY_200 = _json_any_of("MessageReply", "ThreadReply", "ThreadList", "MessageList")
ACTION_REPLY_201 = _json_any_of("MessageReply", "ThreadReply")


@blp.route("/message", methods=["POST"])
@authenticated
@limited_per_user("send")
@blp.arguments(schemas.SendMessageRequest)
@blp.response(201, schemas.MessageReply)
@blp.alt_response(200, schema=schemas.MessageReply, description="A retry: the original message")
def send_message(data):
    """Send a message (the protocol's send_message; "action" may be left out)."""
    return actions.send_message(deps(), g.user_id, data)


@blp.route("/threads", methods=["POST"])
@authenticated
@limited_per_user("send", "create_thread")
@blp.arguments(schemas.CreateThreadRequest)
@blp.response(201, schemas.ThreadReply)
@blp.alt_response(200, schema=schemas.ThreadReply, description="The existing 1:1 thread, or a retry")
def create_thread(data):
    """Open a 1:1 thread (unique per pair) or a new group, with a first message."""
    return actions.create_thread(deps(), g.user_id, data)


@blp.route("/threads", methods=["GET"])
@authenticated
@limited_per_user("read")
@blp.arguments(schemas.ThreadsQuery, location="query")
@blp.response(200, schemas.ThreadList)
def list_threads(query):
    """The signed-in user's threads, most recent activity first (get_user_threads)."""
    return actions.get_user_threads(deps(), g.user_id, query)


@blp.route("/threads/<thread_id>", methods=["GET"])
@authenticated
@limited_per_user("read")
@blp.response(200, schemas.ThreadReply)
def get_thread(thread_id):
    """One thread as the signed-in user sees it."""
    return {"thread": threads.require_thread(deps(), g.user_id, thread_id)}


@blp.route("/threads/<thread_id>/messages", methods=["GET"])
@authenticated
@limited_per_user("read")
@blp.arguments(schemas.MessagesQuery, location="query")
@blp.response(200, schemas.MessageList)
def list_messages(query, thread_id):
    """A page of messages, newest first, by index or by before_seq (get_thread_messages)."""
    return actions.get_thread_messages(deps(), g.user_id, {**query, "thread_id": thread_id})


@blp.route("/threads/<thread_id>/read", methods=["POST"])
@authenticated
@limited_per_user("mark_read")
@blp.arguments(schemas.MarkReadRequest)
@blp.response(200, schemas.ReadMarker)
def mark_read(data, thread_id):
    """Move the read marker forward to ``seq`` (clamped to the newest message)."""
    last_read_seq = threads.mark_read(deps(), g.user_id, thread_id, data["seq"])
    return {"thread_id": thread_id, "last_read_seq": last_read_seq}


@blp.route("/threads/<thread_id>/members", methods=["POST"])
@authenticated
@limited_per_user("members")
@blp.arguments(schemas.AddMembersRequest)
@blp.response(200, schemas.ThreadReply)
def add_members(data, thread_id):
    """Add people to a group thread (any member may, as GROUP_ADD_POLICY lets them)."""
    thread, invited = threads.add_members(deps(), g.user_id, thread_id, data["user_ids"])
    return {"thread": thread} | ({"invited": invited} if invited else {})


@blp.route("/threads/<thread_id>/invitation", methods=["POST"])
@authenticated
@limited_per_user("members")
@blp.arguments(schemas.InvitationAnswer)
@blp.response(200, schemas.InvitationReply)
def answer_invitation(data, thread_id):
    """Accept or decline your invitation into a group (GROUP_ADD_POLICY=invite)."""
    thread = threads.answer_invitation(deps(), g.user_id, thread_id, data["accept"])
    return {"accepted": data["accept"]} | ({"thread": thread} if thread is not None else {})


@blp.route("/threads/<thread_id>/members/<user_id>", methods=["DELETE"])
@authenticated
@limited_per_user("members")
@blp.response(204)
def remove_member(thread_id, user_id):
    """Leave a group (your own user_id) or, as its creator, remove someone."""
    threads.remove_member(deps(), g.user_id, thread_id, user_id)


@blp.route("/actions", methods=["POST"])
@authenticated
@blp.doc(
    summary="Run any of the four protocol actions",
    requestBody={"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
    responses={
        "200": {"description": "Same body as the action's own route", **ACTION_REPLY_200},
        "201": {"description": "Same body as the action's own route", **ACTION_REPLY_201},
    },
)
def run_action():
    """Take send_message, create_thread, get_user_threads or get_thread_messages verbatim."""
    return actions.dispatch(deps(), rate_limits(), g.user_id, json_body())


def json_body():
    """The JSON body; none at all reads as nothing (a 422 for the missing action, like other routes)."""
    if not request.get_data(cache=True):
        return None
    try:
        return request.get_json()
    except BadRequest:
        raise InvalidJson() from None
