"""The ports the service depends on; adapters in ``store/`` and ``notify/`` implement them.

Every adapter must pass its contract suite in ``tests/contract``. A store decides what the
port leaves to rules (who is told of each change, retry matching, floors, cursor expiry) by
calling ``messenger.rules`` inside its writes. The notifier's vocabulary (events, inboxes,
stop reasons) is in ``events``: ports import only ``model`` and ``events``. The blob store's
adapters are in ``blobs/``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol

from .events import Event, Inbox
from .model import (
    AccountDeleted,
    Attachment,
    Block,
    ClaimedMail,
    Invitation,
    MembersChanged,
    Message,
    MessageChanged,
    MessageEdit,
    NewMessage,
    NewThread,
    OneTimeToken,
    Opened,
    OutgoingMail,
    ProfileChanged,
    ProfileEdit,
    ReadMarked,
    Sent,
    Session,
    StoredBlob,
    ThreadPage,
    ThreadView,
    UpdatePage,
    User,
)


class Store(Protocol):
    """Durable storage for users, sessions, threads, memberships and messages.

    Invariant both adapters keep: a thread's messages have seq 1, 2, 3... with no gaps,
    so "the i-th newest message" is seq ``last_seq - i`` and any page is an index range.
    """

    def setup(self) -> None:
        """Create tables, collections and indexes; safe to call on every start."""

    def heartbeat(self, now: int) -> None:
        """Upsert the one heartbeat record: ready means a write commits (read-only, disk full...).

        Raise ``StoreUnavailable`` when it does not. One record for every worker: bounded.
        """

    def close(self) -> None:
        """Release connections."""

    def server_secret(self, name: str) -> bytes:
        """The secret called ``name`` (32 random bytes), made by whichever worker asks first and
        the same for every worker and machine that shares this store."""

    # Accounts -------------------------------------------------------------------------
    def add_user(self, user: User, password_hash: str) -> None:
        """Store a new user; raise ``EmailTaken`` or ``UsernameTaken`` (case-insensitive)."""

    def find_login(self, login: str) -> tuple[User, str] | None:
        """Find a user by email or username, case-insensitively, with the password hash."""

    def get_users(self, user_ids: list[str]) -> list[User]:
        """Return the users that exist among ``user_ids``, in no particular order."""

    def get_users_by_username(self, usernames: list[str]) -> list[User]:
        """Return the users whose usernames are among ``usernames`` (case-insensitive), in no
        particular order."""

    def search_users(self, prefix: str, limit: int) -> list[User]:
        """Users whose username starts with ``prefix`` (case-insensitive), by username."""

    def get_password_hash(self, user_id: str) -> str | None:
        """The user's password hash; None for no such user."""

    def set_password_hash(self, user_id: str, password_hash: str) -> None:
        """Replace the user's password hash (sessions are the caller's to revoke)."""

    # Sessions: one per token, stored by its hash (the token itself never is) ------------
    def add_session(self, session: Session) -> None:
        """Store a new session, and drop the user's sessions expired by ``session.created_at``."""

    def get_session(self, token_hash: str, now: int) -> Session | None:
        """The live (unexpired, unrevoked) session of a token, else None: one indexed read.

        Sessions stored before devices were kept read with ``UNKNOWN_DEVICE``, their creation
        as their last use and no address."""

    def touch_session(self, token_hash: str, now: int, address: str | None, expires_at: int | None) -> bool:
        """Record a use: ``last_seen_at = now``, the address (unless None) and the expiry (unless
        None). Only for a live session last seen at or before ``rules.touch_cutoff(now)``, so
        racing requests write once; True if it wrote."""

    def list_sessions(self, user_id: str, now: int) -> list[Session]:
        """The user's live sessions, the most recently used first (then the newest)."""

    def revoke_token(self, token_hash: str) -> None:
        """Delete the session of this token (nothing when there is none)."""

    def revoke_sessions(self, user_id: str, keep_token_hash: str | None = None) -> list[str]:
        """Delete every session of the user but ``keep_token_hash``'s; return the token hashes
        deleted, for closing their sockets."""

    # Threads and messages -------------------------------------------------------------
    def open_thread(self, thread: NewThread, first: NewMessage) -> Opened:
        """Create the thread (a 1:1 thread only if its key is new) and send ``first`` into it
        (as ``send``: ``UnknownAttachments`` creates nothing).

        A retry with the same sender and ``client_msg_id`` returns the original outcome.
        """

    def send(self, message: NewMessage) -> Sent:
        """Append a message with the next seq; raise ``ThreadNotFound`` for a non-member,
        ``ReplyNotFound`` when ``reply_to_seq`` names no message of the thread and
        ``UnknownAttachments`` when any of ``attachment_ids`` is not an attachment the sender
        uploaded (nothing written then: no message, seq or update). The message carries each
        attachment's ``public()`` once, in the order named, and refers to it (so it is not an
        orphan, and the thread's members may read it); one attachment may be in many messages.

        A retry with the same sender and ``client_msg_id`` returns the original message
        (``created=False``) and completes anything a crash left undone.
        """

    def require_thread(self, thread_id: str, user_id: str) -> ThreadView:
        """The thread as ``user_id`` sees it; ``ThreadNotFound`` unless a member."""

    def list_threads(self, user_id: str, offset: int, limit: int) -> ThreadPage:
        """The user's threads, most recent activity first, with the log cursor to resume from."""

    def list_messages(self, thread_id: str, user_id: str, start: int, end: int) -> list[Message]:
        """Messages newest first, ``start``/``end`` counted from the newest (0-based, end exclusive)."""

    def list_messages_before(
        self, thread_id: str, user_id: str, before_seq: int, limit: int
    ) -> list[Message]:
        """Up to ``limit`` messages with seq below ``before_seq``, newest first."""

    # Changes to a message: each is one more ``version`` of it, and every member's log gets its
    # update in version order (after the message's message.new). ``ThreadNotFound`` unless
    # ``user_id`` is a member, ``MessageNotFound`` for a seq the thread does not have.
    def require_message(self, thread_id: str, seq: int, user_id: str) -> Message:
        """One message of a thread, as a member sees it."""

    def edit_message(self, edit: MessageEdit) -> MessageChanged:
        """New contents and mentions, ``edited_at``, one more ``edit_count``; message.edited to
        every member. Unchanged for the same contents; ``NotAllowed`` unless ``edit.user_id``
        sent it; ``MessageDeleted`` once deleted (a deletion always wins over an edit)."""

    def delete_message(self, thread_id: str, seq: int, user_id: str, now: int) -> MessageChanged:
        """Erase the message (``model.erased``) from every stored copy: the message, its
        reactions and mentions, quotes of it in replies, and the update bodies holding its text
        (``rules.erase_from_body``); message.deleted to every member. Unchanged when deleted
        already. Who may delete is the service's rule.

        Its attachments go too: the message no longer refers to them, and those nothing else
        refers to any more lose their metadata in the same write (SQLite) or right after it
        (MongoDB's documented order), returned as ``freed_attachments`` for the caller to
        delete their blobs. A retry of a deletion a crash cut short finishes that and returns
        what it freed."""

    def add_reaction(
        self, thread_id: str, seq: int, user_id: str, emoji: str, now: int, max_distinct: int
    ) -> MessageChanged:
        """Add ``user_id``'s ``emoji``; reaction.added to every member. Unchanged when present;
        ``TooManyReactions`` for a new emoji past ``max_distinct``; ``MessageDeleted``."""

    def remove_reaction(self, thread_id: str, seq: int, user_id: str, emoji: str, now: int) -> MessageChanged:
        """Remove ``user_id``'s ``emoji``; reaction.removed to every member. Unchanged when absent."""

    def mark_read(self, thread_id: str, user_id: str, seq: int, now: int) -> ReadMarked:
        """Move the read marker to ``max(current, min(seq, last_seq))``; tell members if it moved."""

    def add_members(self, thread_id: str, user_ids: list[str], now: int, added_by: str) -> MembersChanged:
        """Add users not yet members (their read marker at the newest message), noting who added them."""

    def remove_member(self, thread_id: str, user_id: str, now: int, removed_by: str) -> MembersChanged:
        """Remove a membership; ``user_ids`` is empty when there was none.

        Records the departure for the remover and for whoever had added them (a creation's
        members were added by its creator), for ``departures_involving``; kept across restarts.
        """

    def departures_involving(self, thread_id: str, actor_id: str, user_ids: list[str]) -> dict[str, int]:
        """When each of ``user_ids`` last left ``thread_id`` having been added or removed by
        ``actor_id``; users with no such departure are absent."""

    # Blocks and invitations -----------------------------------------------------------
    # The store keeps who blocked whom and the invitations into groups, and answers questions
    # about them; who may do what because of them is the service's rule (``rules``).
    def add_block(self, blocker_id: str, blocked_id: str, now: int) -> int:
        """Note that ``blocker_id`` blocks ``blocked_id``; idempotent. Returns when the block
        began (the first call's ``now`` when it was there already)."""

    def remove_block(self, blocker_id: str, blocked_id: str) -> None:
        """Lift the block; nothing when there was none."""

    def list_blocks(self, blocker_id: str) -> list[Block]:
        """Everyone ``blocker_id`` blocks, the newest block first."""

    def blockers_among(self, user_id: str, other_ids: list[str]) -> list[str]:
        """The users among ``other_ids`` who block ``user_id``."""

    def blocked_in_direct(self, thread_id: str, user_id: str) -> bool:
        """Whether ``thread_id`` is a 1:1 thread of ``user_id``'s whose other member blocks them
        (False for a thread they are not in, so nothing is told about it)."""

    def contacts_among(self, user_id: str, other_ids: list[str]) -> list[str]:
        """The users among ``other_ids`` who share a 1:1 thread with ``user_id``."""

    def invite(
        self, thread_id: str, user_ids: list[str], invited_by: str, now: int, cooldown_ms: int
    ) -> MembersChanged:
        """Invite non-members into a group: thread.invited (``model.thread_invited_body``, the
        group as ``invited_by`` sees it) to each invitee ``rules.is_invitation_sendable`` lets
        it reach. ``user_ids`` are those invited now; ``ThreadNotFound`` unless ``invited_by``
        is a member."""

    def get_invitation(self, thread_id: str, user_id: str) -> Invitation | None:
        """The user's pending or declined invitation into the thread, if any."""

    def accept_invitation(self, thread_id: str, user_id: str, now: int, max_members: int) -> MembersChanged:
        """Turn a pending invitation into a membership (added by the inviter, told as
        ``add_members`` tells it) and drop it. Empty when there is no pending invitation;
        ``TooManyMembers`` when the group is full."""

    def decline_invitation(self, thread_id: str, user_id: str, now: int) -> bool:
        """Mark a pending invitation declined (kept, for ``rules.is_invitation_sendable``);
        True when there is a declined invitation after it, False when there was none."""

    def pending_invitations(self, user_id: str, limit: int) -> list[tuple[Invitation, ThreadView]]:
        """The user's pending invitations, newest first, each with its group as its inviter sees
        it (as another member does once the inviter left); groups nobody is in are left out."""

    # The per-user update log ----------------------------------------------------------
    # Every change above appends, with the change itself, an update to the log of each user
    # who must learn of it and returns their newest cursors. Cursors only grow; a crash may
    # leave a gap, never a duplicate or a reordering.
    def current_cursor(self, user_id: str) -> int: ...

    def read_updates(self, user_id: str, since: int, limit: int) -> UpdatePage:
        """Updates after ``since``, oldest first; ``CursorExpired`` if pruned past or unknown."""

    def prune_updates(self, now: int, max_age_ms: int, max_per_user: int) -> int:
        """Apply the retention policy; return how many updates were dropped."""

    # Profiles -------------------------------------------------------------------------
    def update_profile(self, edit: ProfileEdit) -> ProfileChanged:
        """Apply what of ``edit.changes`` differs (``rules.profile_changes``) and append
        user.updated to ``rules.told_of_profile``: the user and everyone sharing a thread with
        them now. ``UserNotFound`` for an unknown user; ``UsernameTaken`` when another user
        holds the new username case-insensitively (the old one is free at once). Nothing to
        change appends nothing of its own."""

    # Mail and one-time tokens ---------------------------------------------------------
    # The outbox: a request writes its mail with its token, a worker's sender claims it with a
    # lease (another claimer skips it until the lease ends), sends it and marks it sent.
    def get_user_by_email(self, email: str) -> User | None:
        """The user whose email is ``email``, case-insensitively (usernames are not looked at)."""

    def change_email(self, user_id: str, email: str) -> User:
        """Set a new email, unverified; ``EmailTaken`` (case-insensitive) when another user has it."""

    def set_email_verified(self, user_id: str, email: str) -> bool:
        """Mark the email verified if it is still ``email`` (case-insensitive); whether it was."""

    def add_one_time_token(self, token: OneTimeToken, mail: OutgoingMail, max_pending: int) -> bool:
        """Store the token and enqueue its mail in one write; write nothing and return False when
        the mail's account already has ``max_pending`` mails pending (one user cannot fill it)."""

    def get_one_time_token(self, token_hash: str, purpose: str, now: int) -> OneTimeToken | None:
        """The unexpired token, without using it."""

    def use_one_time_token(self, token_hash: str, purpose: str, now: int) -> OneTimeToken | None:
        """Use the unexpired token: of concurrent callers exactly one gets it; every token of
        the same account and purpose is deleted with it (an older link dies too)."""

    def claim_mail(self, now: int, lease_ms: int, limit: int) -> list[ClaimedMail]:
        """Lease up to ``limit`` pending mails due at ``now`` (oldest due first) until
        ``now + lease_ms``, counting one more attempt each; two claimers never get one mail."""

    def mark_mail_sent(self, mail_id: str, claim_id: str, now: int) -> bool:
        """The mail server accepted it: sent, its body erased; False if the claim was lost."""

    def mark_mail_failed(self, mail_id: str, claim_id: str, now: int, retry_at: int | None) -> bool:
        """Not sent: due again at ``retry_at``, or failed for good (body erased) when None."""

    def prune_mail(self, now: int, keep_ms: int) -> int:
        """Delete expired one-time tokens and mails sent or failed over ``keep_ms`` ago."""

    # Attachments' metadata ------------------------------------------------------------
    # The bytes are the blob store's. Writes across the two are ordered, never transactional:
    # bytes first, then ``add_attachment``; ``forget_attachment`` (or a deletion's
    # ``freed_attachments``) first, then the blobs' deletion. A crash leaves at worst bytes no
    # metadata names (``blobs_in_use`` tells the collector which), never metadata without bytes.
    # An attachment is referred to by the messages that carry it (and, later, avatars).
    def add_attachment(self, attachment: Attachment) -> None:
        """Store a new attachment's metadata (its blobs are stored already), referred to by
        nothing yet: an orphan until a message carries it."""

    def get_attachment(self, attachment_id: str) -> Attachment | None:
        """The attachment's metadata; None when unknown or forgotten. Authorize with
        ``can_read_attachment`` first."""

    def attachment_bytes_used(self, user_id: str) -> int:
        """The sizes of every attachment ``user_id`` uploaded, summed (ATTACHMENT_QUOTA_BYTES).

        Read, then the upload's insert, with nothing between: concurrent uploads of one user
        may each pass the check and overshoot the quota by one upload each. Accepted: the quota
        bounds a user's storage, not to the byte."""

    def can_read_attachment(self, attachment_id: str, user_id: str) -> bool:
        """Whether ``user_id`` may download it: its uploader, or a current member of a thread
        where a message that is not deleted carries it. False for an unknown id."""

    def orphan_attachments(
        self, created_before: int, limit: int, uploader_id: str | None = None
    ) -> list[Attachment]:
        """Up to ``limit`` attachments created before ``created_before`` that nothing refers
        to, oldest first (only ``uploader_id``'s when given: a deleted account's unsent
        uploads): what the collector forgets (``forget_attachment``), then deletes the blobs
        of. On MongoDB a reference made before the cut-off by a message that was never stored
        (its send crashed) refers to nothing."""

    def forget_attachment(self, attachment_id: str, created_before: int) -> Attachment | None:
        """Delete the metadata of an attachment created before ``created_before``, only if
        nothing refers to it, in one atomic write (a send referring to it concurrently either
        comes first and keeps it, or finds it gone and is refused); return what was deleted,
        for the caller to delete its blobs. None when it is referred to, newer or unknown."""

    def blobs_in_use(self, blob_ids: list[str]) -> set[str]:
        """The ones among ``blob_ids`` that an attachment's metadata names (its bytes or its
        thumbnail's): the blob collector deletes the others (``BlobStore.list_ids``) once
        older than any upload that may still be storing its metadata."""

    # Leaving the service --------------------------------------------------------------
    # Disabling and deleting take effect at once: sign-in stops finding (deleted) or refuses
    # (disabled, ``User.disabled``) the account, its tokens are deleted, and ``add_session`` for
    # such an account stores nothing, so no token outlives the change. Deletion then cleans up
    # through the methods above (``remove_member``, ``delete_own_message``) and ``forget_user``;
    # every step is idempotent, so running the whole deletion again rolls a crashed one forward.
    def list_accounts(self, after: str | None, limit: int) -> list[User]:
        """Every account, deleted ones included, by user id after ``after``: for operators."""

    def set_disabled(self, user_id: str, disabled: bool, now: int) -> list[str]:
        """Disable (or enable) the account; disabling deletes its tokens and returns their
        hashes, for ``TokenRevoked``. ``UserNotFound`` for an unknown or deleted user."""

    def mark_deleted(self, user_id: str, now: int, reserved_until: int) -> AccountDeleted:
        """Turn the account into a tombstone: username ``DELETED_USERNAME``, no email, display
        name or password, ``deleted``; its old username stays taken (sign-up and renames) until
        ``reserved_until``; user.updated with the tombstone to ``rules.told_of_profile``. Deletes
        its tokens and returns their hashes. Again on a tombstone: changes nothing but deleting
        any token left (and appending what a crash left pending). ``UserNotFound`` for an
        unknown user; ``update_profile`` of a tombstone is ``UserNotFound`` too."""

    def own_messages(self, user_id: str, after: tuple[str, int] | None, limit: int) -> list[Message]:
        """Up to ``limit`` messages ``user_id`` sent, in every thread (left ones too), by
        (thread_id, seq) after ``after``: a keyset page, deleted ones included."""

    def delete_own_message(self, thread_id: str, seq: int, user_id: str, now: int) -> MessageChanged:
        """``delete_message`` of a message ``user_id`` sent, member or not any more (a deleted
        account's messages in threads it left); ``MessageNotFound`` unless they sent it."""

    def member_thread_ids(self, user_id: str) -> list[str]:
        """The threads ``user_id`` is a member of now."""

    def forget_user(self, user_id: str) -> None:
        """The last step of a deletion: drop the blocks the user made and their invitations."""


