"""What a signing-in request says about its device, to name its session.

The client may name it (``"device": "Pixel 8"``); otherwise the User-Agent is read with
ua-parser (uap-core's patterns, the ones Browserscope and most analytics use) as "<browser> on
<system>", e.g. "Firefox on Linux", "Chrome Mobile on Android", "okhttp": an app's own HTTP
library names itself only, and a User-Agent that tells neither is "unknown".
"""

from __future__ import annotations

import ua_parser
from flask import request
from ua_parser import Domain

from ..model import UNKNOWN_DEVICE
from ..schemas import MAX_DEVICE_LENGTH
from .context import deps

# Only the start of a User-Agent is read: the patterns are regular expressions, and what they
# cost grows with the text (uap-core had catastrophic backtracking on crafted input before).
MAX_USER_AGENT_READ = 512


def device_of_request(named: str | None) -> str:
    """The device name a sign-in or sign-up gave, or else the one its User-Agent implies."""
    if named is not None:
        return named
    user_agent = request.headers.get("User-Agent", "")
    if not user_agent:
        return UNKNOWN_DEVICE
    # The first parse compiles the patterns (most of a second): off a gevent worker's loop,
    # like password hashing.
    return deps().run_blocking(device_of_user_agent, user_agent)


def device_of_user_agent(user_agent: str) -> str:
    """Name a device by its User-Agent, e.g. "Firefox on Linux"; "unknown" when it tells nothing."""
    parsed = ua_parser.parser(user_agent[:MAX_USER_AGENT_READ], Domain.USER_AGENT | Domain.OS)
    browser = parsed.user_agent.family if parsed.user_agent else None
    system = parsed.os.family if parsed.os else None
    name = f"{browser} on {system}" if browser and system else browser or system or UNKNOWN_DEVICE
    return name[:MAX_DEVICE_LENGTH]
