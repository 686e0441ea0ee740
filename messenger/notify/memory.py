"""The in-process notifier: enough for one worker; several workers need ``RedisNotifier``."""

from __future__ import annotations

from .hub import Event, Hub, Inbox


class InProcessNotifier:
    def __init__(self) -> None:
        self.hub = Hub()

    def publish(self, event: Event) -> None:
        self.hub.deliver(event)

    def subscribe(self, user_id: str, token_hash: str | None = None, poll_limit: int | None = None) -> Inbox:
        return self.hub.subscribe(user_id, token_hash, poll_limit)

    def unsubscribe(self, inbox: Inbox) -> None:
        self.hub.unsubscribe(inbox)

    def drain(self) -> None:
        self.hub.drain()

    @property
    def draining(self) -> bool:
        return self.hub.draining

    def close(self) -> None:
        pass
