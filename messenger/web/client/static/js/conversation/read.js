// Read markers both ways: the thread is marked read while the user can see it, and "Seen" tells
// the sender that the others have read their newest message.

import * as chat from '../chat.js';
import { peerReads, state, username } from '../store.js';

/** Mark the whole thread read if the page is in front of the user (not in a background tab). */
export function markReadIfVisible(threadId) {
  if (document.visibilityState === 'visible') chat.markRead(threadId);
}

/** Mark the thread read whenever the page comes back into view; returns the function that stops. */
export function markReadOnReturn(threadId) {
  const onVisible = () => markReadIfVisible(threadId);
  document.addEventListener('visibilitychange', onVisible);
  return () => document.removeEventListener('visibilitychange', onVisible);
}

/** "Seen" (1:1) or "Seen by …" (group) under the newest message, when it is yours and was read. */
export function seenText(thread, messages) {
  const newest = messages.at(-1);
  if (!thread || !newest || newest.user_id !== state.me.user_id) return null;
  const readers = [];
  for (const [userId, seq] of peerReads(thread.thread_id)) {
    if (seq >= newest.seq && userId !== state.me.user_id) readers.push(username(thread, userId));
  }
  if (readers.length === 0) return null;
  return thread.kind === 'direct' ? 'Seen' : `Seen by ${readers.join(', ')}`;
}
