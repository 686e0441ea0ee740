"""A page of another origin (a web or hybrid app) calling the API from a real browser.

The page is served by a tiny static server on another free loopback port (a different port is a
different origin): a page Playwright fulfils itself has no address, and Chromium's local network
access rules then block its calls to loopback before any is sent, CORS or not. Its fetch() calls
go to the live gunicorn, with their CORS preflights.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Browser

from tests.integration.live import LiveServer, free_port

from .servers import start_server

APP_PORT = free_port()
APP_ORIGIN = f"http://127.0.0.1:{APP_PORT}"
APP_PAGE = b"<!doctype html><title>An app</title>"

# Sign up, sign in and read /me as an app would: JSON bodies and a bearer token, so each
# request is preflighted. Resolves to what it saw, or to the error fetch() rejected with.
CLIENT_SCRIPT = """async ({api, name}) => {
  const json = {"Content-Type": "application/json"};
  try {
    const signup = await fetch(api + "/auth/signup", {method: "POST", headers: json,
      body: JSON.stringify({email: name + "@example.com", username: name, password: "correct horse"})});
    const signin = await fetch(api + "/auth/signin", {method: "POST", headers: json,
      body: JSON.stringify({login: name, password: "correct horse"})});
    const {token} = await signin.json();
    const me = await fetch(api + "/me", {headers: {Authorization: "Bearer " + token}});
    return {statuses: [signup.status, signin.status, me.status], me: await me.json(),
            requestId: me.headers.get("X-Request-ID")};
  } catch (error) {
    return {rejected: String(error)};
  }
}"""


@pytest.fixture(scope="module")
def cors_server(tmp_path_factory) -> Iterator[LiveServer]:
    live = start_server(tmp_path_factory.mktemp("e2e-cors"), ALLOWED_ORIGINS=APP_ORIGIN)
    yield live
    live.stop()


class AppPage(BaseHTTPRequestHandler):
    """The other origin's one page."""

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(APP_PAGE)))
        self.end_headers()
        self.wfile.write(APP_PAGE)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def app_origin() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", APP_PORT), AppPage)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield APP_ORIGIN
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def run_app_page(browser: Browser, origin: str, api_url: str) -> dict:
    """Open the other origin's page and run the client script there."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(origin + "/")
        return page.evaluate(CLIENT_SCRIPT, {"api": api_url, "name": f"app{uuid.uuid4().hex[:8]}"})
    finally:
        context.close()


def test_a_page_of_an_allowed_origin_signs_up_signs_in_and_reads_me(browser, app_origin, cors_server):
    seen = run_app_page(browser, app_origin, cors_server.url)

    assert "rejected" not in seen, seen
    assert seen["statuses"] == [201, 200, 200]
    assert seen["me"]["username"].startswith("app")
    assert seen["requestId"]  # an exposed header the page may read


def test_without_allowed_origins_the_browser_blocks_the_page(browser, app_origin, server):
    seen = run_app_page(browser, app_origin, server.url)

    assert seen == {"rejected": "TypeError: Failed to fetch"}
