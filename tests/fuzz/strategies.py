"""Number texts Python's ``json.dumps`` cannot write, spliced into JSON text by the fuzzers.

An integer of more than 4,300 digits (``sys.get_int_max_str_digits()``) can neither be written
nor read by Python's ``int``/``str``; a server that lets the read's ValueError escape answers 500.
An exponent past a float's range reads as infinity (or 0.0): nothing may crash on those either.
"""

from __future__ import annotations

import copy
import json
import sys
from typing import Any

import hypothesis.strategies as st

MAX_DIGITS = sys.get_int_max_str_digits() or 4300
SPLICE = "@@number@@"  # stand-in put where a value goes, replaced by the number's text


def huge_integers() -> st.SearchStrategy[str]:
    """Integer texts over the digit limit: the server must answer 400 ``invalid_json``."""
    digits = st.integers(MAX_DIGITS + 1, MAX_DIGITS + 2000)
    return st.tuples(st.sampled_from(["", "-"]), st.sampled_from("123456789"), digits).map(
        lambda p: p[0] + p[1] * p[2]
    )


def huge_exponents() -> st.SearchStrategy[str]:
    """Number texts whose exponent overflows (infinity) or underflows (0.0) a float."""
    mantissas = st.sampled_from(["1", "-1", "9.99", "-0.5", "0", "123456789012345678901234567890"])
    exponents = st.integers(309, 10**6) | st.integers(-(10**6), -400)
    marks = st.sampled_from(["e", "E"])
    return st.tuples(mantissas, marks, exponents).map(lambda p: f"{p[0]}{p[1]}{p[2]}")


def odd_numbers() -> st.SearchStrategy[str]:
    return huge_integers() | huge_exponents()


def is_huge_integer(number: str) -> bool:
    return number.lstrip("-").isdigit() and len(number.lstrip("-")) > MAX_DIGITS


def leaf_paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a value inside a JSON object or list (keys and indexes)."""
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    else:
        return [prefix]
    paths = [prefix] if prefix else []
    for key, item in items:
        paths.extend(leaf_paths(item, (*prefix, key)))
    return paths


def with_number_at(payload: dict, path: tuple, number: str, **dumps_args: Any) -> str:
    """``payload`` as JSON text with ``number`` in place of the value at ``path``."""
    spliced = copy.deepcopy(payload)
    target = spliced
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = SPLICE
    return json.dumps(spliced, **dumps_args).replace(json.dumps(SPLICE), number, 1)
