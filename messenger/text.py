"""What a piece of user text shows: rules for message contents, titles and names.

A text made only of invisible characters shows nothing yet counts as a message or a title; bidi
controls in a title or a name can make it read as something else (``"\\u202egnp.exe"`` shows as
"exe.png"). Both are decided on code points with the standard library's Unicode database.
"""

from __future__ import annotations

import re
import unicodedata

# Categories that draw nothing on their own: controls (Cc), format characters (Cf: zero-width
# space and joiners, bidi controls, the BOM, tags), separators (Zs, Zl, Zp), and combining
# marks (Mn, Me), which draw only on a base character. Unassigned code points (Cn) count as
# visible: they may be new characters this Python's database does not know yet.
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "Me"})
# Letters and symbols fonts draw as blank space: the Hangul fillers and the Braille blank.
BLANK_CHARACTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
# Embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069), the LRM and RLM marks and
# the Arabic letter mark: what reorders the text around it.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")


def is_visible(char: str) -> bool:
    return char not in BLANK_CHARACTERS and unicodedata.category(char) not in INVISIBLE_CATEGORIES


def shows_something(text: str) -> bool:
    """True if at least one character draws something (the first visible one ends the scan)."""
    return any(is_visible(char) for char in text)


def has_control_characters(text: str) -> bool:
    """Line breaks, tabs and other control characters (Cc): a name is one line of text."""
    return any(unicodedata.category(char) == "Cc" for char in text)


def bidi_controls_in(text: str) -> list[str]:
    """The bidi controls in ``text``, as ``U+XXXX``, in code point order."""
    return [f"U+{ord(char):04X}" for char in sorted(BIDI_CONTROLS.intersection(text))]


# "@name" where a username (3-32 of A-Z a-z 0-9 _ . -) may start: not inside a word or an
# address (alice@example.com mentions nobody).
MENTION = re.compile(r"(?<![\w@.\-])@([A-Za-z0-9_.\-]{3,32})")


def mentioned_names(contents: str) -> list[str]:
    """The usernames ``contents`` calls by "@name", lower-cased, each once, in order. A name
    ending a sentence ("thanks @bob.") is also read without its trailing dots and dashes."""
    names: dict[str, None] = {}
    for match in MENTION.finditer(contents):
        name = match.group(1).lower()
        names[name] = None
        names[name.rstrip(".-")] = None
    return [name for name in names if len(name) >= 3]
