"""Changing one's profile: username and display name, told to everyone who shares a thread."""

from __future__ import annotations

from ..errors import UsernameTaken
from ..model import DELETED_USERNAME, ProfileEdit, User
from .deps import Deps
from .updates import ring


def update_profile(deps: Deps, user_id: str, changes: dict[str, str | None]) -> User:
    """Apply ``changes`` (already valid: a username matching the sign-up pattern, a display name
    that shows something, or None to clear it) and tell the user's devices and every co-member.

    Asking for what is there already changes nothing and tells nobody. Mentions store user ids,
    so a rename breaks no stored mention; a new "@name" resolves by the current usernames.
    """
    if (changes.get("username") or "").lower() == DELETED_USERNAME:  # what deleted accounts show
        raise UsernameTaken()
    changed = deps.store.update_profile(ProfileEdit(user_id, dict(changes), deps.clock()))
    ring(deps, changed.cursors)
    return changed.user
