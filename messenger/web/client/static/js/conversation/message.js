// The rows of a conversation: a day separator when the day changes, one row per message (sent,
// pending or failed, with Retry and Discard), and "Seen" under the newest message. A sent
// message shows what it answers, its files (attachments.js), its reactions, "edited", and its
// actions (actions.js).

import { h } from '../dom.js';
import { describeError } from '../api.js';
import { clockTime, dayLabel, daysBetween, filesPreview, fullStamp, isoTime } from '../format.js';
import * as chat from '../chat.js';
import { attachmentsOf, findMessage, previewOf, state, username } from '../store.js';
import { messageActions, reactionChips } from './actions.js';
import { attachmentList, attachmentShape } from './attachments.js';
import { withMentions } from './mentions.js';
import { seenText } from './read.js';

const GROUP_WITHIN_MS = 5 * 60_000; // consecutive messages from one person closer than this share a block

/**
 * The rows for server messages (oldest first) followed by pending sends, as [{key, signature,
 * build}]: a row is rebuilt only when its signature changes (see rows.js).
 */
export function conversationRows(thread, messages, pending) {
  const rows = [];
  const seen = seenText(thread, messages);
  let previous = null;
  for (const message of [...messages, ...pending]) {
    const when = message.timestamp;
    const key = message.message_id ?? message.client_msg_id;
    if (!previous || daysBetween(previous.timestamp, when) !== 0) {
      const label = dayLabel(when);
      rows.push({ key: `day:${key}`, signature: label, build: () => dayRow(label) });
      previous = null;
    }
    const shape = messageShape(thread, message, previous);
    rows.push({ key, signature: JSON.stringify(shape), build: () => messageRow(message, shape) });
    if (seen && message === messages.at(-1)) {
      rows.push({ key: 'seen', signature: seen, build: () => h('li', { class: 'seen', text: seen }) });
    }
    previous = message;
  }
  return rows;
}

function dayRow(label) {
  return h('li', { class: 'day', role: 'separator' }, h('span', { text: label }));
}

/** What a message row shows besides its text: a row is rebuilt only when this changes. */
function messageShape(thread, message, previous) {
  const mine = message.user_id === state.me.user_id;
  const status = message.status ?? 'sent'; // pending entries carry a status; server messages are sent
  const continues = Boolean(
    previous &&
      previous.user_id === message.user_id &&
      message.timestamp - previous.timestamp < GROUP_WITHIN_MS &&
      (previous.status ?? 'sent') === 'sent',
  );
  const sent = status === 'sent' && Boolean(thread);
  const quote = message.reply_to ?? pendingQuote(thread, message);
  return {
    mine,
    status,
    continues,
    author: !mine && thread?.kind === 'group' && !continues ? username(thread, message.user_id) : null,
    error: status === 'failed' ? describeError(message.error) : null,
    // What changes with edits, deletions and reactions (a quote loses its text without a new
    // version of the reply, when the quoted message is deleted).
    version: message.version ?? 0,
    contents: message.contents,
    deleted: Boolean(message.deleted),
    attachments: message.deleted ? [] : attachmentsOf(message).map(attachmentShape), // with their URLs
    edited: message.edited_at && !message.deleted ? message.edited_at : null,
    quote: quote ? { seq: quote.seq, who: username(thread, quote.user_id), preview: quotePreview(thread, quote) } : null,
    mentioned: mentionedNames(thread, message),
    reactions: sent ? reactionShapes(thread, message) : [],
    canAct: sent && !message.deleted,
    canEdit: sent && mine && !message.deleted,
    canDelete: sent && !message.deleted && (mine || (thread.kind === 'group' && thread.created_by === state.me.user_id)),
  };
}

/** What a pending reply answers, from the loaded message (the server's copy will say it too). */
function pendingQuote(thread, message) {
  const quoted = message.reply_to_seq && thread ? findMessage(thread.thread_id, message.reply_to_seq)?.message : null;
  return quoted ? { seq: quoted.seq, user_id: quoted.user_id, preview: previewOf(quoted.contents) } : null;
}

