// What the user does, as calls to the API and changes to the store: loading threads and pages
// of history, sending (with retries that never duplicate), read markers, typing, membership.

import { api } from './api.js';
import * as store from './store.js';

const { state } = store;

const THREAD_PAGE = 100; // the API's largest page
const MESSAGE_PAGE = 50;
// Typing hints are relayed, never stored; one every few seconds keeps the other side's
// indicator (shown for 5 s after each hint) steady without a frame per keystroke.
const TYPING_EVERY_MS = 3_000;

let live = null;

/** The live-updates connection, for typing hints (only the socket carries them). */
export function attachLive(connection) {
  live = connection;
}

// Threads ---------------------------------------------------------------------------------

/** Load the first page of threads; resolves to the update cursor that page was read at. */
export async function loadThreads() {
  store.setThreadList({ loading: true, error: null });
  try {
    const page = await api.threads(0, THREAD_PAGE);
    store.setThreads(page.threads);
    store.setThreadList({ loading: false, error: null, hasMore: page.threads.length === THREAD_PAGE });
    return page.cursor;
  } catch (error) {
    store.setThreadList({ loading: false, error, hasMore: false });
    throw error;
  }
}

export async function loadMoreThreads() {
  if (state.threadList.loading || !state.threadList.hasMore) return;
  store.setThreadList({ loading: true });
  try {
    const start = state.threads.size;
    const page = await api.threads(start, start + THREAD_PAGE);
    store.setThreads(page.threads, { append: true });
    store.setThreadList({ loading: false, error: null, hasMore: page.threads.length === THREAD_PAGE });
  } catch (error) {
    store.setThreadList({ loading: false, error });
  }
}

/**
 * After `cursor_expired` the log no longer holds what this tab missed: reload everything it
 * shows and resume from the cursor the thread list was read at.
 */
export async function reloadAfterExpiry() {
  const cursor = await loadThreads();
  loadAccount(); // invitations that came while this tab was away
  store.markConversationsStale();
  return cursor;
}

/**
 * Who you are now (a rename on another device), whom you block and the groups you are invited
 * to: read at start and after a reload. Failures only leave these as they were.
 */
export async function loadAccount() {
  const stillHere = store.current();
  const [me, blocks, invitations] = await Promise.allSettled([api.me(), api.blocks(), api.invitations()]);
  if (!stillHere()) return; // signed out, or another account, meanwhile
  if (me.status === 'fulfilled') store.userUpdated(me.value);
  if (blocks.status === 'fulfilled') store.setBlocked(blocks.value.blocks.map((b) => b.user_id));
  if (invitations.status === 'fulfilled') store.setInvitations(invitations.value.invitations);
}

/** Join a group you were invited to (accept) or turn it down; nobody is told of a no. */
export async function answerInvitation(threadId, accept) {
  const stillHere = store.current();
  let reply;
  try {
    reply = await api.answerInvitation(threadId, accept);
  } catch (error) {
    // Answered on another device (joined: 409; declined, or the group is gone: 404): the
    // log says nothing of a decline, so this is where the stale invitation goes.
    if (stillHere() && ['thread_not_found', 'already_a_member'].includes(error.code)) {
      store.dropInvitation(threadId);
      if (error.code === 'already_a_member') refreshThread(threadId);
    }
    throw error;
  }
  if (!stillHere()) return reply;
  store.dropInvitation(threadId);
  if (reply.thread) store.putThread(reply.thread);
  return reply;
}

export async function setBlocked(userId, blocked) {
  const stillHere = store.current();
  await (blocked ? api.block(userId) : api.unblock(userId));
  if (stillHere()) store.blockChanged(userId, blocked);
}

// One fetch per thread at a time, however many entries ask for it.
const refreshing = new Map();

/** Fetch one thread again (one this tab never saw, or a new member's name). */
export function refreshThread(threadId) {
  if (!refreshing.has(threadId)) {
    const done = api
      .thread(threadId)
      .then((reply) => store.putThread(reply.thread))
      .catch((error) => {
        if (error.code === 'thread_not_found') store.dropThread(threadId);
      })
      .finally(() => refreshing.delete(threadId));
    refreshing.set(threadId, done);
  }
  return refreshing.get(threadId);
}

