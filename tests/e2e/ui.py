"""A person using the web client in a browser page: small steps the e2e tests read like a story."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Locator, Page, WebSocketRoute, expect

PASSWORD = "correct horse battery"
DESKTOP = {"width": 1200, "height": 760}
MOBILE = {"width": 390, "height": 780}
# The browser reports a refused connection or an HTTP error status as a console error; these are
# expected while a server restarts or an API call fails on purpose. Anything else (a script error,
# a CSP violation) fails the test.
EXPECTED_CONSOLE = re.compile(r"Failed to load resource|WebSocket connection to .* failed")


def refuse(socket: WebSocketRoute) -> None:
    socket.close()


LONG_POLLS = re.compile(r"/updates\b")


class Cuttable:
    """A page's live transports, cut off on demand: pass ``route`` as the person's
    ``websocket_route``; ``cut`` closes its sockets, refuses new ones and aborts its long polls
    (the page is offline as far as updates go), ``restore`` lets them through again."""

    def __init__(self) -> None:
        self._cut = threading.Event()
        self._sockets: list[WebSocketRoute] = []

    def route(self, socket: WebSocketRoute) -> None:
        if self._cut.is_set():
            socket.close()
        else:
            socket.connect_to_server()
            self._sockets.append(socket)

    def cut(self, page: Page) -> None:
        self._cut.set()
        page.route(LONG_POLLS, lambda request: request.abort())
        for socket in self._sockets:
            socket.close()

    def restore(self, page: Page) -> None:
        self._cut.clear()
        page.unroute(LONG_POLLS)


@dataclass
class Person:
    page: Page
    username: str

    @property
    def email(self) -> str:
        return f"{self.username}@example.com"

    def sign_up(self) -> Person:
        page = self.page
        page.get_by_role("button", name="Create an account").click()
        page.get_by_label("Email").fill(self.email)
        page.get_by_label("Username").fill(self.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Create account").click()
        expect(page.locator(".me-name")).to_have_text(self.username)
        return self

    def sign_in(self, login: str | None = None, password: str = PASSWORD) -> None:
        self.page.get_by_label("Username or email").fill(login or self.username)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Sign in").click()

    def sign_out(self) -> None:
        self.page.get_by_role("button", name="Sign out", exact=True).click()
        expect(self.page.get_by_role("heading", name="Sign in")).to_be_visible()

    def open_settings(self) -> None:
        self.page.get_by_role("link", name="Settings").click()
        expect(self.page.get_by_role("heading", name="Settings", exact=True)).to_be_visible()

    def settings_section(self, title: str) -> Locator:
        """One section of the settings page, found by its heading."""
        return self.page.get_by_role("region", name=title)

    def start_chat(self, username: str) -> None:
        """Find someone by username prefix and open the chat with them."""
        page = self.page
        page.get_by_role("button", name="New chat").click()
        page.get_by_label("Find people by username").fill(username[:4])
        page.locator(".user-result", has_text=username).click()
        expect(page.locator(".conv-name")).to_have_text(username)

    def thread(self, name: str) -> Locator:
        """The thread list's entry whose name is exactly ``name``."""
        return self.page.locator(".thread-item").filter(
            has=self.page.locator(".thread-name", has_text=re.compile(f"^{re.escape(name)}$"))
        )

    def open_thread(self, name: str) -> None:
        self.thread(name).click()
        expect(self.page.locator(".conv-name")).to_have_text(name)

    @property
    def composer(self) -> Locator:
        return self.page.get_by_label("Message", exact=True)

    def send(self, text: str) -> None:
        self.composer.fill(text)
        self.composer.press("Enter")

    def message(self, text: str) -> Locator:
        return self.page.locator(".message-list .msg").filter(
            has=self.page.locator(".bubble", has_text=re.compile(f"^{re.escape(text)}$"))
        )

    def expect_message(self, text: str, timeout: float = 10_000) -> None:
        expect(self.message(text)).to_be_visible(timeout=timeout)

    # Attachments ---------------------------------------------------------------------------
    def attach(self, *files: tuple[str, str, bytes]) -> None:
        """Choose files (name, MIME type, bytes) as the attach button's file picker would."""
        payloads = [{"name": name, "mimeType": mime, "buffer": data} for name, mime, data in files]
        self.page.locator(".composer .attach-input").set_input_files(payloads)

    def _data_transfer(self, name: str, mime: str, data: bytes):
        return self.page.evaluate_handle(
            """([name, type, bytes]) => {
                const transfer = new DataTransfer();
                transfer.items.add(new File([new Uint8Array(bytes)], name, { type }));
                return transfer;
            }""",
            [name, mime, list(data)],
        )

    def drop(self, name: str, mime: str, data: bytes) -> None:
        """Drag a file from the desktop and drop it on the conversation."""
        transfer = self._data_transfer(name, mime, data)
        view = self.page.locator(".conversation-view")
        view.dispatch_event("dragover", {"dataTransfer": transfer})
        expect(view).to_have_class(re.compile(r"\bdropping\b"))
        view.dispatch_event("drop", {"dataTransfer": transfer})

    def paste(self, name: str, mime: str, data: bytes) -> None:
        """Paste a copied file (a screenshot, say) into the compose box."""
        transfer = self._data_transfer(name, mime, data)
        self.composer.evaluate(
            """(box, clipboardData) => box.dispatchEvent(
                new ClipboardEvent('paste', { clipboardData, bubbles: true, cancelable: true }))""",
            transfer,
        )

    def upload(self, name: str) -> Locator:
        """The compose box's tray row of one file."""
        return self.page.locator(".upload-tray .upload").filter(
            has=self.page.locator(".upload-name", has_text=re.compile(f"^{re.escape(name)}$"))
        )

    def message_with_file(self, filename: str) -> Locator:
        """The message row carrying a photo or a file of that name."""
        return self.page.locator(".message-list .msg").filter(
            has=self.page.locator(f'.attachment-photo img[alt="{filename}"]').or_(
                self.page.locator(".file-name", has_text=re.compile(f"^{re.escape(filename)}$"))
            )
        )

    def photo(self, filename: str) -> Locator:
        return self.page.locator(f'.message-list .attachment-photo img[alt="{filename}"]')

    def file_chip(self, filename: str) -> Locator:
        return self.page.locator(".message-list .attachment-file").filter(
            has=self.page.locator(".file-name", has_text=re.compile(f"^{re.escape(filename)}$"))
        )

    def expect_image_loaded(self, image: Locator) -> None:
        """The <img> shows real pixels (it loaded and decoded), not a broken-image box."""
        expect(image).to_be_visible()
        # Asked of the locator each time: the row may be rebuilt with a new <img> meanwhile
        # (fresh URLs after an expired one), so an element handle could be a detached one.
        deadline = time.monotonic() + 10
        while not image.evaluate("img => img.complete && img.naturalWidth > 0"):
            assert time.monotonic() < deadline, f"the image never loaded: {image.get_attribute('src')}"
            self.page.wait_for_timeout(100)


