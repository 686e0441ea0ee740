// What the user does, as calls to the API and changes to the store: loading threads and pages
// of history, sending (with retries that never duplicate), uploading files for the compose box's
// tray, fresh signed URLs for attachments, read markers, typing, membership.

import { api, upload } from './api.js';
import { humanSize } from './format.js';
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

/** The server's limits (GET /version), checked before a file is uploaded; unknown on failure. */
export async function loadLimits() {
  try {
    const { limits } = await api.version();
    store.setLimits(limits);
  } catch {
    // An older server, or a network hiccup: the server still refuses what is too large.
  }
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

// Signed attachment URLs expire (ATTACHMENT_URL_TTL_S): an image that fails to load, or a
// download whose link has expired, has its page of history read again for fresh URLs, once per
// failed URL, so a tab left open for hours still shows its images. A fresh URL that fails too
// is tried again only when a later read brings yet another one.
const refreshedFor = new Set(); // the failed URLs whose messages were read again

/**
 * Read again the page of history that ends at message `seq` (it carries fresh signed URLs),
 * because `failedUrl` of it did not load. Resolves to whether it asked the server.
 */
export async function refreshAttachments(threadId, seq, failedUrl) {
  if (refreshedFor.has(failedUrl)) return false;
  if (refreshedFor.size > 1000) refreshedFor.clear();
  refreshedFor.add(failedUrl);
  const stillHere = store.current();
  try {
    const { messages } = await api.messagesBefore(threadId, seq + 1, MESSAGE_PAGE);
    if (stillHere()) store.messagesRefreshed(threadId, messages);
  } catch {
    // The image stays broken for now; the next failure of another URL tries again.
  }
  return true;
}

/** Whether a signed URL (".../attachments/<id>?expires=<s>&signature=...") is past, or nearly. */
export function urlExpired(url, marginMs = 10_000) {
  const expires = Number(new URL(url, window.location.href).searchParams.get('expires'));
  return Boolean(expires) && expires * 1000 < Date.now() + marginMs;
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
export function send(to, contents, { replyTo = null, attachments = [] } = {}) {
  const entry = {
    reply_to_seq: replyTo,
    client_msg_id: newClientMsgId(),
    target: to.threadId ?? `draft:${to.userId}`,
    threadId: to.threadId ?? null,
    userId: to.userId ?? null,
    user_id: state.me.user_id, // shown like the server's copy: as ours
    contents,
    attachments, // the uploads' attachment objects, in order: shown while pending, ids sent
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
    ...(entry.attachments.length ? { attachments: entry.attachments.map((a) => a.attachment_id) } : {}),
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

// Uploads ---------------------------------------------------------------------------------
// Files go to the tray of a compose box one POST /attachments each, a few at a time; the
// message that carries them is sent once every one is done (composer.js).

const PARALLEL_UPLOADS = 2;
const uploading = new Map(); // upload id → its abort()
let uploadCount = 0;

const isImage = (type) => /^image\/(jpeg|png|webp|gif)$/.test(type ?? '');

/**
 * Put `files` in the tray of `target` and start uploading them. Returns a sentence about those
 * refused here, before any byte is sent (too large, or more than a message can carry), or null.
 */
export function attach(target, files) {
  const { max_attachment_bytes: maxBytes, max_attachments_per_message: maxCount } = state.limits;
  const refused = [];
  let room = maxCount === null ? Infinity : maxCount - store.uploadsFor(target).length;
  for (const file of files) {
    if (maxBytes !== null && file.size > maxBytes) {
      refused.push(`${file.name || 'This file'} is ${humanSize(file.size)}: files can be at most ${humanSize(maxBytes)}.`);
      continue;
    }
    if (room <= 0) {
      refused.push(`A message can carry at most ${maxCount} files: ${file.name || 'this one'} was left out.`);
      continue;
    }
    room -= 1;
    uploadCount += 1;
    store.putUpload({
      id: `upload-${uploadCount}`,
      target,
      file,
      name: file.name || 'file',
      size: file.size,
      image: isImage(file.type),
      loaded: 0,
      status: 'queued',
      error: null,
      attachment: null,
    });
  }
  pumpUploads();
  return refused.length ? refused.join(' ') : null;
}

/** Start queued uploads while fewer than PARALLEL_UPLOADS are under way. */
function pumpUploads() {
  for (const entry of state.uploads.values()) {
    if (uploading.size >= PARALLEL_UPLOADS) return;
    if (entry.status === 'queued') startUpload(entry);
  }
}

function startUpload(entry) {
  const stillHere = store.current();
  const { id } = entry;
  store.updateUpload(id, { status: 'uploading', loaded: 0, error: null });
  const { done, abort } = upload(entry.file, { progress: (loaded) => store.updateUpload(id, { loaded }) });
  uploading.set(id, abort);
  done
    .then((attachment) => {
      if (stillHere()) store.updateUpload(id, { status: 'done', loaded: entry.size, attachment });
    })
    .catch((error) => {
      if (stillHere() && error.name !== 'AbortError') store.updateUpload(id, { status: 'failed', error });
    })
    .finally(() => {
      uploading.delete(id);
      if (stillHere()) pumpUploads();
    });
}

/** Stop an upload under way (or not yet started) and take it out of the tray. */
export function cancelUpload(id) {
  uploading.get(id)?.();
  store.dropUpload(id);
}

/** Upload a failed file again. */
export function retryUpload(id) {
  const entry = state.uploads.get(id);
  if (entry?.status !== 'failed') return;
  store.updateUpload(id, { status: 'queued', error: null, loaded: 0 });
  pumpUploads();
}

/** Stop every upload under way (signing out). */
export function abortUploads() {
  for (const abort of uploading.values()) abort();
}

/** Take a file out of the tray (a finished upload stays on the server until the pruner's turn). */
export function removeUpload(id) {
  cancelUpload(id);
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
