"""A user's requests that the worker is still answering are capped (MAX_REQUESTS_IN_FLIGHT_PER_USER).

A response counts until it has been written: the WSGI server closes it then. Flask's test
client does that at once (tests/conftest.py); ``buffered=False`` keeps a response open, like
one whose client has not read it yet.
"""

from __future__ import annotations

from .client import Api


def test_past_the_cap_a_request_is_refused_until_an_answer_has_been_written(make_app):
    app = make_app(max_requests_in_flight_per_user=2)
    api = Api(app.test_client())
    alice, bob = api.signup(), api.signup()
    client = app.test_client()
    unread = [client.get("/me", headers=alice.headers, buffered=False) for _ in range(2)]
    assert [reply.status_code for reply in unread] == [200, 200]

    refused = client.get("/threads", headers=alice.headers)
    assert refused.status_code == 429
    assert refused.json["error"]["code"] == "too_many_requests_in_flight"
    assert refused.headers["Retry-After"] == "1"
    assert api.me(bob).status_code == 200  # another user is not affected

    unread[0].close()  # written: its slot is free again
    assert client.get("/threads", headers=alice.headers).status_code == 200


def test_a_refused_or_failed_request_holds_no_slot(make_app):
    app = make_app(max_requests_in_flight_per_user=1)
    api = Api(app.test_client())
    alice = api.signup()
    for _ in range(5):  # each answered and written: errors release their slot too
        assert api.thread(alice, "no-such-thread").status_code == 404
        bad_json = api.raw("POST", "/threads", alice, data="{", content_type="application/json")
        assert bad_json.status_code == 400
    assert api.me(alice).status_code == 200
