"""``Store.server_secret``: one secret per name, made once, the same for every caller."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor


def test_a_secret_is_made_once_and_then_always_the_same(store):
    first = store.server_secret("attachment_urls")
    assert len(first) == 32
    assert store.server_secret("attachment_urls") == first
    assert store.server_secret("another") != first


def test_callers_racing_for_a_new_secret_all_get_the_one_that_was_kept(store):
    with ThreadPoolExecutor(8) as pool:
        seen = set(pool.map(lambda _: store.server_secret("raced"), range(16)))
    assert len(seen) == 1