/** Apply one log entry, fetching whatever it leaves this tab missing. */
export function applyUpdate(entry) {
  const missing = store.applyUpdate(entry);
  if (missing) refreshThread(missing);
}

export function isRefreshing(threadId) {
  return refreshing.has(threadId);
}

export function directThreadWith(userId) {
  for (const thread of state.threads.values()) {
    if (thread.kind === 'direct' && thread.members.some((m) => m.user_id === userId)) return thread;
  }
  return null;
}

// History ---------------------------------------------------------------------------------

/** Load the newest page of a thread unless it is already shown and current. */
export async function openConversation(threadId) {
  const current = store.conversation(threadId);
  if (current && (current.loading || (!current.stale && !current.error))) return;
  store.setConversation(threadId, { loading: true, error: null, early: [], earlyChanges: [] });
  try {
    const { messages } = await api.latestMessages(threadId, MESSAGE_PAGE);
    store.conversationLoaded(threadId, messages.reverse());
  } catch (error) {
    store.setConversation(threadId, { loading: false, error });
    if (error.code === 'thread_not_found') store.dropThread(threadId);
  }
}

const loadingOlder = new Map(); // thread_id → the older page on its way

/** Load the page before the oldest message shown (`before_seq`: as cheap at any depth). */
export function loadOlder(threadId) {
  if (loadingOlder.has(threadId)) return loadingOlder.get(threadId);
  const current = store.conversation(threadId);
  if (!current || current.loading || current.loadingOlder || !current.hasOlder) return Promise.resolve();
  store.setConversation(threadId, { loadingOlder: true, olderError: null });
  const done = api
    .messagesBefore(threadId, current.messages[0].seq, MESSAGE_PAGE)
    .then(({ messages }) => store.olderLoaded(threadId, messages.reverse()))
    .catch((error) => store.setConversation(threadId, { loadingOlder: false, olderError: error }))
    .finally(() => loadingOlder.delete(threadId));
  loadingOlder.set(threadId, done);
  return done;
}

/** Bring message `seq` into view (a quote was clicked), loading older pages until it is there. */
export async function showMessage(threadId, seq) {
  for (;;) {
    const current = store.conversation(threadId);
    if (!current || current.loading) return;
    if (store.findMessage(threadId, seq) || !current.hasOlder || current.olderError) break;
    await loadOlder(threadId);
    if (store.conversation(threadId)?.olderError) return;
  }
  if (store.findMessage(threadId, seq)) store.focusMessage(threadId, seq);
}

// Changing messages ---------------------------------------------------------------------------
// Replies that carry the message are applied at once (by version, so the log's copy of the same
// change is skipped); a 204 (delete, unreact) is shown when its update arrives, moments later.

/** Save new contents for one of your messages. */
export async function editMessage(threadId, seq, contents) {
  const { message } = await api.editMessage(threadId, seq, contents);
  store.messageChanged(message);
}

export async function deleteMessage(threadId, seq) {
  await api.deleteMessage(threadId, seq);
}

/** React with `emoji`, or take your reaction back if you already reacted with it. */
export async function toggleReaction(threadId, seq, emoji) {
  const message = store.findMessage(threadId, seq)?.message;
  const reaction = message?.reactions.find((r) => r.emoji === emoji);
  if (reaction?.user_ids.includes(state.me.user_id)) {
    await api.unreact(threadId, seq, emoji);
  } else {
    const reply = await api.react(threadId, seq, emoji);
    store.messageChanged(reply.message);
  }
}

// Sending ---------------------------------------------------------------------------------

