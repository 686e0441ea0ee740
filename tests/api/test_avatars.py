"""Pictures: PATCH /me {"avatar": attachment_id} with an image of one's own, shown to others at a
stable URL (a thumbnail, no token); kept while in use, collected once replaced."""

from __future__ import annotations

import io
import time

from PIL import Image

from messenger.service.attachments import collect_orphans
from messenger.web.context import EXTENSION_KEY

from .client import PASSWORD, Api
from .test_attachments import PDF, get, uploaded


def photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (400, 300), (20, 120, 200)).save(out, "JPEG")
    return out.getvalue()


def set_avatar(api: Api, who, attachment_id):
    return api.client.patch("/me", json={"avatar": attachment_id}, headers=who.headers)


def test_a_picture_is_shown_to_others_at_a_stable_url_that_needs_no_token(make_api):
    api = make_api()
    alice, bob = api.signup("alice"), api.signup("bob")
    thread_id = api.open_thread(alice, [bob])
    picture = uploaded(api, alice, photo(), "me.jpg")
    reply = set_avatar(api, alice, picture["attachment_id"])
    assert reply.status_code == 200, reply.get_data(as_text=True)
    me = reply.get_json()
    assert me["avatar"] == picture["attachment_id"]
    assert me["avatar_url"] == f"/users/{alice.user_id}/avatar?v={picture['attachment_id']}"

    served = get(api, me["avatar_url"])  # an <img> sends no token
    assert (served.status_code, served.mimetype) == (200, "image/webp")
    assert "immutable" in served.headers["Cache-Control"]
    assert served.headers["Content-Security-Policy"] == "sandbox"
    assert get(api, me["avatar_url"], **{"If-None-Match": served.headers["ETag"]}).status_code == 304

    members = {m["user_id"]: m for m in api.thread_view(bob, thread_id)["members"]}
    assert members[alice.user_id]["avatar_url"] == me["avatar_url"]
    [found] = api.client.get("/users?q=ali", headers=bob.headers).get_json()["users"]
    assert found["avatar_url"] == me["avatar_url"]
    updates = api.client.get("/updates?since=0&timeout=0", headers=bob.headers).get_json()["updates"]
    [told] = [u for u in updates if u["type"] == "user.updated"]
    assert told["user"]["avatar_url"] == me["avatar_url"]


def test_a_picture_must_be_an_image_of_ones_own(make_api):
    api = make_api()
    alice, bob = api.signup("alice"), api.signup("bob")
    pdf = uploaded(api, alice, PDF)
    bobs = uploaded(api, bob, photo())
    for attachment_id in (pdf["attachment_id"], bobs["attachment_id"], "0" * 32):
        reply = set_avatar(api, alice, attachment_id)
        assert (reply.status_code, reply.get_json()["error"]["code"]) == (422, "invalid_avatar")
    assert set_avatar(api, alice, "not an id").status_code == 422
    assert api.me(alice).get_json()["avatar"] is None


def test_a_picture_in_use_is_kept_and_one_replaced_is_collected(make_app, clock):
    clock.now = time.time_ns() // 1_000_000  # local blobs are dated by their files' real mtime
    app = make_app()
    api, deps = Api(app.test_client()), app.extensions[EXTENSION_KEY]
    alice = api.signup("alice")
    first, second = uploaded(api, alice, photo(), "a.jpg"), uploaded(api, alice, photo(), "b.jpg")
    set_avatar(api, alice, first["attachment_id"])
    clock.advance(deps.settings.orphan_ttl_h * 3_600_000 + 60_000)
    assert collect_orphans(deps) == 1  # the unused one; the picture stays
    assert get(api, f"/users/{alice.user_id}/avatar").status_code == 200

    set_avatar(api, alice, None)
    assert get(api, f"/users/{alice.user_id}/avatar").status_code == 404
    assert collect_orphans(deps) == 1  # no longer anyone's picture, in no message: gone
    assert second["attachment_id"] != first["attachment_id"]


def test_a_deleted_account_takes_its_picture(make_api):
    api = make_api()
    alice = api.signup("alice")
    picture = uploaded(api, alice, photo())
    set_avatar(api, alice, picture["attachment_id"])
    assert api.client.delete("/me", json={"password": PASSWORD}, headers=alice.headers).status_code == 204
    assert get(api, f"/users/{alice.user_id}/avatar").status_code == 404
    assert get(api, picture["url"]).status_code == 404  # its bytes went with the account