/**
 * A quote's text; a message of files only has none ('' is also what a deleted one has): the
 * quoted message, when loaded, says which it is.
 */
function quotePreview(thread, quote) {
  if (quote.preview || !thread) return quote.preview;
  const quoted = findMessage(thread.thread_id, quote.seq)?.message;
  return quoted && !quoted.deleted && attachmentsOf(quoted).length ? filesPreview(attachmentsOf(quoted)) : '';
}

/** The usernames (lower case) this message calls by @name: the server's list, while members. */
function mentionedNames(thread, message) {
  const members = thread?.members ?? [];
  const ids = message.mentions ?? members.map((m) => m.user_id); // a pending send: any member
  return members.filter((m) => ids.includes(m.user_id)).map((m) => [m.username.toLowerCase(), m.user_id]);
}

function reactionShapes(thread, message) {
  return (message.reactions ?? []).map((reaction) => {
    const names = reaction.user_ids.map((id) => (id === state.me.user_id ? 'You' : username(thread, id)));
    const others = reaction.count - reaction.user_ids.length;
    if (others > 0) names.push(others === 1 ? '1 other' : `${others} others`);
    return {
      emoji: reaction.emoji,
      count: reaction.count,
      mine: reaction.user_ids.includes(state.me.user_id),
      who: names.join(', '),
    };
  });
}

function messageRow(message, shape) {
  const meta = [
    h('time', { datetime: isoTime(message.timestamp), title: fullStamp(message.timestamp), text: clockTime(message.timestamp) }),
  ];
  if (shape.edited) {
    meta.push(h('span', { class: 'edited', title: `Edited ${fullStamp(shape.edited)}`, text: 'edited' }));
  }
  if (shape.status === 'pending') meta.push(h('span', { class: 'state', text: 'Sending…' }));
  if (shape.status === 'failed') {
    meta.push(
      h('span', { class: 'state failed', text: 'Not sent' }),
      h('button', { type: 'button', class: 'link', text: 'Retry', onclick: () => chat.retry(message.client_msg_id) }),
      h('button', { type: 'button', class: 'link', text: 'Discard', onclick: () => chat.discard(message.client_msg_id) }),
    );
  }
  const threadId = message.thread_id ?? message.threadId;
  const files = shape.attachments.length > 0 ? attachmentList(threadId, message.seq ?? null, shape.attachments) : null;
  let bubble = null;
  if (shape.deleted) bubble = h('p', { class: 'bubble deleted', text: 'Message deleted' });
  else if (shape.contents || !files) bubble = h('p', { class: 'bubble' }, withMentions(shape.contents, shape.mentioned)); // text nodes only
  return h(
    'li',
    {
      class: ['msg', shape.mine ? 'mine' : 'theirs', shape.continues && 'continues', shape.deleted && 'is-deleted'],
      dataset: { seq: message.seq ?? '', status: shape.status, clientMsgId: message.client_msg_id ?? '' },
      tabindex: shape.status === 'sent' ? '-1' : null, // focusable when a quote jumps to it
    },
    shape.author && h('span', { class: 'author', text: shape.author }),
    shape.quote && quoteButton(threadId, shape.quote),
    h(
      'div',
      { class: 'bubble-row' },
      h('div', { class: 'msg-content' }, files, bubble),
      shape.canAct && messageActions(threadId, message.seq, shape),
    ),
    shape.reactions.length > 0 && reactionChips(threadId, message.seq, shape.reactions),
    h('span', { class: 'meta' }, meta),
    shape.error && h('span', { class: 'send-error', text: shape.error }),
  );
}

/** What a reply answers: who wrote it and its start; a click brings it into view. */
function quoteButton(threadId, quote) {
  const preview = quote.preview
    ? h('span', { class: 'quote-text', text: quote.preview })
    : h('span', { class: 'quote-text gone', text: 'Message deleted' });
  return h(
    'button',
    {
      type: 'button',
      class: 'quote',
      title: 'Show the message this replies to',
      onclick: () => chat.showMessage(threadId, quote.seq),
    },
    h('span', { class: 'quote-who', text: quote.who }),
    preview,
  );
}
