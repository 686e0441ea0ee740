"""A client's view of messages, kept from pages and then from the update log, by the rule the
README documents (API, "Changes to a message"): per message, what its highest version says.

The contract tests hold every store to it: a client that replays its log from any cursor ends
with the same messages as one that loads the pages afresh.
"""

from __future__ import annotations

from messenger.model import (
    MESSAGE_DELETED,
    MESSAGE_EDITED,
    MESSAGE_NEW,
    REACTION_ADDED,
    REACTION_REMOVED,
    REACTION_USERS_LISTED,
)

Key = tuple[str, int]


def apply(view: dict[Key, dict], update_type: str, body: dict) -> None:
    """Apply one update to ``view`` (thread_id, seq -> the message as served); types about
    other things are skipped, as a client skips types it does not know."""
    if update_type in (MESSAGE_NEW, MESSAGE_EDITED):
        message = body["message"]
        key = (message["thread_id"], message["seq"])
        if key not in view or view[key]["version"] < message["version"]:
            view[key] = message
        return
    if update_type not in (MESSAGE_DELETED, REACTION_ADDED, REACTION_REMOVED):
        return
    key = (body["thread_id"], body["seq"])
    held = view.get(key)
    if held is None or held["version"] >= body["version"]:
        return  # not loaded, or already reflected
    if update_type == MESSAGE_DELETED:
        view[key] = _erased(held, body["version"])
        for other in view.values():  # replies quoting it lose the quote's text
            quoted = other.get("reply_to")
            if other["thread_id"] == key[0] and quoted and quoted["seq"] == key[1]:
                other["reply_to"] = {**quoted, "preview": ""}
        return
    reactions = _reacted(held["reactions"], body, added=update_type == REACTION_ADDED)
    view[key] = {**held, "reactions": reactions, "version": body["version"]}


def _erased(message: dict, version: int) -> dict:
    gone = {
        "contents": "",
        "deleted": True,
        "reply_to": None,
        "mentions": [],
        "reactions": [],
        "attachments": [],
    }
    return {**message, **gone, "version": version}


def _reacted(reactions: list[dict], body: dict, added: bool) -> list[dict]:
    emoji, user_id = body["emoji"], body["user_id"]
    result, found = [], False
    for reaction in reactions:
        if reaction["emoji"] != emoji:
            result.append(reaction)
            continue
        found = True
        user_ids = [uid for uid in reaction["user_ids"] if uid != user_id]
        if added:
            user_ids = (reaction["user_ids"] + [user_id])[:REACTION_USERS_LISTED]
        if body["count"] > 0:
            result.append({"emoji": emoji, "count": body["count"], "user_ids": user_ids})
    if added and not found:
        result.append({"emoji": emoji, "count": body["count"], "user_ids": [user_id]})
    return result
