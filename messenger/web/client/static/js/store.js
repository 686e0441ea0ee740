// The client's state and the only code that changes it. Views read `state` and re-render when
// told which part changed; nothing here talks to the network (chat.js does). Other modules read
// `state` but never assign to it: every change is a function here, which also says what changed.

// The server keeps a thread's newest message's first PREVIEW_LENGTH code points as its preview
// (messenger/model.py: PREVIEW_LENGTH = 140, `contents[:PREVIEW_LENGTH]` on a Python str). GET
// /version's `limits` does not carry it, so this is the client's one copy of that number.
export const PREVIEW_LENGTH = 140;
// The server lists at most this many user ids per reaction (messenger/model.py).
export const REACTION_USERS_LISTED = 100;

export const state = {
  me: null, // {user_id, username, display_name}
  threads: new Map(), // thread_id → thread, as GET /threads shows it
  threadList: { loading: true, error: null, hasMore: false },
  conversations: new Map(), // thread_id → {messages (oldest first), hasOlder, loadingOlder, loading, error}
  pending: new Map(), // client_msg_id → {client_msg_id, target, contents, attachments, timestamp, status, error}
  uploads: new Map(), // upload id → {id, target, file, name, size, loaded, status, error, attachment}, in order added
  peerRead: new Map(), // thread_id → Map(user_id → the seq that member has read up to)
  typing: new Map(), // thread_id → Map(user_id → when the hint expires)
  drafts: new Map(), // user_id → the person a 1:1 chat is about to start with
  compose: new Map(), // thread_id → {mode: 'reply'|'edit', seq}: what the compose box is doing
  notices: new Map(), // thread_id → a sentence about a change that failed (shown by the composer)
  focus: null, // {threadId, seq}: a message to bring into view (a quote was clicked)
  connection: { state: 'connecting', transport: 'socket', retryAt: null },
  invitations: new Map(), // thread_id → {thread, invited_by}: groups you may join (GROUP_ADD_POLICY=invite)
  blocked: new Set(), // user ids you block (GET /me/blocks at start, then this tab's changes)
  // The server's limits that the client checks before sending (GET /version; null: not known).
  limits: { max_attachment_bytes: null, max_attachments_per_message: null },
};

// Changes are batched: several updates in one task cause one render per topic.
const listeners = new Set();
let pendingTopics = null;

