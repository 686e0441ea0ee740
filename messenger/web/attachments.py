"""Routes for attachments (README "Attachments"): upload a file, then download it whole or by
byte range, with a bearer token or a signed URL.

Downloads set their own headers: the bytes are someone's upload, so nothing of them may run as
a page of this origin. ``Content-Security-Policy: sandbox`` and ``nosniff`` on every variant,
and ``Content-Disposition: attachment`` for everything but the four image types the client
shows inline (an HTML or SVG upload is sniffed as text and downloaded, never rendered).
"""

from __future__ import annotations

from urllib.parse import quote

from flask import Response, g, request
from werkzeug.http import parse_range_header

from .. import media, schemas
from ..errors import AttachmentNotFound, InvalidPayload, UrlExpired
from ..service import accounts, attachments
from ..service.attachment_urls import EXPIRED, ORIGINAL, THUMBNAIL, VALID
from .api import Blueprint
from .auth import authenticated, bearer_token
from .bodies import UPLOAD_ENVELOPE_BYTES
from .context import deps
from .limits import client_address, hold_request_slot, limited_per_user, rate_limits

blp = Blueprint("attachments", __name__, description="Attachments: photos and files in messages")

UPLOAD_BODY = {
    "required": True,
    "content": {
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        "multipart/form-data": {
            "schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}
        },
    },
}
DOWNLOAD_DOC = {
    "parameters": [
        {"name": "expires", "in": "query", "schema": {"type": "integer"}, "description": "Of a signed URL."},
        {"name": "signature", "in": "query", "schema": {"type": "string"}, "description": "Of a signed URL."},
    ],
    "responses": {
        "200": {"description": "The bytes.", "content": {"application/octet-stream": {}}},
        "206": {"description": "The requested range of the bytes."},
        "304": {"description": "Not modified (If-None-Match)."},
        "416": {"description": "The range is past the end."},
    },
}
# A browser may keep what a signed URL served until that URL expires, and no longer.
UNSATISFIABLE = "unsatisfiable"  # a Range that starts past the end: 416
SIGNED_CACHE = "private, max-age={max_age}, immutable"


@blp.route("/attachments", methods=["POST"])
@authenticated
@limited_per_user("upload")
@blp.arguments(schemas.UploadQuery, location="query")
@blp.response(201, schemas.AttachmentReply)
@blp.doc(requestBody=UPLOAD_BODY)
def upload(query):
    """Upload one file: the raw bytes as the body (with ``filename``), or ``multipart/form-data``
    with a ``file`` part. 413 past MAX_ATTACHMENT_BYTES (while it streams) or the quota."""
    settings = deps().settings
    # The app's bound is for JSON bodies. This one leaves room for a multipart envelope; the
    # file itself is held to MAX_ATTACHMENT_BYTES as it is spooled.
    request.max_content_length = settings.max_attachment_bytes + UPLOAD_ENVELOPE_BYTES
    if request.mimetype == "multipart/form-data":
        request.max_form_memory_size = 64 * 1024  # text fields; the file part goes to a temp file
        part = request.files.get("file")
        if part is None:
            raise InvalidPayload(details={"file": ["Send the file as a part named 'file'."]})
        body, filename = part.stream, query.get("filename") or part.filename or ""
    else:
        if not query.get("filename"):
            raise InvalidPayload(details={"filename": ["Name the file: ?filename=photo.jpg"]})
        body, filename = request.stream, query["filename"]
    declared = None if request.mimetype == "multipart/form-data" else request.content_length
    attachment = attachments.upload(deps(), g.user_id, filename, body, declared)
    return {"attachment": present(attachment.public())}


@blp.route("/attachments/<attachment_id>", methods=["GET"])
@blp.doc(**DOWNLOAD_DOC)
def download(attachment_id):
    """The file, to its uploader and the members of a thread where it was sent (404 to anyone
    else), or to whoever holds a signed URL of it; ``Range`` and ``If-None-Match`` work."""
    return serve(attachment_id, ORIGINAL)


@blp.route("/attachments/<attachment_id>/thumbnail", methods=["GET"])
@blp.doc(**DOWNLOAD_DOC)
def download_thumbnail(attachment_id):
    """An image's thumbnail (WebP within 320 x 320), authorized like the file."""
    return serve(attachment_id, THUMBNAIL)


