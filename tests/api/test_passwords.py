"""Sign-up refuses guessable passwords, after NIST SP 800-63B, and says why."""

from __future__ import annotations

import time

import pytest

from messenger import passwords

from .client import error_of


def password_problems(api, password: str, username: str = "alice_w", email: str = "wonder@example.com"):
    response = api.signup_raw({"email": email, "username": username, "password": password})
    details = error_of(response, 422, "validation_error")
    assert list(details) == ["password"], details
    return details["password"]


@pytest.mark.parametrize("password", [" " * 8, "\t \n \u3000 \u00a0  ", " " * 1024])
def test_an_all_whitespace_password_is_refused(api, password):
    assert password_problems(api, password) == ["Must not be only spaces."]


@pytest.mark.parametrize("password", ["aaaaaaaa", "ZZZZZZZZZZZZ", "\U0001f600" * 9, "........"])
def test_one_character_repeated_is_refused(api, password):
    assert password_problems(api, password) == ["Must not be one character repeated."]


@pytest.mark.parametrize(
    "password", ["password", "12345678", "PassWord1", "qwertyuiop", "iloveyou", "trustno1"]
)
def test_a_common_password_is_refused_whatever_its_case(api, password):
    (problem,) = password_problems(api, password)

    assert "most common passwords" in problem


@pytest.mark.parametrize(
    ("password", "username", "email"),
    [
        ("alice_w12", "alice_w", "someone@example.com"),  # the username plus "12"
        ("my ALICE_W pass", "Alice_W", "someone@example.com"),  # case-insensitive
        ("wonder-land 9", "alice_w", "wonder@example.com"),  # the email's local part
        ("x WONDER y z", "alice_w", "Wonder@example.com"),
    ],
)
def test_a_password_holding_the_username_or_the_email_local_part_is_refused(api, password, username, email):
    (problem,) = password_problems(api, password, username, email)

    assert problem.startswith(
        "Must not contain your username" if "mail" not in problem else "Must not contain"
    )


def test_a_password_holding_both_names_says_both(api):
    problems = password_problems(api, "alice_w+wonder", "alice_w", "wonder@example.com")

    assert problems == [
        "Must not contain your username.",
        "Must not contain the part of your email address before the @.",
    ]


def test_a_short_email_local_part_does_not_refuse_every_password_holding_it(api):
    user = api.signup("bob_x", email="b@example.com", password="a brisk bay")

    assert api.signin("b@example.com", "a brisk bay").status_code == 200
    assert user.username == "bob_x"


def test_the_password_is_checked_even_when_another_field_is_wrong(api):
    details = error_of(
        api.signup_raw({"email": "nope", "username": "alice_w", "password": "alice_w-1234"}),
        422,
        "validation_error",
    )

    assert set(details) == {"email", "password"}
    assert details["password"] == ["Must not contain your username."]


@pytest.mark.parametrize(
    "password", ["correct horse", "Tr0ub4dor&3x", "8chars!!", "ünïcödé pass", "a" * 7 + "b"]
)
def test_a_password_that_is_long_enough_and_not_guessable_is_accepted(api, password):
    api.signup("alice_w", email="wonder@example.com", password=password)

    assert api.signin("alice_w", password).status_code == 200


def test_the_common_password_check_is_a_set_lookup_loaded_once():
    started = time.perf_counter()
    for _ in range(10_000):
        passwords.problems("not in any list 42")
    assert time.perf_counter() - started < 0.5  # 10,000 checks: far under a millisecond each
    assert len(passwords.COMMON_PASSWORDS) > 10_000


def test_the_shipped_list_is_zxcvbns_common_passwords_of_8_characters_or_more():
    frequency_lists = pytest.importorskip("zxcvbn.frequency_lists")

    expected = [
        word for word in frequency_lists.FREQUENCY_LISTS["passwords"] if len(word) >= passwords.MIN_LENGTH
    ]

    assert passwords.COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").split() == expected
