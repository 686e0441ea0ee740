"""The in-process notifier: enough for one worker; several workers need ``RedisNotifier``."""

from __future__ import annotations

from ..events import Event
from .hub import Hub, HubNotifier


class InProcessNotifier(HubNotifier):
    def __init__(self) -> None:
        self.hub = Hub()

    def publish(self, event: Event) -> None:
        self.hub.deliver(event)

    def close(self) -> None:
        pass
