"""Health checks, the version and features, and the docs page's static assets."""

from __future__ import annotations

import swagger_ui_bundle
from flask import send_from_directory

from .. import features, model, schemas
from ..config import LONGPOLL_MAX_TIMEOUT_S
from .api import Blueprint
from .context import deps

blp = Blueprint("operations", __name__, description="Health checks")
PUBLIC = {"security": []}


@blp.route("/healthz", methods=["GET"])
@blp.response(200, schemas.Status)
@blp.doc(**PUBLIC)
def healthz():
    """The process is alive."""
    return {"status": "ok"}


@blp.route("/readyz", methods=["GET"])
@blp.response(200, schemas.Status)
@blp.doc(**PUBLIC)
def readyz():
    """The store commits a write (503 ``store_unavailable`` otherwise); "degraded" without Redis.

    Redis down is 200, not 503: sends are still stored and served, so taking every worker out
    of rotation would turn slower delivery into an outage.
    """
    app_deps = deps()
    readiness = app_deps.readiness.latest(app_deps)  # at most one write a second: it is public
    if readiness.store_error is not None:
        raise readiness.store_error
    if readiness.degraded is not None:
        return {"status": "degraded", "reason": readiness.degraded}
    return {"status": "ready"}


@blp.route("/version", methods=["GET"])
@blp.response(200, schemas.VersionReply)
@blp.doc(**PUBLIC)
def version():
    """Tell a client what this server supports, before it relies on a newer field or feature.

    Not rate limited, like /healthz: a constant answer, cheaper than the limiter's own check.
    """
    settings = deps().settings
    return {
        "api_version": features.API_VERSION,
        "feature_level": features.FEATURE_LEVEL,
        "features": list(features.FEATURES),
        "update_types": list(model.UPDATE_TYPES),
        "limits": {
            "max_page_size": schemas.MAX_PAGE_SIZE,
            "max_message_length": settings.max_message_length,
            "max_body_bytes": settings.max_content_length,
            "longpoll_max_timeout_s": LONGPOLL_MAX_TIMEOUT_S,
            "max_attachment_bytes": settings.max_attachment_bytes,
            "max_attachments_per_message": settings.max_attachments_per_message,
        },
    }


def docs_asset(filename: str):
    """Swagger UI's files from the installed package, so /docs needs no CDN."""
    return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename, max_age=3600)
