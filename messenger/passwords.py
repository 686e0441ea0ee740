"""Which new passwords to refuse, after NIST SP 800-63B (5.1.1.2): a minimum length, no
password from a list of common ones, none built from the account's own name, no single
repeated character. No composition rules: they make passwords harder to remember, not to guess.

``common_passwords.txt`` holds the passwords of 8 characters or more among the 30,000 most
common in zxcvbn 4.5.0's frequency list (MIT licence, Dropbox), most common first, lowercase.
It is shipped rather than imported because importing zxcvbn builds all its dictionaries
(~15 MB in every worker); ``tests/api/test_passwords.py`` checks the file against zxcvbn's list.
"""

from __future__ import annotations

from pathlib import Path

MIN_LENGTH = 8
MAX_LENGTH = 1024
# The shortest name or email local part checked for inside a password: "a@example.com" must not
# refuse every password holding an "a".
MIN_NAME_LENGTH = 3
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")
COMMON_PASSWORDS = frozenset(COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").split("\n")) - {""}


def problems(password: str) -> list[str]:
    """What is wrong with ``password`` on its own (the length is the schema's to check)."""
    if not password.strip():
        return ["Must not be only spaces."]
    if len(set(password)) == 1:
        return ["Must not be one character repeated."]
    if password.lower() in COMMON_PASSWORDS:
        return ["This is one of the most common passwords, the first that attackers try; choose another."]
    return []


def problems_with_names(password: str, username: str | None, email: str | None) -> list[str]:
    """What is wrong with ``password`` for this account: it must not hold its own names."""
    folded = password.casefold()
    found = []
    if username and len(username) >= MIN_NAME_LENGTH and username.casefold() in folded:
        found.append("Must not contain your username.")
    local_part = email.rpartition("@")[0] if email else ""
    if len(local_part) >= MIN_NAME_LENGTH and local_part.casefold() in folded:
        found.append("Must not contain the part of your email address before the @.")
    return found
