"""Health checks and the docs page's static assets."""

from __future__ import annotations

import swagger_ui_bundle
from flask import send_from_directory

from .. import schemas
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
    """The store answers (503 ``store_unavailable`` otherwise)."""
    deps().store.ping()
    return {"status": "ready"}


def docs_asset(filename: str):
    """Swagger UI's files from the installed package, so /docs needs no CDN."""
    return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename, max_age=3600)