@dataclass
class Ui:
    """Pages in separate browser contexts (separate storage: separate people)."""

    browser: Browser
    artifacts: Path
    contexts: list[BrowserContext] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)

    def person(
        self,
        base_url: str,
        username: str,
        *,
        mobile: bool = False,
        block_websocket: bool = False,
        websocket_route: Callable[[WebSocketRoute], None] | None = None,
    ) -> Person:
        """A new person's page; ``websocket_route`` sees (and may cut) each of its sockets."""
        context = self.browser.new_context(
            base_url=base_url,
            viewport=MOBILE if mobile else DESKTOP,
            device_scale_factor=1,
            is_mobile=mobile,
            has_touch=mobile,
            locale="en-GB",
            timezone_id="Europe/London",
        )
        context.set_default_timeout(10_000)
        self.contexts.append(context)
        page = context.new_page()
        self.watch(page, username)
        if block_websocket:
            # page.route() does not see WebSockets; route_web_socket does. Closing every
            # /stream socket at once is what a proxy that refuses WebSockets looks like.
            websocket_route = refuse
        if websocket_route:
            page.route_web_socket(re.compile(r"/stream\b"), websocket_route)
        page.goto("/")
        return Person(page, username)

    def watch(self, page: Page, username: str) -> None:
        """Record the page's script errors, CSP violations, alert()s and HTTP URLs (``assert_clean``)."""
        page.on("pageerror", lambda error: self.errors.append(f"{username}: {error}"))
        page.on("console", lambda msg: self._console(username, msg))
        page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))
        page.on("request", lambda request: self.urls.append(request.url))  # HTTP only, not sockets

    def _console(self, username: str, msg) -> None:
        if msg.type == "error" and not EXPECTED_CONSOLE.search(msg.text):
            self.errors.append(f"{username} console: {msg.text}")

    def screenshot(self, person: Person, name: str) -> Path:
        path = self.artifacts / f"{name}.png"
        person.page.screenshot(path=str(path))
        return path

    def close(self, failed_test: str | None = None) -> None:
        """Close every page; after a failure, keep a screenshot of each to see what it showed."""
        for index, context in enumerate(self.contexts):
            if failed_test:
                for page in context.pages:
                    page.screenshot(path=str(self.artifacts / f"failed-{failed_test}-{index}.png"))
            context.close()
        self.contexts.clear()

    def assert_clean(self) -> None:
        """No script error or CSP violation, no alert(), and the token never in an HTTP URL."""
        assert self.errors == [], self.errors
        assert self.dialogs == [], self.dialogs
        assert [url for url in self.urls if "token" in url.lower()] == []
