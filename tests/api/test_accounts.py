"""Sign-up, sign-in, sign-out, /me and finding people."""

from __future__ import annotations

from ..clock import START_MS
from .client import ME_KEYS, PASSWORD, error_of

INVALID_SIGNUP_FIELDS = [
    ("email", "not-an-email"),
    ("email", "a@"),
    ("email", ""),
    ("email", 42),
    ("email", None),
    ("username", "ab"),
    ("username", "a" * 33),
    ("username", "has space"),
    ("username", "émile"),
    ("username", "at@sign"),
    ("username", "alice\n"),  # Python's "$" matches before a final newline
    ("username", "alice\r\n"),
    ("username", "\nalice"),
    ("username", ""),
    ("username", None),
    ("password", "1234567"),
    ("password", ""),
    ("password", 12345678),
]


def test_signup_returns_the_account_and_a_working_token(api):
    response = api.signup_raw({"email": "Alice@Example.com", "username": "Alice", "password": PASSWORD})

    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"user_id", "username", "display_name", "avatar", "avatar_url", "email", "token"}
    assert body["username"] == "Alice"
    assert body["email"] == "Alice@Example.com"
    assert body["user_id"] and body["token"]
    me = api.me(body["token"])
    assert me.status_code == 200
    assert me.get_json()["user_id"] == body["user_id"]


def test_me_shows_the_account_as_signed_up(api):
    alice = api.signup("Alice", email="Alice@Example.com")

    body = api.me(alice).get_json()

    assert body["user_id"] == alice.user_id
    assert body["username"] == "Alice"
    assert body["email"] == "Alice@Example.com"
    assert body["created_at"] > START_MS
    assert set(body) == ME_KEYS


def test_signup_with_an_email_already_used_is_refused_case_insensitively(api):
    alice = api.signup("alice", email="alice@example.com")

    for email in ["alice@example.com", "ALICE@Example.COM"]:
        response = api.signup_raw({"email": email, "username": "someone_else", "password": PASSWORD})
        error_of(response, 409, "email_taken")

    assert api.users(alice, "someone").get_json() == {"users": []}


def test_signup_with_a_username_already_used_is_refused_case_insensitively(api):
    api.signup("Alice")

    for username in ["alice", "aLiCE"]:
        response = api.signup_raw({"email": "other@example.com", "username": username, "password": PASSWORD})
        error_of(response, 409, "username_taken")

    assert api.signin("other@example.com").status_code == 401


def test_signup_with_an_invalid_field_names_that_field(api):
    for field, value in INVALID_SIGNUP_FIELDS:
        payload = {"email": "valid@example.com", "username": "valid_name", "password": "sturdy passphrase"}
        payload[field] = value

        details = error_of(api.signup_raw(payload), 422, "validation_error")

        assert set(details) == {field}, (field, value)
        assert details[field] and all(isinstance(text, str) for text in details[field])

    assert api.signin("valid_name", "sturdy passphrase").status_code == 401


def test_signup_accepts_usernames_of_3_to_32_allowed_characters(api):
    for username in ["abc", "a" * 32, "A.b-c_9"]:
        assert api.signup(username).username == username


def test_a_username_with_a_final_newline_is_refused_not_a_second_alice(api):
    alice = api.signup("alice")

    details = error_of(
        api.signup_raw({"email": "imp@example.com", "username": "alice\n", "password": PASSWORD}),
        422,
        "validation_error",
    )

    assert set(details) == {"username"}
    assert [user["user_id"] for user in api.users(alice, "alice").get_json()["users"]] == [alice.user_id]


def test_signup_accepts_a_password_of_exactly_8_characters(api):
    api.signup("alice", password="8chars!!")

    assert api.signin("alice", "8chars!!").status_code == 200


def test_signup_reports_every_bad_field_at_once(api):
    details = error_of(
        api.signup_raw({"email": "x", "username": "!", "password": "short"}), 422, "validation_error"
    )

    assert set(details) == {"email", "username", "password"}


def test_signup_reports_missing_and_unknown_fields(api):
    details = error_of(api.signup_raw({"email": "a@example.com", "nickname": "al"}), 422, "validation_error")

    assert details["username"] == ["Missing data for required field."]
    assert details["password"] == ["Missing data for required field."]
    assert details["nickname"] == ["Unknown field."]


def test_signin_by_username_or_email_case_insensitively(api):
    alice = api.signup("alice")
    tokens = {alice.token}

    for login in ["alice", "ALICE", "alice@example.com", "Alice@Example.COM"]:
        response = api.signin(login, PASSWORD)

        assert response.status_code == 200, login
        body = response.get_json()
        assert {"user_id", "username", "token"} <= set(body)
        assert body["user_id"] == alice.user_id
        assert body["username"] == "alice"
        assert body["token"] not in tokens
        tokens.add(body["token"])
        assert api.me(body["token"]).get_json()["user_id"] == alice.user_id