export function subscribe(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function changed(topic) {
  if (!pendingTopics) {
    pendingTopics = new Set();
    queueMicrotask(() => {
      const topics = pendingTopics;
      pendingTopics = null;
      for (const fn of listeners) fn(topics);
    });
  }
  pendingTopics.add(topic);
}

// One more at every reset (sign-out, another account signing in in another tab): an answer to
// a request made before it belongs to a session that is gone, and is dropped (``current()``).
let generation = 0;

/** A check for later: whether the state is still the session it was when this was called. */
export function current() {
  const at = generation;
  return () => at === generation;
}

export function reset() {
  generation += 1;
  state.me = null;
  state.threads.clear();
  state.threadList = { loading: true, error: null, hasMore: false };
  state.conversations.clear();
  state.pending.clear();
  state.uploads.clear();
  state.peerRead.clear();
  state.typing.clear();
  state.drafts.clear();
  state.compose.clear();
  state.notices.clear();
  state.focus = null;
  state.invitations.clear();
  state.blocked.clear();
  changed('all');
}

/** Start a signed-in session's state: who "me" is. */
export function signedIn(me) {
  state.me = {
    user_id: me.user_id,
    username: me.username,
    display_name: me.display_name ?? null,
    avatar_url: me.avatar_url ?? null,
  };
  changed('all');
}

/** The server's limits from GET /version (kept across sign-outs: they are the server's). */
export function setLimits(limits) {
  state.limits = {
    max_attachment_bytes: limits.max_attachment_bytes ?? null,
    max_attachments_per_message: limits.max_attachments_per_message ?? null,
  };
  changed('limits');
}

/** A message's preview as the server cuts it: code points (an emoji is one), not UTF-16 units. */
export function previewOf(contents) {
  const points = Array.from(contents); // a string iterates by code point
  return points.length <= PREVIEW_LENGTH ? contents : points.slice(0, PREVIEW_LENGTH).join('');
}

// Threads ---------------------------------------------------------------------------------

/** Threads by latest activity, as the server orders them. */
export function sortedThreads() {
  return [...state.threads.values()].sort(
    (a, b) => b.last_activity - a.last_activity || (a.thread_id < b.thread_id ? 1 : -1),
  );
}

/** The thread list's loading state: {loading, error, hasMore}, merged into what it was. */
export function setThreadList(fields) {
  state.threadList = { ...state.threadList, ...fields };
  changed('threads');
}

export function setThreads(threads, { append = false } = {}) {
  if (!append) state.threads.clear();
  for (const thread of threads) state.threads.set(thread.thread_id, { ...thread });
  changed('threads');
}

/** Add or refresh one thread; a stale copy never rolls back what live updates already showed. */
export function putThread(thread) {
  const known = state.threads.get(thread.thread_id);
  if (known && known.last_seq > thread.last_seq) {
    Object.assign(known, { members: thread.members, title: thread.title, kind: thread.kind });
  } else {
    state.threads.set(thread.thread_id, { ...thread });
  }
  changed('threads');
  changed(`thread:${thread.thread_id}`);
}

export function dropThread(threadId) {
  state.threads.delete(threadId);
  state.conversations.delete(threadId);
  changed('threads');
  changed(`thread:${threadId}`);
}

export function otherMembers(thread) {
  return (thread?.members ?? []).filter((m) => m.user_id !== state.me?.user_id);
}

/** What a person is shown as: their display name where they set one, else their username. */
export function shownName(user) {
  return user.display_name ?? user.username;
}

/** What a thread is called: its title, else the other people's names. */
export function threadName(thread) {
  if (thread.title) return thread.title;
  const others = otherMembers(thread).map(shownName);
  if (others.length === 0) return thread.kind === 'group' ? 'Just you' : 'Unknown';
  return others.join(', ');
}

export function username(thread, userId) {
  if (userId === state.me?.user_id) return 'You';
  const member = thread?.members.find((m) => m.user_id === userId);
  return member ? shownName(member) : 'Someone';
}

export function totalUnread() {
  let total = 0;
  for (const thread of state.threads.values()) total += thread.unread_count;
  return total;
}

// The update log --------------------------------------------------------------------------

/**
 * Apply one log entry (README, "Updates"). Returns the id of a thread to fetch again when the
 * entry leaves this tab without something it needs (a thread it never saw, a new member's name).
 */
export function applyUpdate(entry) {
  switch (entry.type) {
    case 'message.new':
      return receiveMessage(entry.message);
    case 'thread.new':
      if (!state.threads.has(entry.thread.thread_id)) putThread(entry.thread);
      dropInvitation(entry.thread.thread_id); // accepted (on this device or another)
      return null;
    case 'thread.invited':
      putInvitation({ thread: entry.thread, invited_by: entry.invited_by });
      return null;
    case 'thread.read':
      readUpTo(entry.thread_id, entry.user_id, entry.last_read_seq);
      return null;
    case 'member.added':
      return state.threads.has(entry.thread_id) && entry.user_id !== state.me.user_id ? entry.thread_id : null;
    case 'member.removed':
      memberRemoved(entry.thread_id, entry.user_id);
      return null;
    case 'message.edited':
      messageChanged(entry.message);
      return null;
    case 'message.deleted':
      messageDeleted(entry);
      return null;
    case 'reaction.added':
    case 'reaction.removed':
      reactionChanged(entry, entry.type === 'reaction.added');
      return null;
    case 'user.updated':
      userUpdated(entry.user);
      return null;
    default:
      return null; // a type added after this client was written: nothing to do
  }
}

/** A message from the log or from a send's reply; applying the same one twice changes nothing. */
export function receiveMessage(message) {
  const mine = message.user_id === state.me.user_id;
  const thread = state.threads.get(message.thread_id);
  if (thread && message.seq > thread.last_seq) {
    thread.last_seq = message.seq;
    thread.last_activity = Math.max(thread.last_activity, message.timestamp);
    thread.last_message = {
      seq: message.seq,
      user_id: message.user_id,
      contents: previewOf(message.contents),
      timestamp: message.timestamp,
      deleted: Boolean(message.deleted),
      attachments: attachmentsOf(message), // the server's preview lacks them: kept from the message
    };
    if (mine) {
      // Sending marks the thread read up to your own message (README, "Read state").
      thread.last_read_seq = message.seq;
      thread.unread_count = 0;
      thread.unread_mentions = 0;
    } else if (message.seq > thread.last_read_seq && !message.deleted) {
      thread.unread_count += 1;
      if (mentionsMe(message)) thread.unread_mentions = (thread.unread_mentions ?? 0) + 1;
    }
    changed('threads');
  }
  if (!mine) {
    peerReadUpTo(message.thread_id, message.user_id, message.seq); // a sender has read its thread
    stopTyping(message.thread_id, message.user_id);
  }
  if (mine && message.client_msg_id) state.pending.delete(message.client_msg_id);
  const conversation = state.conversations.get(message.thread_id);
  if (conversation?.loading) conversation.early.push(message); // merged when the page arrives
  else if (conversation) insertMessage(conversation, message);
  changed(`thread:${message.thread_id}`);
  return thread ? null : message.thread_id;
}

/** A message's attachments; an update stored before attachments existed lacks the key. */
export function attachmentsOf(message) {
  return message?.attachments ?? [];
}

function insertMessage(conversation, message) {
  const { messages } = conversation;
  const newest = messages.at(-1);
  if (!newest || message.seq === newest.seq + 1) messages.push(message);
  else if (message.seq > newest.seq + 1) conversation.stale = true; // a gap: reload the page
  else replaceIfNewer(conversation, message); // already shown: keep the higher version
}

function mentionsMe(message) {
  return (message.mentions ?? []).includes(state.me.user_id);
}

// Changes to a message (README, Real-time delivery, Updates: "How a client applies them"): per message, keep what its highest
// version says. An update whose version is not above the message's is already reflected.

/** The loaded message at (threadId, seq), with its conversation; null when not loaded. */
export function findMessage(threadId, seq) {
  const conversation = state.conversations.get(threadId);
  const messages = conversation?.messages ?? [];
  // Seqs grow along the list, so the message sits at most `seq - first seq` places in.
  const index = messages.findIndex((m) => m.seq === seq);
  return index < 0 ? null : { conversation, index, message: messages[index] };
}

function replaceIfNewer(conversation, message) {
  const index = conversation.messages.findIndex((m) => m.seq === message.seq);
  if (index < 0 || conversation.messages[index].version >= message.version) return false;
  conversation.messages[index] = message;
  return true;
}

/** The whole message as the server now has it (an edit, or the reply to a reaction). */
export function messageChanged(message) {
  const conversation = state.conversations.get(message.thread_id);
  const before = findMessage(message.thread_id, message.seq)?.message;
  if (conversation?.loading) conversation.early.push(message);
  else if (conversation && replaceIfNewer(conversation, message)) changed(`thread:${message.thread_id}`);
  const thread = state.threads.get(message.thread_id);
  if (thread?.last_message?.seq === message.seq && !thread.last_message.deleted) {
    thread.last_message = { ...thread.last_message, contents: previewOf(message.contents), deleted: message.deleted };
    changed('threads');
  }
  // An edit may add or take away a mention of an unread message: exact only when it is loaded.
  if (thread && before && before.version < message.version && message.user_id !== state.me.user_id) {
    if (message.seq > thread.last_read_seq && mentionsMe(message) !== mentionsMe(before)) {
      thread.unread_mentions = Math.max(0, (thread.unread_mentions ?? 0) + (mentionsMe(message) ? 1 : -1));
      changed('threads');
    }
  }
}

function messageDeleted(entry) {
  const { thread_id: threadId, seq, version } = entry;
  if (deferWhileLoading(entry)) return;
  const found = findMessage(threadId, seq);
  const thread = state.threads.get(threadId);
  if (thread?.last_message?.seq === seq && !thread.last_message.deleted) {
    thread.last_message = { ...thread.last_message, contents: '', deleted: true, attachments: [] };
    changed('threads');
  }
  if (!found || found.message.version >= version) return;
  const { conversation, index, message } = found;
  if (thread && message.user_id !== state.me.user_id && seq > thread.last_read_seq && !message.deleted) {
    // Unread counts leave deleted messages out, as the server's do.
    thread.unread_count = Math.max(0, thread.unread_count - 1);
    if (mentionsMe(message)) thread.unread_mentions = Math.max(0, (thread.unread_mentions ?? 0) - 1);
    changed('threads');
  }
  const gone = { contents: '', deleted: true, reply_to: null, mentions: [], reactions: [], attachments: [] };
  conversation.messages[index] = { ...message, ...gone, version };
  conversation.messages.forEach((other, i) => {
    if (other.reply_to?.seq === seq) conversation.messages[i] = { ...other, reply_to: { ...other.reply_to, preview: '' } };
  });
  const compose = state.compose.get(threadId);
  if (compose?.seq === seq) setCompose(threadId, null); // replying to or editing what is gone
  changed(`thread:${threadId}`);
}

function reactionChanged(entry, added) {
  if (deferWhileLoading(entry)) return;
  const found = findMessage(entry.thread_id, entry.seq);
  if (!found || found.message.version >= entry.version) return;
  const { conversation, index, message } = found;
  const { emoji, user_id: userId, count } = entry;
  const reactions = [];
  let present = false;
  for (const reaction of message.reactions ?? []) {
    if (reaction.emoji !== emoji) {
      reactions.push(reaction);
      continue;
    }
    present = true;
    let userIds = reaction.user_ids.filter((id) => id !== userId);
    if (added) userIds = [...userIds, userId].slice(0, REACTION_USERS_LISTED);
    if (count > 0) reactions.push({ emoji, count, user_ids: userIds });
  }
  if (added && !present && count > 0) reactions.push({ emoji, count, user_ids: [userId] });
  conversation.messages[index] = { ...message, reactions, version: entry.version };
  changed(`thread:${entry.thread_id}`);
}

/** A change for a conversation whose first page is on its way: applied when the page arrives. */
function deferWhileLoading(entry) {
  const conversation = state.conversations.get(entry.thread_id);
  if (!conversation?.loading) return false;
  conversation.earlyChanges.push(entry);
  return true;
}

// What the compose box of a thread is doing besides writing a new message.

/** Reply to or edit a message (`{mode, seq}`), or go back to a plain new message (null). */
export function setCompose(threadId, what) {
  if (what) state.compose.set(threadId, what);
  else state.compose.delete(threadId);
  changed(`compose:${threadId}`);
}

/** Say (or stop saying, with null) why a change to a message in a thread failed. */
export function setNotice(threadId, text) {
  if ((state.notices.get(threadId) ?? null) === text) return;
  if (text) state.notices.set(threadId, text);
  else state.notices.delete(threadId);
  changed(`compose:${threadId}`);
}

/** Bring a message into view (and mark it briefly); the history clears it once shown. */
export function focusMessage(threadId, seq) {
  state.focus = seq === null ? null : { threadId, seq };
  if (threadId) changed(`thread:${threadId}`);
}

function readUpTo(threadId, userId, seq) {
  if (userId !== state.me.user_id) {
    peerReadUpTo(threadId, userId, seq);
    return;
  }
  const thread = state.threads.get(threadId);
  if (!thread || seq <= thread.last_read_seq) return;
  thread.last_read_seq = seq;
  thread.unread_count = countUnread(thread);
  if (seq >= thread.last_seq) thread.unread_mentions = 0;
  changed('threads');
}

/** Unread after the marker moved: exact when the messages are loaded, else an upper bound. */
function countUnread(thread) {
  if (thread.last_read_seq >= thread.last_seq) return 0;
  const messages = state.conversations.get(thread.thread_id)?.messages ?? [];
  const after = messages.filter((m) => m.seq > thread.last_read_seq);
  if (after.length && after[0].seq === thread.last_read_seq + 1) {
    return after.filter((m) => m.user_id !== state.me.user_id && !m.deleted).length;
  }
  return Math.min(thread.unread_count, thread.last_seq - thread.last_read_seq);
}

/** Mark read locally at once; the server's thread.read entry confirms it later. */
export function markReadLocally(threadId, seq) {
  readUpTo(threadId, state.me.user_id, seq);
}

/** The server refused a read marker: put back what it replaced, unless something moved it since. */
export function undoMarkRead(threadId, seq, before) {
  const thread = state.threads.get(threadId);
  if (thread?.last_read_seq === seq) {
    thread.last_read_seq = before.last_read_seq;
    thread.unread_count = before.unread_count;
    thread.unread_mentions = before.unread_mentions;
  }
  changed('threads');
}

function peerReadUpTo(threadId, userId, seq) {
  let readers = state.peerRead.get(threadId);
  if (!readers) state.peerRead.set(threadId, (readers = new Map()));
  if ((readers.get(userId) ?? 0) >= seq) return;
  readers.set(userId, seq);
  changed(`thread:${threadId}`);
}

function memberRemoved(threadId, userId) {
  if (userId === state.me.user_id) {
    dropThread(threadId);
    return;
  }
  const thread = state.threads.get(threadId);
  if (!thread) return;
  thread.members = thread.members.filter((m) => m.user_id !== userId);
  state.peerRead.get(threadId)?.delete(userId);
  changed('threads');
  changed(`thread:${threadId}`);
}

/** Someone renamed themselves or changed their display name: show the new one everywhere. */
export function userUpdated(user) {
  if (user.user_id === state.me?.user_id) {
    state.me = {
      ...state.me,
      username: user.username,
      display_name: user.display_name ?? null,
      avatar_url: user.avatar_url ?? null,
    };
  }
  for (const thread of state.threads.values()) {
    if (!thread.members.some((m) => m.user_id === user.user_id)) continue;
    thread.members = thread.members.map((m) =>
      m.user_id === user.user_id
        ? { ...m, username: user.username, display_name: user.display_name, avatar_url: user.avatar_url ?? null }
        : m,
    );
    changed(`thread:${thread.thread_id}`);
  }
  changed('all');
}

// Invitations and blocks -------------------------------------------------------------------

/**
 * Take GET /me/invitations' list (at start and after a reload). Merged, not replacing: one
 * that arrived live while the list was on its way stays.
 */
export function setInvitations(invitations) {
  for (const invitation of invitations) putInvitation(invitation);
  changed('invitations');
}

/** An invitation to a group this tab is not in (a thread.invited update, or the list). */
export function putInvitation({ thread, invited_by }) {
  if (state.threads.has(thread.thread_id)) return; // joined already
  state.invitations.set(thread.thread_id, { thread, invited_by });
  changed('invitations');
}

export function dropInvitation(threadId) {
  if (state.invitations.delete(threadId)) changed('invitations');
}

/** Whom you block, as the server listed them; tells views only when that changed. */
export function setBlocked(userIds) {
  const next = new Set(userIds);
  if (next.size === state.blocked.size && [...next].every((id) => state.blocked.has(id))) return;
  state.blocked = next;
  changed('blocks');
}

export function blockChanged(userId, blocked) {
  if (blocked) state.blocked.add(userId);
  else state.blocked.delete(userId);
  changed('blocks');
}

// Typing hints ------------------------------------------------------------------------------

// How long "… is typing" stays after the last hint; senders repeat it every few seconds.
const TYPING_SHOWN_MS = 5_000;
const typingTimers = new Map();

export function startTyping(threadId, userId) {
  if (userId === state.me?.user_id || !state.threads.has(threadId)) return;
  let typists = state.typing.get(threadId);
  if (!typists) state.typing.set(threadId, (typists = new Map()));
  typists.set(userId, Date.now() + TYPING_SHOWN_MS);
  const key = `${threadId} ${userId}`;
  clearTimeout(typingTimers.get(key));
  typingTimers.set(key, setTimeout(() => stopTyping(threadId, userId), TYPING_SHOWN_MS));
  changed(`typing:${threadId}`);
}

export function stopTyping(threadId, userId) {
  const typists = state.typing.get(threadId);
  if (!typists?.delete(userId)) return;
  clearTimeout(typingTimers.get(`${threadId} ${userId}`));
  typingTimers.delete(`${threadId} ${userId}`);
  changed(`typing:${threadId}`);
}

// Conversations -----------------------------------------------------------------------------

export function conversation(threadId) {
  return state.conversations.get(threadId);
}

export function setConversation(threadId, fields) {
  const current = state.conversations.get(threadId) ?? {
    messages: [], // oldest first
    early: [], // live messages that arrived while the first page was loading
    earlyChanges: [], // live deletions and reactions that arrived meanwhile
    hasOlder: false,
    loading: true,
    loadingOlder: false,
    error: null,
    stale: false,
  };
  state.conversations.set(threadId, Object.assign(current, fields));
  changed(`thread:${threadId}`);
  return current;
}

/** The newest page arrived (oldest first): show it, plus anything live that came meanwhile. */
export function conversationLoaded(threadId, messages) {
  const current = setConversation(threadId, {
    messages,
    loading: false,
    error: null,
    stale: false,
    hasOlder: messages.length > 0 && messages[0].seq > 1,
  });
  const early = current.early.sort((a, b) => a.seq - b.seq);
  const changes = current.earlyChanges;
  current.early = [];
  current.earlyChanges = [];
  for (const message of early) insertMessage(current, message);
  for (const entry of changes) applyUpdate(entry); // each skipped if the page already has it
  filesOfLastMessage(threadId, current.messages);
}

/**
 * The thread list's preview of a message of files only says which files once its page is
 * loaded: GET /threads' `last_message` has no attachments.
 */
function filesOfLastMessage(threadId, messages) {
  const last = state.threads.get(threadId)?.last_message;
  if (!last || last.deleted || last.contents || last.attachments?.length) return;
  const message = messages.find((m) => m.seq === last.seq);
  if (!attachmentsOf(message).length) return;
  last.attachments = attachmentsOf(message);
  changed('threads');
}

/**
 * Messages read again for fresh signed URLs (an image failed to load: its URL expired). A copy
 * whose version is the loaded one's or higher replaces it: the same message, newer links.
 */
export function messagesRefreshed(threadId, messages) {
  const current = state.conversations.get(threadId);
  if (!current || current.loading) return;
  let any = false;
  for (const message of messages) {
    const index = current.messages.findIndex((m) => m.seq === message.seq);
    if (index < 0 || current.messages[index].version > message.version) continue;
    current.messages[index] = message;
    any = true;
  }
  if (any) changed(`thread:${threadId}`);
}

/** Everything shown may be behind (the log expired): each conversation reloads when next shown. */
export function markConversationsStale() {
  for (const [threadId, current] of state.conversations) {
    current.stale = true;
    changed(`thread:${threadId}`);
  }
}

/** An older page arrived (oldest first): put it in front. */
export function olderLoaded(threadId, older) {
  const current = state.conversations.get(threadId);
  if (!current) return;
  const oldest = current.messages[0]?.seq ?? Infinity;
  const before = older.filter((m) => m.seq < oldest);
  current.messages = [...before, ...current.messages];
  current.hasOlder = before.length > 0 && before[0].seq > 1;
  current.loadingOlder = false;
  changed(`thread:${threadId}`);
}

/** Pending sends for a thread (or a draft 1:1 chat, target "draft:<user_id>"), oldest first. */
export function pendingFor(target) {
  return [...state.pending.values()].filter((p) => p.target === target);
}

export function putPending(entry) {
  state.pending.set(entry.client_msg_id, entry);
  changed(`thread:${entry.target}`);
}

/** A send is under way again ('pending') or has failed ('failed', with the error). */
export function setPendingStatus(clientMsgId, status, error = null) {
  const entry = state.pending.get(clientMsgId);
  if (!entry) return;
  entry.status = status;
  entry.error = error;
  changed(`thread:${entry.target}`);
}

/** A draft 1:1 chat became a thread: its pending sends now belong to that thread. */
export function movePending(fromTarget, threadId) {
  for (const entry of pendingFor(fromTarget)) {
    Object.assign(entry, { target: threadId, threadId });
    changed(`thread:${threadId}`);
  }
}

export function dropPending(clientMsgId) {
  const entry = state.pending.get(clientMsgId);
  if (!entry) return;
  state.pending.delete(clientMsgId);
  changed(`thread:${entry.target}`);
}

// Uploads: the tray above a compose box (chat.js sends the bytes) ------------------------------

/** The uploads in the tray of a thread (or of a draft 1:1 chat, "draft:<user_id>"), in order. */
export function uploadsFor(target) {
  return [...state.uploads.values()].filter((u) => u.target === target);
}

export function putUpload(entry) {
  state.uploads.set(entry.id, entry);
  changed(`uploads:${entry.target}`);
}

/** Change an upload: {status: 'queued'|'uploading'|'done'|'failed', loaded, error, attachment}. */
export function updateUpload(id, fields) {
  const entry = state.uploads.get(id);
  if (!entry) return;
  Object.assign(entry, fields);
  changed(`uploads:${entry.target}`);
}

export function dropUpload(id) {
  const entry = state.uploads.get(id);
  if (!entry) return;
  state.uploads.delete(id);
  changed(`uploads:${entry.target}`);
}

/** A draft 1:1 chat became a thread: its tray goes along. */
export function moveUploads(fromTarget, threadId) {
  for (const entry of uploadsFor(fromTarget)) entry.target = threadId;
  changed(`uploads:${threadId}`);
}

/** Remember whom a draft 1:1 chat (#/new/<user_id>) is with until its first message opens it. */
export function putDraft(user) {
  state.drafts.set(user.user_id, user);
  changed(`thread:draft:${user.user_id}`);
}

export function draft(userId) {
  return state.drafts.get(userId) ?? null;
}

export function peerReads(threadId) {
  return state.peerRead.get(threadId) ?? new Map();
}

export function setConnection(status) {
  state.connection = status;
  changed('connection');
}