class MailTransport(Protocol):
    """Hands one mail to a mail server (the SMTP adapter in ``messenger.mail``)."""

    def send(self, mail: OutgoingMail) -> None:
        """Return once the server accepted it; raise ``MailDeliveryError`` otherwise."""


class Notifier(Protocol):
    """Doorbells between the processes serving users: "user X has updates up to N".

    Delivery is best effort: the update log is the truth, and every waiter re-reads it on a
    timeout, so a lost event costs latency, never data.
    """

    def publish(self, event: Event) -> None:
        """Deliver to this process's subscribers and to every other process; never raises."""

    def subscribe(self, inbox: Inbox) -> Inbox:
        """Deliver ``inbox.user_id``'s events to ``inbox`` until unsubscribed; ``TokenRevoked``
        for ``inbox.token_hash`` stops it (REVOKED), and so does draining (SHUTDOWN)."""

    def unsubscribe(self, inbox: Inbox) -> None:
        """Stop delivering to ``inbox``."""

    def problem(self) -> str | None:
        """Why delivery to other processes is impaired now (Redis unreachable), or None."""

    def drain(self) -> None:
        """This process is shutting down: end its long-polls and sockets so clients reconnect."""

    @property
    def draining(self) -> bool: ...

    def close(self) -> None: ...


