"""Attachments: uploads, who may download them, and the collection of orphans (README
"Attachments").

An upload is streamed to a temporary file (never held whole in memory), within
MAX_ATTACHMENT_BYTES and the uploader's ATTACHMENT_QUOTA_BYTES; its type is sniffed from the
bytes; an image is stripped of its metadata and thumbnailed off the event loop
(``deps.run_blocking``: Pillow work is CPU-bound). Then the write order that keeps every message
pointing at bytes that exist: **bytes first** (the served copy, then the thumbnail, into the
blob store), **metadata second** (the store). A crash in between leaves bytes nobody refers to,
which ``collect_orphans`` removes; a deletion runs the other way round (metadata, then bytes).
"""

from __future__ import annotations

import logging
import tempfile
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from .. import media
from ..errors import AttachmentNotFound, BlobTooLarge, IncompleteBody, QuotaExceeded
from ..model import (
    MESSAGE_EDITED,
    MESSAGE_NEW,
    Attachment,
    Message,
    StoredBlob,
    Update,
    UpdatePage,
    new_blob_id,
)
from .attachment_urls import ORIGINAL, THUMBNAIL
from .deps import Deps

logger = logging.getLogger(__name__)

CHUNK = 64 * 1024
MAX_FILENAME_LENGTH = 255
# Control (C0, C1), format (zero-width, and the bidi controls that make "gpj.exe" read as
# "exe.jpg") and line/paragraph separator characters: none belongs in a file's name.
HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


@dataclass(frozen=True)
class Download:
    """What a GET of one variant serves: the bytes' blob, its type, length and entity tag."""

    attachment: Attachment
    blob_id: str
    content_type: str
    size: int
    etag: str


def upload(
    deps: Deps, user_id: str, filename: str, body: BinaryIO, declared_size: int | None = None
) -> Attachment:
    """Store an upload's bytes, then its metadata; see the module docstring for the order.
    ``declared_size``: the body's Content-Length, which a body cut short does not reach."""
    settings = deps.settings
    used = deps.store.attachment_bytes_used(user_id)
    if used >= settings.attachment_quota_bytes:
        raise QuotaExceeded(settings.attachment_quota_bytes)
    with tempfile.TemporaryDirectory(prefix="messenger-upload-") as work:
        original = Path(work, "original")
        size = _spool(body, original, settings.max_attachment_bytes)
        if declared_size is not None and size != declared_size:
            raise IncompleteBody()
        if used + size > settings.attachment_quota_bytes:
            raise QuotaExceeded(settings.attachment_quota_bytes)
        with deps.image_slots:  # decoding, stripping and hashing run off the event loop
            prepared = deps.run_blocking(_prepare, original, Path(work), settings.max_image_pixels)
        inspected, served, thumbnail = prepared
        stored = deps.run_blocking(_put, deps, served)
        thumb = deps.run_blocking(_put, deps, thumbnail.path) if thumbnail else None
    attachment = Attachment(
        attachment_id=new_blob_id(),
        uploader_id=user_id,
        filename=clean_filename(filename),
        content_type=inspected.content_type,
        size=stored.size,
        sha256=stored.sha256,
        created_at=deps.clock(),
        width=inspected.width,
        height=inspected.height,
        blob_id=stored.blob_id,
        thumbnail_blob_id=thumb.blob_id if thumb else None,
        thumbnail_type=thumbnail.content_type if thumbnail else None,
    )
    deps.store.add_attachment(attachment)
    return attachment


def download(deps: Deps, attachment_id: str, variant: str, user_id: str | None) -> Download:
    """One variant of an attachment, for ``user_id`` (None: the caller showed a valid signed
    URL instead). Anyone else, and a missing attachment or thumbnail, get the same 404."""
    attachment = deps.store.get_attachment(attachment_id)
    if attachment is None or (
        user_id is not None and not deps.store.can_read_attachment(attachment_id, user_id)
    ):
        raise AttachmentNotFound()
    if variant == ORIGINAL:
        return Download(
            attachment, attachment.blob_id, attachment.content_type, attachment.size, attachment.sha256
        )
    if variant != THUMBNAIL or attachment.thumbnail_blob_id is None:
        raise AttachmentNotFound()
    size = deps.blobs.size(attachment.thumbnail_blob_id)
    if size is None:
        raise AttachmentNotFound()
    return Download(
        attachment,
        attachment.thumbnail_blob_id,
        attachment.thumbnail_type or media.OCTET_STREAM,
        size,
        f"{attachment.sha256}-thumbnail",
    )


def avatar(deps: Deps, user_id: str) -> Download:
    """A user's picture: the thumbnail of their avatar. Anyone may fetch it who knows their user
    id, as anyone signed in finds them by name (README "Profiles"); 404 when they have none."""
    [user] = deps.store.get_users([user_id]) or [None]
    if user is None or user.avatar_id is None:
        raise AttachmentNotFound()
    attachment = deps.store.get_attachment(user.avatar_id)
    if attachment is None:
        raise AttachmentNotFound()
    return download(deps, attachment.attachment_id, THUMBNAIL, None)