/** An id for one message the user typed, kept across retries so the server stores it once. */
export function newClientMsgId() {
  // getRandomValues, not randomUUID: the latter exists only on https or localhost pages.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `web-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/**
 * Send `contents` to a thread, or to the person of a draft 1:1 chat ({userId}), which opens the
 * thread with it. The message shows at once as pending; the server's copy replaces it when the
 * reply or the live update arrives, whichever is first (matched by client_msg_id).
 */
export function send(to, contents, { replyTo = null } = {}) {
  const entry = {
    reply_to_seq: replyTo,
    client_msg_id: newClientMsgId(),
    target: to.threadId ?? `draft:${to.userId}`,
    threadId: to.threadId ?? null,
    userId: to.userId ?? null,
    user_id: state.me.user_id, // shown like the server's copy: as ours
    contents,
    timestamp: Date.now(),
    status: 'pending',
    error: null,
  };
  store.putPending(entry);
  deliver(entry);
}

async function deliver(entry) {
  store.setPendingStatus(entry.client_msg_id, 'pending');
  const message = {
    user_id: state.me.user_id,
    contents: entry.contents,
    timestamp: entry.timestamp,
    client_msg_id: entry.client_msg_id,
    ...(entry.reply_to_seq ? { reply_to: entry.reply_to_seq } : {}),
  };
  try {
    if (entry.threadId) {
      const reply = await api.send(entry.threadId, message);
      store.receiveMessage(reply.message);
    } else {
      // Creating the 1:1 thread again is safe: the API returns the existing one (and the
      // same client_msg_id returns the same message).
      const reply = await api.createThread([state.me.user_id, entry.userId], message);
      store.putThread(reply.thread);
      store.receiveMessage(reply.message);
    }
  } catch (error) {
    // Unless the live copy arrived meanwhile (and took the entry away): then it was sent.
    store.setPendingStatus(entry.client_msg_id, 'failed', error);
  }
}

/** Send a failed message again, with the same client_msg_id: the server never stores it twice. */
export function retry(clientMsgId) {
  const entry = state.pending.get(clientMsgId);
  if (entry && entry.status === 'failed') deliver(entry);
}

export function discard(clientMsgId) {
  store.dropPending(clientMsgId);
}

/** Open a group with a title, members and a first message; a retry reuses `clientMsgId`. */
export async function createGroup(title, userIds, contents, clientMsgId) {
  const message = { user_id: state.me.user_id, contents, timestamp: Date.now(), client_msg_id: clientMsgId };
  const reply = await api.createThread([state.me.user_id, ...userIds], message, title || null);
  store.putThread(reply.thread);
  store.receiveMessage(reply.message);
  return reply.thread.thread_id;
}

// Read markers and typing -------------------------------------------------------------------

const marking = new Map(); // thread_id → seq being sent

/** Mark everything in a thread read (the user is looking at it). */
export function markRead(threadId) {
  const thread = state.threads.get(threadId);
  if (!thread || thread.last_read_seq >= thread.last_seq) return;
  const seq = thread.last_seq;
  if ((marking.get(threadId) ?? 0) >= seq) return;
  marking.set(threadId, seq);
  const before = {
    last_read_seq: thread.last_read_seq,
    unread_count: thread.unread_count,
    unread_mentions: thread.unread_mentions,
  };
  store.markReadLocally(threadId, seq);
  api
    .markRead(threadId, seq)
    // The server kept the old marker: show that, so the next look at the thread retries.
    .catch(() => store.undoMarkRead(threadId, seq, before))
    .finally(() => {
      if (marking.get(threadId) === seq) marking.delete(threadId);
    });
}

let lastTyping = { threadId: null, at: 0 };

/** The user typed in a thread's compose box: tell the others, at most every few seconds. */
export function typing(threadId) {
  const now = Date.now();
  if (lastTyping.threadId === threadId && now - lastTyping.at < TYPING_EVERY_MS) return;
  if (live?.sendTyping(threadId)) lastTyping = { threadId, at: now };
}

/** The user sent: the next keystroke may announce typing again at once. */
export function typingStopped() {
  lastTyping = { threadId: null, at: 0 };
}

// People and membership ---------------------------------------------------------------------

export async function searchUsers(prefix, signal) {
  const { users } = await api.searchUsers(prefix, signal);
  return users.filter((user) => user.user_id !== state.me.user_id);
}

export async function addMembers(threadId, userIds) {
  const { thread } = await api.addMembers(threadId, userIds);
  store.putThread(thread);
}

export async function removeMember(threadId, userId) {
  await api.removeMember(threadId, userId);
  store.applyUpdate({ type: 'member.removed', thread_id: threadId, user_id: userId }); // the log confirms it
}
