"""Attachments through the HTTP API: upload (raw and multipart), what is sniffed and stripped,
sending them in messages, who may download them (token or signed URL), ranges and caching, the
headers that keep an upload from running as a page, the limits, and deletion freeing bytes."""

from __future__ import annotations

import hashlib
import io
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image

from messenger.service.attachments import collect_orphans
from messenger.web.context import EXTENSION_KEY
from tests.unit.test_media import png_claiming

from .client import PASSWORD, Api, message_body

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"


def jpeg_with_gps(width: int = 64, height: int = 48) -> bytes:
    image = Image.new("RGB", (width, height), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif.get_ifd(0x8825)[2] = (48.0, 51.0, 30.0)  # GPSLatitude: where the photographer lives
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def png_bomb_header() -> bytes:
    """A PNG whose header claims 8,000 x 8,000 pixels: past MAX_IMAGE_PIXELS (50 million), within
    Pillow's own bound, so ours is what refuses it (its data is never decoded)."""
    return png_claiming(8_000, 8_000)


def upload(api: Api, who, data: bytes, filename: str = "file.bin", **query):
    return api.client.post(
        "/attachments",
        data=data,
        query_string={"filename": filename, **query},
        content_type="application/octet-stream",
        headers=who.headers,
    )


def uploaded(api: Api, who, data: bytes, filename: str = "file.bin") -> dict:
    reply = upload(api, who, data, filename)
    assert reply.status_code == 201, reply.get_data(as_text=True)
    return reply.get_json()["attachment"]


def get(api: Api, url: str, who=None, **headers):
    return api.client.get(url, headers={**(who.headers if who else {}), **headers})


def send_files(api: Api, who, thread_id: str, attachment_ids: list[str], contents: str = ""):
    message = message_body(who, contents) | {"attachments": attachment_ids}
    return api.send(who, thread_id, message=message)


@pytest.fixture
def api(make_api) -> Api:
    return make_api()


@pytest.fixture
def people(api):
    alice, bob, eve = api.signup("alice"), api.signup("bob"), api.signup("eve")
    return alice, bob, eve, api.open_thread(alice, [bob])


# Uploading ----------------------------------------------------------------------------
def test_a_raw_upload_answers_with_what_was_sniffed_and_signed_urls(api, people):
    alice, *_ = people
    attachment = uploaded(api, alice, PDF, "report.pdf")
    assert attachment["content_type"] == "application/pdf"
    assert (attachment["filename"], attachment["size"]) == ("report.pdf", len(PDF))
    assert attachment["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert (attachment["width"], attachment["height"], attachment["thumbnail_url"]) == (None, None, None)
    assert attachment["url"].startswith(f"/attachments/{attachment['attachment_id']}?expires=")


def test_a_multipart_upload_works_the_same(api, people):
    alice, *_ = people
    reply = api.client.post(
        "/attachments",
        data={"file": (io.BytesIO(PDF), "notes.pdf")},
        content_type="multipart/form-data",
        headers=alice.headers,
    )
    assert reply.status_code == 201, reply.get_data(as_text=True)
    assert reply.get_json()["attachment"]["filename"] == "notes.pdf"


def test_the_type_comes_from_the_bytes_never_from_the_name_or_the_header(api, people):
    alice, *_ = people
    html = uploaded(api, alice, HTML, "photo.jpg")
    assert html["content_type"].startswith("text/plain")  # HTML is never served as a page


def test_a_photo_is_stripped_of_its_location_and_thumbnailed(api, people):
    alice, *_ = people
    photo = uploaded(api, alice, jpeg_with_gps(), "IMG_0001.jpg")
    assert (photo["content_type"], photo["width"], photo["height"]) == ("image/jpeg", 64, 48)
    served = get(api, photo["url"])
    assert served.status_code == 200
    assert (
        b"PhoneMaker" not in served.data
        and Image.open(io.BytesIO(served.data)).getexif().get_ifd(0x8825) == {}
    )
    assert hashlib.sha256(served.data).hexdigest() == photo["sha256"]  # what is served is what is described
    thumbnail = get(api, photo["thumbnail_url"])
    assert thumbnail.status_code == 200 and thumbnail.mimetype == "image/webp"


def test_a_decompression_bomb_is_refused_before_it_is_decoded(api, people):
    alice, *_ = people
    reply = upload(api, alice, png_bomb_header(), "tiny.png")
    assert (reply.status_code, reply.get_json()["error"]["code"]) == (422, "image_too_large")


def test_a_filename_is_shown_without_its_path_or_bidi_tricks(api, people):
    alice, *_ = people
    attachment = uploaded(api, alice, PDF, "../../etc/\u202egpj.exe")
    assert attachment["filename"] == "gpj.exe"
    hidden = uploaded(api, alice, PDF, "re\x85po\u200brt\u2028.pdf")  # C1, zero-width, line separator
    assert hidden["filename"] == "report.pdf"


def test_a_raw_upload_must_name_its_file(api, people):
    alice, *_ = people
    reply = api.client.post("/attachments", data=PDF, content_type="application/pdf", headers=alice.headers)
    assert reply.status_code == 422 and "filename" in reply.get_json()["error"]["details"]


def test_an_upload_over_the_limit_is_413_and_keeps_nothing(make_api):
    api = make_api(max_attachment_bytes=1024)
    alice = api.signup("alice")
    reply = upload(api, alice, b"x" * 2048)
    assert (reply.status_code, reply.get_json()["error"]["code"]) == (413, "payload_too_large")


def test_the_quota_counts_every_upload_of_a_person(make_api):
    api = make_api(attachment_quota_bytes=len(PDF) * 2)
    alice, bob = api.signup("alice"), api.signup("bob")
    uploaded(api, alice, PDF)
    uploaded(api, alice, PDF)
    reply = upload(api, alice, PDF)
    assert (reply.status_code, reply.get_json()["error"]["code"]) == (413, "quota_exceeded")
    assert upload(api, bob, PDF).status_code == 201  # each person has their own


def test_uploading_needs_a_token(api):
    assert api.client.post("/attachments?filename=a", data=PDF).status_code == 401


# Sending ------------------------------------------------------------------------------
def test_a_message_carries_its_files_in_order_and_may_have_no_text(api, people):
    alice, bob, _, thread_id = people
    first, second = uploaded(api, alice, PDF, "a.pdf"), uploaded(api, alice, jpeg_with_gps(), "b.jpg")
    reply = send_files(api, alice, thread_id, [first["attachment_id"], second["attachment_id"]])
    assert reply.status_code == 201, reply.get_data(as_text=True)
    sent = reply.get_json()["message"]
    assert [a["filename"] for a in sent["attachments"]] == ["a.pdf", "b.jpg"] and sent["contents"] == ""
    [shown] = [m for m in api.message_list(bob, thread_id) if m["seq"] == sent["seq"]]
    assert get(api, shown["attachments"][1]["thumbnail_url"]).status_code == 200
    updates = api.client.get("/updates?since=0&timeout=0", headers=bob.headers).get_json()["updates"]
    [new] = [u for u in updates if u["type"] == "message.new" and u["message"]["seq"] == sent["seq"]]
    assert get(api, new["message"]["attachments"][0]["url"]).data == PDF


def test_text_that_shows_nothing_still_needs_a_file(api, people):
    alice, _, _, thread_id = people
    reply = send_files(api, alice, thread_id, [], contents=" ")
    assert reply.status_code == 422 and "contents" in reply.get_json()["error"]["details"]["message"]


def test_only_the_uploader_may_send_an_upload(api, people):
    alice, bob, _, thread_id = people
    attachment = uploaded(api, alice, PDF)
    before = api.snapshot(alice, bob)
    reply = send_files(api, bob, thread_id, [attachment["attachment_id"]])
    assert (reply.status_code, reply.get_json()["error"]["code"]) == (422, "unknown_attachments")
    assert api.snapshot(alice, bob) == before  # nothing written


def test_a_message_carries_at_most_the_configured_number_of_files(make_api):
    api = make_api(max_attachments_per_message=2)
    alice, bob = api.signup("alice"), api.signup("bob")
    thread_id = api.open_thread(alice, [bob])
    ids = [uploaded(api, alice, PDF + bytes([n]))["attachment_id"] for n in range(3)]
    reply = send_files(api, alice, thread_id, ids)
    assert (reply.status_code, reply.get_json()["error"]["code"]) == (422, "too_many_attachments")


def test_a_new_thread_can_start_with_a_file(api, people):
    alice, _, eve, _ = people
    attachment = uploaded(api, alice, PDF)
    message = message_body(alice, "") | {"attachments": [attachment["attachment_id"]]}
    reply = api.create_thread(alice, [alice, eve], message=message)
    assert reply.status_code == 201, reply.get_data(as_text=True)
    assert reply.get_json()["message"]["attachments"][0]["attachment_id"] == attachment["attachment_id"]


# Downloading --------------------------------------------------------------------------
def test_the_uploader_and_members_download_with_a_token_and_nobody_else(api, people):
    alice, bob, eve, thread_id = people
    attachment = uploaded(api, alice, PDF)
    path = f"/attachments/{attachment['attachment_id']}"
    assert get(api, path, bob).status_code == 404  # not sent yet: only the uploader
    assert get(api, path, alice).data == PDF
    send_files(api, alice, thread_id, [attachment["attachment_id"]])
    assert get(api, path, bob).data == PDF
    missing = get(api, "/attachments/" + "0" * 32, eve)
    assert get(api, path, eve).get_json() == missing.get_json()  # a stranger learns nothing
    assert get(api, path).status_code == 401


def test_a_signed_url_works_without_a_token_until_it_expires_and_only_as_signed(api, people, clock):
    alice, *_ = people
    attachment = uploaded(api, alice, PDF)
    url = attachment["url"]
    assert get(api, url).data == PDF
    query = parse_qs(urlsplit(url).query)
    forged = f"/attachments/{'f' * 32}?expires={query['expires'][0]}&signature={query['signature'][0]}"
    assert get(api, forged).status_code == 404
    tampered = url.replace("expires=", "expires=9")
    assert get(api, tampered).status_code == 404
    clock.advance(2 * 3600 * 1000)
    expired = get(api, url)
    assert (expired.status_code, expired.get_json()["error"]["code"]) == (403, "url_expired")


def test_ranges_and_entity_tags_work(api, people):
    alice, *_ = people
    attachment = uploaded(api, alice, PDF)
    url = attachment["url"]
    part = get(api, url, Range="bytes=5-9")
    assert (part.status_code, part.data, part.headers["Content-Range"]) == (
        206,
        PDF[5:10],
        f"bytes 5-9/{len(PDF)}",
    )
    tail = get(api, url, Range="bytes=-4")
    assert tail.data == PDF[-4:]
    assert get(api, url, Range=f"bytes={len(PDF)}-").status_code == 416
    etag = get(api, url).headers["ETag"]
    assert get(api, url, **{"If-None-Match": etag}).status_code == 304
    assert get(api, url, **{"If-None-Match": f"W/{etag}"}).status_code == 304
    longer = get(api, url, Range="bytes=-1000")  # a suffix longer than the file: all of it
    assert (longer.status_code, longer.data) == (206, PDF)
    several = get(api, url, Range="bytes=0-1,5-6")  # several ranges: the whole file instead
    assert (several.status_code, several.data) == (200, PDF)
    assert get(api, url, Range="items=0-1").status_code == 200
    dated = get(api, url, Range="bytes=0-1", **{"If-Range": "Wed, 21 Oct 2015 07:28:00 GMT"})
    assert (dated.status_code, dated.data) == (200, PDF)
    matching = get(api, url, Range="bytes=0-1", **{"If-Range": etag})
    assert (matching.status_code, matching.data) == (206, PDF[:2])
    head = api.client.head(url)
    assert (head.status_code, head.headers["Content-Length"], head.data) == (200, str(len(PDF)), b"")


def test_downloads_can_never_run_as_a_page_of_this_site(api, people):
    alice, *_ = people
    html = uploaded(api, alice, HTML, "page.html")
    served = get(api, html["url"])
    assert served.headers["Content-Security-Policy"] == "sandbox"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Content-Disposition"].startswith("attachment;")
    assert not served.mimetype.startswith("text/html")
    photo = get(api, uploaded(api, alice, jpeg_with_gps())["url"])
    assert photo.headers["Content-Disposition"].startswith("inline;")


# Deleting -----------------------------------------------------------------------------
def test_deleting_the_only_message_with_a_file_erases_its_bytes(api, people):
    alice, bob, _, thread_id = people
    attachment = uploaded(api, alice, PDF)
    sent = send_files(api, alice, thread_id, [attachment["attachment_id"]]).get_json()["message"]
    assert api.delete(alice, thread_id, sent["seq"]).status_code == 204
    [gone] = [m for m in api.message_list(bob, thread_id) if m["seq"] == sent["seq"]]
    assert gone["attachments"] == []
    assert get(api, attachment["url"]).status_code == 404
    assert get(api, f"/attachments/{attachment['attachment_id']}", alice).status_code == 404


def test_a_file_sent_twice_lives_until_both_messages_are_deleted(api, people):
    alice, bob, _, thread_id = people
    attachment = uploaded(api, alice, PDF)
    first = send_files(api, alice, thread_id, [attachment["attachment_id"]]).get_json()["message"]
    second = send_files(api, alice, thread_id, [attachment["attachment_id"]]).get_json()["message"]
    api.delete(alice, thread_id, first["seq"])
    assert get(api, f"/attachments/{attachment['attachment_id']}", bob).data == PDF
    api.delete(alice, thread_id, second["seq"])
    assert get(api, f"/attachments/{attachment['attachment_id']}", alice).status_code == 404


def test_an_account_deleted_with_its_messages_takes_their_files(make_api):
    api = make_api(account_deletion="erase_messages")
    alice, bob = api.signup("alice"), api.signup("bob")
    thread_id = api.open_thread(alice, [bob])
    attachment = uploaded(api, alice, PDF)
    send_files(api, alice, thread_id, [attachment["attachment_id"]])
    reply = api.client.delete("/me", json={"password": PASSWORD}, headers=alice.headers)
    assert reply.status_code == 204, reply.get_data(as_text=True)
    assert get(api, attachment["url"]).status_code == 404


def test_uploads_nobody_sent_and_bytes_nobody_names_are_collected_after_orphan_ttl(make_app, clock):
    clock.now = time.time_ns() // 1_000_000  # local blobs are dated by their files' real mtime
    app = make_app()
    api, deps = Api(app.test_client()), app.extensions[EXTENSION_KEY]
    alice, bob = api.signup("alice"), api.signup("bob")
    thread_id = api.open_thread(alice, [bob])
    kept, orphan = uploaded(api, alice, PDF, "kept.pdf"), uploaded(api, alice, PDF, "orphan.pdf")
    send_files(api, alice, thread_id, [kept["attachment_id"]])
    crashed = deps.blobs.put(iter([b"an upload whose metadata write never happened"]), 1024)
    assert collect_orphans(deps) == 0  # younger than ORPHAN_TTL_H: an upload may be in flight

    clock.advance(deps.settings.orphan_ttl_h * 3_600_000 + 60_000)
    assert collect_orphans(deps) == 1
    assert get(api, f"/attachments/{orphan['attachment_id']}", alice).status_code == 404
    assert deps.blobs.size(crashed.blob_id) is None
    assert get(api, f"/attachments/{kept['attachment_id']}", bob).data == PDF


def test_uploads_and_downloads_are_rate_limited(make_api):
    api = make_api(
        rate_limits_enabled=True, rate_limit_upload="2 per minute", rate_limit_download="3 per minute"
    )
    alice = api.signup("alice")
    attachment = uploaded(api, alice, PDF)
    uploaded(api, alice, PDF)
    refused = upload(api, alice, PDF)
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (429, "rate_limited")
    statuses = [get(api, attachment["url"]).status_code for _ in range(4)]  # signed: per address
    assert statuses == [200, 200, 200, 429]


def test_an_account_deleted_takes_its_unsent_uploads_at_once_and_leaves_the_sent_ones(make_api):
    api = make_api()  # ACCOUNT_DELETION=keep_messages: what was sent stays with its message
    alice, bob = api.signup("alice"), api.signup("bob")
    thread_id = api.open_thread(alice, [bob])
    sent, unsent = uploaded(api, alice, PDF, "sent.pdf"), uploaded(api, alice, PDF, "draft.pdf")
    send_files(api, alice, thread_id, [sent["attachment_id"]])
    assert api.client.delete("/me", json={"password": PASSWORD}, headers=alice.headers).status_code == 204
    assert get(api, unsent["url"]).status_code == 404
    assert get(api, f"/attachments/{sent['attachment_id']}", bob).data == PDF
