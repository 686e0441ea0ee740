"""Sessions: each token is one signed-in device, listed, used and signed out one by one.

A session's use is written at most once a minute (``rules.SESSION_TOUCH_INTERVAL_MS``): when it
was last seen and the coarse address it came from, and, once a day, its expiry moved on
(``rules.slid_expiry``), so a session in use never expires and an unused one does.
"""

from __future__ import annotations

import contextlib
import ipaddress

from .. import rules
from ..errors import SessionNotFound, StoreUnavailable
from ..events import TokenRevoked
from ..model import Session
from .deps import Deps

# How much of a client address a session keeps: enough to tell "home" from "a trip abroad",
# not to find the house. An IPv6 /48 is one site (RFC 6177); an IPv4 /24 a neighbourhood's.
IPV4_PREFIX = 24
IPV6_PREFIX = 48
DAY_MS = 24 * 60 * 60 * 1000


def lifetime_ms(deps: Deps) -> int:
    """TOKEN_TTL_DAYS: how long a session lives after sign-in, and after its last use."""
    return deps.settings.token_ttl_days * DAY_MS


def coarse_address(address: str | None) -> str | None:
    """The network ``address`` is in, as ``203.0.113.0/24`` or ``2001:db8:1::/48``; None when it
    is not an IP address. An IPv4 address mapped into IPv6 counts as the IPv4 one."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = IPV4_PREFIX if ip.version == 4 else IPV6_PREFIX
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def seen(deps: Deps, session: Session, address: str | None) -> None:
    """Record that ``session`` was used now from ``address``: written at most once a minute."""
    now = deps.clock()
    if session.last_seen_at > rules.touch_cutoff(now):
        return
    expires_at = rules.slid_expiry(session.expires_at, now, lifetime_ms(deps))
    # Noting a use is no reason to refuse a request that only reads while the store cannot
    # write (read-only, full, locked): the next request tries again; the store logged it.
    with contextlib.suppress(StoreUnavailable):
        deps.store.touch_session(session.token_hash, now, coarse_address(address), expires_at)


def list_sessions(deps: Deps, user_id: str) -> list[Session]:
    """The user's live sessions, the most recently used first."""
    return deps.store.list_sessions(user_id, deps.clock())


def sign_out_session(deps: Deps, user_id: str, session_id: str) -> None:
    """Sign one of the user's sessions out; ``SessionNotFound`` for any other id."""
    for session in deps.store.list_sessions(user_id, deps.clock()):
        if session.session_id == session_id:
            deps.store.revoke_token(session.token_hash)
            ended(deps, [session.token_hash])
            return
    raise SessionNotFound()


def sign_out_others(deps: Deps, user_id: str, keep_token_hash: str) -> None:
    """Sign out every session of the user but the one of ``keep_token_hash``."""
    ended(deps, deps.store.revoke_sessions(user_id, keep_token_hash))


def ended(deps: Deps, token_hashes: list[str]) -> None:
    """Close the sockets and long-polls of revoked sessions, on every worker and machine (after
    the revocation is stored: a socket that re-checks its token then finds it gone)."""
    for token_hash in token_hashes:
        deps.notifier.publish(TokenRevoked(token_hash))
