"""What this server can do, as ``GET /version`` tells clients, so they can check before using it.

A contract with every client in the field: add a feature with the level that brings it (one
above the highest), never remove one or lower a level, so ``FEATURE_LEVEL`` only grows. A
change that needs a new request field raises the level: servers refuse unknown request fields
(422), so a client sends the field only to a server whose ``feature_level`` has it.
"""

from __future__ import annotations

API_VERSION = "1"  # the major version: a breaking change would be a new one, served beside it

# Feature name -> the feature level that brought it.
FEATURES: dict[str, int] = {
    "protocol_actions": 1,  # send_message, create_thread, get_user_threads, get_thread_messages
    "actions_endpoint": 1,  # the four verbatim on POST /actions
    "client_msg_id": 1,  # a retried send with the same id stores no second copy
    "groups": 1,  # titled threads, adding and removing members
    "read_markers": 1,  # POST /threads/<id>/read, unread counts, thread.read receipts
    "message_pages_before_seq": 1,  # GET /threads/<id>/messages?before_seq=&limit=
    "user_search": 1,  # GET /users?q=
    "longpoll": 1,  # GET /updates
    "stream": 1,  # the WebSocket /stream (AsyncAPI document at /asyncapi.json)
    "typing": 1,  # the typing action and frames on the WebSocket
    # A send or create_thread may leave out message.user_id and message.timestamp, and
    # create_thread the sender from user_ids; create_thread takes "usernames" too.
    "minimal_payloads": 2,
    "create_thread_usernames": 2,
    "cors": 2,  # the HTTP API answers browsers on ALLOWED_ORIGINS
    "unlabelled_json_bodies": 2,  # curl -d, text/plain or no Content-Type: read as JSON
    # Changes to messages: PATCH and DELETE /threads/<id>/messages/<seq>, reactions, the
    # socket's edit_message, delete_message, react and unreact; message.reply_to on a send;
    # mentions and unread_mentions; the message.edited/deleted and reaction.* updates.
    "edit_messages": 3,
    "delete_messages": 3,
    "replies": 3,
    "reactions": 3,
    "mentions": 3,
    # PATCH /me (username, display_name), display_name on every user shape and thread member,
    # avatar and avatar_url (pictures came with attachments), the user.updated update.
    "profiles": 4,
    # Blocking (/me/blocks) and group consent: GROUP_ADD_POLICY, not_a_contact, invitations
    # (POST /threads/<id>/invitation, the thread.invited update, "invited" in thread replies).
    "blocks": 4,
    "group_consent": 4,
    "pending_invitations": 4,  # GET /me/invitations
    # Sessions: "device" at sign-up and sign-in, GET /me/sessions, DELETE /me/sessions/<id>,
    # POST /auth/signout-everywhere; a session in use does not expire (sliding expiry).
    "sessions": 4,
    "password_change": 4,  # POST /me/password
    # POST /auth/password-reset and /auth/password-reset/confirm; POST /auth/verify-email,
    # /me/email and /me/email/verification; email_verified on /me; 403 email_not_verified.
    "password_reset": 4,
    "email_verification": 4,
    # Leaving the service: GET /me/export, DELETE /me (ACCOUNT_DELETION), account_disabled.
    "export": 4,
    "account_deletion": 4,
}
FEATURE_LEVEL = max(FEATURES.values())