def free(deps: Deps, attachments: list[Attachment]) -> None:
    """Delete the bytes of attachments whose metadata the store has just deleted. A failure
    leaves bytes nobody refers to, which ``collect_orphans`` deletes later."""
    for attachment in attachments:
        for blob_id in (attachment.blob_id, attachment.thumbnail_blob_id):
            if blob_id is None:
                continue
            try:
                deps.blobs.delete(blob_id)
            except Exception:  # noqa: BLE001 - the collector retries; the caller's change stands
                logger.warning("could not delete blob %s of attachment %s", blob_id, attachment.attachment_id)


def collect_orphans(deps: Deps, batch: int = 500) -> int:
    """Remove uploads no message refers to after ORPHAN_TTL_H, and bytes no metadata names
    (a crash between an upload's two writes); returns how many attachments went."""
    cutoff = deps.clock() - deps.settings.orphan_ttl_h * 3_600_000
    removed = 0
    for attachment in deps.store.orphan_attachments(cutoff, batch):
        forgotten = deps.store.forget_attachment(attachment.attachment_id, cutoff)
        if forgotten is not None:
            free(deps, [forgotten])
            removed += 1
    for blob_ids in _batches(deps.blobs.list_ids(cutoff), batch):
        for blob_id in set(blob_ids) - deps.store.blobs_in_use(blob_ids):
            deps.blobs.delete(blob_id)
    deps.blobs.remove_partials(cutoff)
    return removed


def _batches(items: Iterator[str], size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def clean_filename(name: str) -> str:
    """The name to show and to download as: its last path part, without control, format
    (zero-width, bidi) or line-separator characters, at most 255 characters; "file" when
    nothing is left."""
    name = unicodedata.normalize("NFC", name.replace("\\", "/"))
    shown = "".join(c for c in PurePosixPath(name).name if unicodedata.category(c) not in HIDDEN_CATEGORIES)
    return shown.strip()[:MAX_FILENAME_LENGTH] or "file"


@dataclass(frozen=True)
class _Thumbnail:
    path: Path
    content_type: str


def _prepare(original: Path, work: Path, max_pixels: int) -> tuple[media.Inspected, Path, _Thumbnail | None]:
    """What the upload is, the copy to serve and its thumbnail (images only): CPU work, run in
    a thread."""
    inspected = media.inspect(original, max_pixels=max_pixels)
    if not inspected.is_image:
        return inspected, original, None
    served, thumbnail = work / "served", work / "thumbnail"
    media.strip_metadata(original, served, max_pixels=max_pixels)
    made = media.make_thumbnail(original, thumbnail, max_pixels=max_pixels)
    return inspected, served, _Thumbnail(thumbnail, made.content_type)


def _put(deps: Deps, path: Path) -> StoredBlob:
    """Hash and store a file (a local store fsyncs it): blocking I/O, run in a thread."""
    return deps.blobs.put(_chunks(path), deps.settings.max_attachment_bytes)


def _spool(body: BinaryIO, path: Path, max_bytes: int) -> int:
    """Copy the request body to ``path`` within ``max_bytes``; its length."""
    size = 0
    with path.open("wb") as out:
        while chunk := body.read(CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise BlobTooLarge(max_bytes)
            out.write(chunk)
    return size


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as source:
        while chunk := source.read(CHUNK):
            yield chunk


# Signed URLs in what the API serves --------------------------------------------------------
# The store keeps attachments without URLs (they expire); every message and update body that
# leaves the service gets fresh ones here. Messages without attachments pass through untouched.
CARRYING_MESSAGES = frozenset({MESSAGE_NEW, MESSAGE_EDITED})


def signed(deps: Deps, message: Message) -> Message:
    """``message`` with a signed ``url`` and ``thumbnail_url`` on each of its attachments."""
    if not message.attachments:
        return message
    now = deps.clock()
    return replace(message, attachments=[deps.attachment_urls.present(a, now) for a in message.attachments])


def signed_messages(deps: Deps, messages: list[Message]) -> list[Message]:
    return [signed(deps, message) for message in messages]


def signed_updates(deps: Deps, page: UpdatePage) -> UpdatePage:
    """A page of the log whose message bodies carry signed URLs (only those with attachments
    are copied)."""
    if not any(_carries_attachments(update) for update in page.updates):
        return page
    now = deps.clock()
    updates = [
        replace(update, body=_signed_body(deps, update.body, now)) if _carries_attachments(update) else update
        for update in page.updates
    ]
    return replace(page, updates=updates)


def _carries_attachments(update: Update) -> bool:
    return update.type in CARRYING_MESSAGES and bool(update.body.get("message", {}).get("attachments"))


def _signed_body(deps: Deps, body: dict, now: int) -> dict:
    message = body["message"]
    attachments = [deps.attachment_urls.present(a, now) for a in message["attachments"]]
    return {**body, "message": {**message, "attachments": attachments}}
