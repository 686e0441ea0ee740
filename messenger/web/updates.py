"""Long polling: ``GET /updates?since=<cursor>&timeout=<seconds>`` for clients on flaky networks."""

from __future__ import annotations

from flask import g

from .. import metrics, schemas
from ..service import updates
from .api import Blueprint
from .auth import authenticated
from .context import deps
from .limits import limited_per_user

blp = Blueprint("updates", __name__, description="Real-time updates")


@blp.route("/updates", methods=["GET"])
@authenticated
@limited_per_user("updates")
@blp.arguments(schemas.UpdatesQuery, location="query")
@blp.response(200, schemas.UpdatesReply)
@blp.alt_response(410, schema=schemas.ErrorReply, description="cursor_expired: reload GET /threads")
@blp.alt_response(429, schema=schemas.ErrorReply, description="rate_limited: retry after Retry-After seconds")
def poll_updates(query):
    """Return updates after ``since`` at once, or wait for the next one until ``timeout``."""
    timeout = query["timeout"]
    if timeout is None:
        timeout = deps().settings.longpoll_default_timeout_s
    with metrics.waiting_poll():
        page = updates.wait_for_updates(deps(), g.user_id, g.token, query.get("since"), timeout)
    metrics.count_delivered("longpoll", len(page.updates))
    return {
        "updates": [update.to_wire() for update in page.updates],
        "cursor": page.cursor,
        "more": page.more,
    }
