"""A real SMTP server in the test process (aiosmtpd) that keeps every mail it accepts, for the
tests of password reset and email verification: the API suite and the browser tests."""

from __future__ import annotations

import email
import email.policy
import re
import time
from email.message import EmailMessage as Message

from aiosmtpd.controller import Controller

from tests.integration.live import free_port

# A mailed link: PUBLIC_URL/#/reset?token=… or PUBLIC_URL/#/verify-email?token=….
LINK = re.compile(r"(https?://\S+?/#/(reset|verify-email)\?token=(\S+))")


class Inbox:
    """aiosmtpd's handler: keeps every mail the server accepted."""

    def __init__(self) -> None:
        self.mails: list[Message] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.mails.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"

    def wait_for(self, count: int, timeout_s: float = 5.0) -> list[Message]:
        deadline = time.monotonic() + timeout_s
        while len(self.mails) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(self.mails) >= count, [m["Subject"] for m in self.mails]
        return self.mails

    def to(self, address: str, kind: str) -> list[str]:
        """The tokens of the links of ``kind`` mailed to ``address``, oldest first."""
        return [token for _, token in self._links(address, kind)]

    def links(self, address: str, kind: str) -> list[str]:
        """The whole links of ``kind`` (``reset``, ``verify-email``) mailed to ``address``."""
        return [link for link, _ in self._links(address, kind)]

    def _links(self, address: str, kind: str) -> list[tuple[str, str]]:
        found = []
        for mail in self.mails:
            match = LINK.search(mail.get_content())
            if mail["To"] == address and match and match.group(2) == kind:
                found.append((match.group(1), match.group(3)))
        return found


class SmtpServer:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.inbox = Inbox()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
