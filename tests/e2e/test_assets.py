"""The web client's page and assets: security headers, nothing loaded from elsewhere, no inline code.

Plain HTTP through Flask's test client: no browser needed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from messenger import create_app
from messenger.config import Settings
from messenger.web.client import STATIC_DIR

EXPECTED_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
ASSETS = sorted(path.relative_to(STATIC_DIR).as_posix() for path in STATIC_DIR.rglob("*") if path.is_file())
CONTENT_TYPES = {".js": "javascript", ".css": "text/css", ".svg": "image/svg+xml", ".html": "text/html"}
SVG_NAMESPACE = "http://www.w3.org/2000/svg"  # an XML name, never fetched


@pytest.fixture
def client(tmp_path):
    app = create_app(Settings(sqlite_path=str(tmp_path / "m.db"), prune_interval_s=0))
    with app.test_client() as client:
        yield client


def assert_hardened(response) -> None:
    for name, value in EXPECTED_HEADERS.items():
        assert response.headers.get(name) == value, name


def test_the_page_is_served_at_the_root_with_security_headers(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert b'<script type="module" src="/app/js/main.js"></script>' in response.data
    assert_hardened(response)


def test_there_are_assets_to_check():
    assert {"index.html", "app.css", "js/main.js", "js/api.js", "js/live.js", "js/store.js"} <= set(ASSETS)


@pytest.mark.parametrize("asset", ASSETS)
def test_every_asset_is_served_with_security_headers_and_its_type(client, asset):
    response = client.get(f"/app/{asset}")
    assert response.status_code == 200
    assert CONTENT_TYPES[Path(asset).suffix] in response.content_type
    assert response.headers["Cache-Control"] == "no-cache"
    assert_hardened(response)


def test_a_missing_asset_is_a_json_404_with_the_same_headers(client):
    response = client.get("/app/js/nope.js")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    assert_hardened(response)


def test_the_api_keeps_its_own_headers(client):
    """The client's CSP is for its pages; API responses (JSON) are not changed."""
    response = client.get("/healthz")
    assert "Content-Security-Policy" not in response.headers


@pytest.mark.parametrize("asset", ASSETS)
def test_no_asset_loads_anything_from_elsewhere(asset):
    text = (STATIC_DIR / asset).read_text(encoding="utf-8").replace(SVG_NAMESPACE, "")
    assert not re.search(r"(?i)\b(https?:|wss?:)?//[a-z0-9.-]+\.[a-z]{2,}", text), "an absolute URL"
    assert not re.search(r"(?i)@import|url\(\s*['\"]?(https?:|//)", text)
    for specifier in re.findall(r"""\bfrom\s+['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]""", text):
        name = next(part for part in specifier if part)
        assert name.startswith(("./", "../")), f"a bare or absolute import: {name}"


@pytest.mark.parametrize("asset", [a for a in ASSETS if a.endswith((".html", ".js"))])
def test_no_inline_code_or_markup_from_data(asset):
    """The CSP forbids inline script and style; data must reach the page as text only."""
    text = (STATIC_DIR / asset).read_text(encoding="utf-8")
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), "an inline <script>"
    assert not re.search(r"""\sstyle\s*=\s*['"]|\son[a-z]+\s*=\s*['"]""", text), "an inline style or handler"
    if asset.endswith(".js"):
        forbidden = r"\.innerHTML\b|\.outerHTML\b|insertAdjacentHTML|document\.write|\beval\(|new Function\("
        assert not re.search(forbidden, text), "HTML parsing of strings, or eval"