@blp.route("/users/<user_id>/avatar", methods=["GET"])
@blp.doc(
    responses={
        # The bytes are image/webp; documented as bytes, which every client generator reads.
        "200": {
            "description": "The picture: a WebP thumbnail (Content-Type: image/webp).",
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        },
        "304": {"description": "Not modified (If-None-Match)."},
    }
)
def user_avatar(user_id):
    """A user's picture, for an ``<img>``: no token needed. ``?v=<avatar id>`` (as ``avatar_url``
    has it) may be cached for good: a new picture is a new URL."""
    rate_limits().check("download", client_address())
    found = attachments.avatar(deps(), user_id)
    current = request.args.get("v") == found.attachment.attachment_id
    headers = {
        "ETag": f'"{found.etag}"',
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox",
        "Content-Disposition": _disposition("inline", "avatar.webp"),
        "Cache-Control": "public, max-age=31536000, immutable" if current else "no-cache",
    }
    if request.if_none_match.contains_weak(found.etag):
        return Response(status=304, headers=headers)
    body = deps().blobs.open(found.blob_id, 0, found.size)
    response = Response(body, headers=headers, content_type=found.content_type, direct_passthrough=True)
    response.content_length = found.size
    return response


def present(attachment: dict) -> dict:
    """An attachment as the API shows it: with its signed ``url`` and ``thumbnail_url``."""
    return deps().attachment_urls.present(attachment, deps().clock())


def serve(attachment_id: str, variant: str) -> Response:
    user_id, expires = _signed_in_or_signed(attachment_id, variant)
    found = attachments.download(deps(), attachment_id, variant, user_id)
    headers = _download_headers(found, expires)
    if request.if_none_match.contains_weak(found.etag):  # an entity tag of ours, weak or strong
        return Response(status=304, headers=headers)
    start, end, status = 0, found.size, 200
    span = _requested_span(found)
    if span == UNSATISFIABLE:
        headers["Content-Range"] = f"bytes */{found.size}"
        return Response(status=416, headers=headers)
    if span is not None:
        (start, end), status = span, 206
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{found.size}"
    if request.method == "HEAD":
        response = Response(status=status, headers=headers, content_type=found.content_type)
        response.content_length = end - start
        return response
    body = deps().blobs.open(found.blob_id, start, end)
    response = Response(
        body, status=status, headers=headers, content_type=found.content_type, direct_passthrough=True
    )
    response.content_length = end - start
    return response


def _requested_span(found: attachments.Download) -> tuple[int, int] | str | None:
    """The byte span a ``Range`` header asks for, [start, end); None for the whole file: no
    header, an ``If-Range`` that is not our entity tag (a date, another tag), several ranges
    (RFC 9110 lets a server answer those whole) or another unit. ``UNSATISFIABLE`` when the
    one range starts past the end (416)."""
    ranges = parse_range_header(request.headers.get("Range"))
    if ranges is None or ranges.units != "bytes" or len(ranges.ranges) != 1:
        return None
    if_range = request.headers.get("If-Range")
    if if_range is not None and if_range.strip() != f'"{found.etag}"':
        return None
    start, end = ranges.ranges[0]
    if start < 0:  # a suffix: the last -start bytes, all of them if the file is shorter
        return (max(0, found.size + start), found.size) if found.size else UNSATISFIABLE
    if start >= found.size:
        return UNSATISFIABLE
    return start, min(end, found.size) if end is not None else found.size


def _signed_in_or_signed(attachment_id: str, variant: str) -> tuple[str | None, int | None]:
    """(the caller's user id, None) with a bearer token, or (None, the URL's expiry in seconds)
    when it showed a valid signed URL."""
    signature = request.args.get("signature")
    if signature is None:
        g.token = bearer_token()
        g.user_id = accounts.authenticate(deps(), g.token, client_address()).user_id
        hold_request_slot(g.user_id)
        rate_limits().check("download", g.user_id)
        return g.user_id, None
    rate_limits().check("download", client_address())
    try:
        expires = int(request.args.get("expires", ""))
    except ValueError:
        raise AttachmentNotFound() from None
    verdict = deps().attachment_urls.check(attachment_id, variant, expires, signature, deps().clock())
    if verdict == EXPIRED:
        raise UrlExpired()
    if verdict != VALID:
        raise AttachmentNotFound()
    return None, expires


def _download_headers(found: attachments.Download, expires: int | None) -> dict[str, str]:
    """``expires``: a signed URL's (seconds); the browser may keep the bytes until then, and no
    longer. A bearer-token download is revalidated (its ETag) at every use."""
    inline = found.content_type in media.INLINE_IMAGE_TYPES or found.blob_id != found.attachment.blob_id
    max_age = max(0, expires - deps().clock() // 1000) if expires is not None else None
    return {
        "ETag": f'"{found.etag}"',
        "Accept-Ranges": "bytes",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox",
        "Content-Disposition": _disposition("inline" if inline else "attachment", found.attachment.filename),
        "Cache-Control": SIGNED_CACHE.format(max_age=max_age) if max_age is not None else "private, no-cache",
    }


def _disposition(kind: str, filename: str) -> str:
    """RFC 6266: an ASCII fallback name, and the real one percent-encoded as UTF-8."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename)
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
