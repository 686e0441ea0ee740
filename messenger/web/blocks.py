"""Routes for blocking people: PUT, DELETE and GET under /me/blocks."""

from __future__ import annotations

from flask import g

from .. import schemas
from ..service import blocks
from .api import Blueprint
from .auth import authenticated
from .context import deps
from .limits import limited_per_user

blp = Blueprint("blocks", __name__, description="Blocking people")


@blp.route("/me/blocks/<user_id>", methods=["PUT"])
@authenticated
@limited_per_user("members")
@blp.response(200, schemas.BlockOut)
def block(user_id):
    """Block someone: they can no longer open or write in a 1:1 thread with you, nor add you to
    a group, and you stop finding them in /users. Blocking again changes nothing."""
    return blocks.block(deps(), g.user_id, user_id)


@blp.route("/me/blocks/<user_id>", methods=["DELETE"])
@authenticated
@limited_per_user("members")
@blp.response(204)
def unblock(user_id):
    """Unblock someone; unblocking someone not blocked changes nothing."""
    blocks.unblock(deps(), g.user_id, user_id)


@blp.route("/me/invitations", methods=["GET"])
@authenticated
@limited_per_user("read")
@blp.response(200, schemas.InvitationList)
def list_invitations():
    """The groups you are invited into and have not answered, newest first (at most 100)."""
    return {"invitations": blocks.pending_invitations(deps(), g.user_id)}


@blp.route("/me/blocks", methods=["GET"])
@authenticated
@limited_per_user("read")
@blp.response(200, schemas.BlockList)
def list_blocks():
    """Everyone you block, the newest block first."""
    return {"blocks": blocks.list_blocks(deps(), g.user_id)}