class BlobStore(Protocol):
    """The bytes of attachments, by blob id; what they are (name, type, owner) is the Store's.

    Crash safety is in the order of writes, not in a transaction across the two stores: bytes
    first (``put`` returns only once they are durable under their id, and a crash during a put
    never leaves part of a blob readable under it), then the metadata that refers to them; so a
    crash leaves at worst bytes nothing refers to, which a collector finds with ``list_ids``,
    and unfinished puts, which ``remove_partials`` clears. Every method taking an id raises
    ``ValueError`` for one that is not a blob id (``model.BLOB_ID``), before touching storage.
    Outages raise ``StoreUnavailable``. Safe to share across threads.
    """

    def put(self, chunks: Iterable[bytes], max_bytes: int) -> StoredBlob:
        """Store the bytes ``chunks`` yields under a new blob id and return it with their size
        and SHA-256. Streams: holds a bounded buffer, never the whole body. Raises
        ``BlobTooLarge`` as soon as more than ``max_bytes`` arrived, and re-raises whatever
        ``chunks`` raises; either way nothing stays stored."""

    def open(self, blob_id: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """The bytes ``start`` (inclusive) to ``end`` (exclusive; None: the end) of the blob, in
        chunks. The range is cut to the blob's size, so a range past its end yields nothing;
        ``ValueError`` when ``start < 0`` or ``end < start``. Raises ``BlobNotFound`` at once
        (not at the first chunk) when there is no such blob. Close the iterator when not
        reading it to the end (a WSGI server does): it holds a file or a connection."""

    def size(self, blob_id: str) -> int | None:
        """The blob's size in bytes; None when there is no such blob."""

    def delete(self, blob_id: str) -> None:
        """Remove the blob; nothing when there is none."""

    def list_ids(self, created_before: int) -> Iterator[str]:
        """The ids of every blob stored before ``created_before`` (ms since the epoch, by the
        storage's clock), in no order: what an orphan collector checks against metadata."""

    def remove_partials(self, started_before: int) -> int:
        """Remove what puts started before ``started_before`` (ms since the epoch) and never
        finished left behind (a process killed mid-upload); return how many were removed. Give
        a cut-off older than any upload still running: one removed mid-way fails."""

    def close(self) -> None:
        """Release files and connections."""