def test_wrong_password_and_unknown_user_get_the_same_401(api):
    api.signup("alice")

    wrong_password = api.signin("alice", "wrong password")
    unknown_user = api.signin("nobody", "wrong password")
    unknown_email = api.signin("nobody@example.com", PASSWORD)

    error_of(wrong_password, 401, "invalid_credentials")
    assert wrong_password.get_data() == unknown_user.get_data() == unknown_email.get_data()


def test_the_password_is_case_sensitive(api):
    api.signup("alice")

    error_of(api.signin("alice", PASSWORD.upper()), 401, "invalid_credentials")


def test_signin_validates_its_payload(api):
    details = error_of(api.client.post("/auth/signin", json={"login": "alice"}), 422, "validation_error")

    assert set(details) == {"password"}


def test_each_signin_is_a_device_with_its_own_token(api):
    alice = api.signup("alice")
    phone = api.signin_user(alice)
    laptop = api.signin_user(alice)

    assert len({alice.token, phone.token, laptop.token}) == 3
    for device in (alice, phone, laptop):
        assert api.me(device).status_code == 200


def test_signout_revokes_only_the_token_used(api):
    alice = api.signup("alice")
    phone = api.signin_user(alice)

    response = api.signout(alice)

    assert response.status_code == 204
    assert response.get_data() == b""
    error_of(api.me(alice), 401, "invalid_token")
    assert api.me(phone).status_code == 200


def test_signout_twice_with_the_same_token_is_refused(api):
    alice = api.signup("alice")
    assert api.signout(alice).status_code == 204

    error_of(api.signout(alice), 401, "invalid_token")


def test_signin_after_signout_works_again(api):
    alice = api.signup("alice")
    api.signout(alice)

    again = api.signin_user(alice)

    assert api.me(again).status_code == 200


def test_signout_with_an_empty_json_body_also_works(api):
    alice = api.signup("alice")

    response = api.client.post("/auth/signout", json={}, headers=alice.headers)

    assert response.status_code == 204
    error_of(api.me(alice), 401, "invalid_token")


def test_user_search_finds_username_prefixes_case_insensitively_without_emails(api):
    alice = api.signup("alice")
    alfred = api.signup("Alfred")
    api.signup("bob")

    response = api.users(alice, "AL")

    assert response.status_code == 200
    users = response.get_json()["users"]
    assert users == [
        {
            "user_id": alfred.user_id,
            "username": "Alfred",
            "display_name": None,
            "avatar": None,
            "avatar_url": None,
        },
        {
            "user_id": alice.user_id,
            "username": "alice",
            "display_name": None,
            "avatar": None,
            "avatar_url": None,
        },
    ]
    assert "example.com" not in response.get_data(as_text=True)


def test_user_search_returns_at_most_20_users(api):
    searcher = api.signup("zed")
    for number in range(21):
        api.signup(f"member{number:02d}")

    users = api.users(searcher, "member").get_json()["users"]

    assert [user["username"] for user in users] == [f"member{number:02d}" for number in range(20)]


def test_user_search_with_an_empty_prefix_finds_nobody(api):
    alice = api.signup("alice")

    assert api.users(alice, "").get_json() == {"users": []}
    assert api.client.get("/users", headers=alice.headers).get_json() == {"users": []}


def test_user_search_with_no_match_is_empty(api):
    alice = api.signup("alice")

    assert api.users(alice, "zz").get_json() == {"users": []}
    assert api.users(alice, "%").get_json() == {"users": []}


def test_user_search_prefix_longer_than_a_username_is_refused(api):
    alice = api.signup("alice")

    details = error_of(api.users(alice, "a" * 33), 422, "validation_error")

    assert set(details) == {"q"}


def json_text(fields: dict[str, str]) -> str:
    """A JSON object written by hand, so string values may hold escapes like \\ud800 verbatim."""
    return "{" + ", ".join(f'"{key}": "{value}"' for key, value in fields.items()) + "}"


def test_a_lone_surrogate_in_any_account_field_is_a_422_not_a_500(api):
    signup = {"email": "a@example.com", "username": "alice", "password": "sturdy passphrase"}
    signin = {"login": "alice", "password": "sturdy passphrase"}
    escaped = {"email": "a@exa\\ud800mple.com", "username": "al\\udc00ice", "password": "pass\\ud800word"}

    for path, body in [("/auth/signup", signup), ("/auth/signin", signin)]:
        for field in body:
            text = json_text({**body, field: escaped.get(field, "al\\ud800")})
            response = api.raw("POST", path, data=text, content_type="application/json")
            assert set(error_of(response, 422, "validation_error")) == {field}, text

    assert api.signin("alice", "sturdy passphrase").status_code == 401
