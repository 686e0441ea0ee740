"""Signed download URLs: what they sign, when they expire, and what they refuse."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from messenger.service.attachment_urls import EXPIRED, INVALID, ORIGINAL, THUMBNAIL, VALID, AttachmentUrls

ID = "0123456789abcdef0123456789abcdef"
NOW_MS = 1_800_000_100_000  # inside a window of 900 s, not on its edge


def signed(urls: AttachmentUrls, variant: str = ORIGINAL, now_ms: int = NOW_MS) -> tuple[int, str]:
    query = parse_qs(urlsplit(urls.url(ID, variant, now_ms)).query)
    return int(query["expires"][0]), query["signature"][0]


def test_a_url_lives_its_ttl_to_a_quarter_more_and_is_the_same_within_a_window():
    urls = AttachmentUrls(lambda: b"k" * 32, ttl_s=3600)
    expires, _ = signed(urls)
    assert 3600 <= expires - NOW_MS // 1000 <= 4500
    assert urls.url(ID, ORIGINAL, NOW_MS) == urls.url(ID, ORIGINAL, NOW_MS + 1000)  # caches keep working


def test_a_signature_holds_for_its_id_variant_and_expiry_only():
    urls = AttachmentUrls(lambda: b"k" * 32, ttl_s=3600)
    expires, signature = signed(urls)
    assert urls.check(ID, ORIGINAL, expires, signature, NOW_MS) == VALID
    assert urls.check(ID, THUMBNAIL, expires, signature, NOW_MS) == INVALID
    assert urls.check("f" * 32, ORIGINAL, expires, signature, NOW_MS) == INVALID
    assert urls.check(ID, ORIGINAL, expires + 1, signature, NOW_MS) == INVALID
    assert urls.check(ID, ORIGINAL, expires, signature + "é", NOW_MS) == INVALID  # never a TypeError
    assert urls.check(ID, ORIGINAL, expires, signature, (expires + 1) * 1000) == EXPIRED
    other_key = AttachmentUrls(lambda: b"o" * 32, ttl_s=3600)
    assert other_key.check(ID, ORIGINAL, expires, signature, NOW_MS) == INVALID


def test_the_secret_is_read_once_on_first_use():
    reads = []
    urls = AttachmentUrls(lambda: reads.append(1) or b"k" * 32, ttl_s=60)
    assert reads == []  # building it reads nothing: a worker boots while the store is down
    urls.url(ID, ORIGINAL, NOW_MS)
    urls.url(ID, THUMBNAIL, NOW_MS)
    assert reads == [1]
