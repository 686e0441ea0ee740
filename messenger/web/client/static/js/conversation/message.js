// The rows of a conversation: a day separator when the day changes, one row per message (sent,
// pending or failed, with Retry and Discard), and "Seen" under the newest message.

import { h } from '../dom.js';
import { describeError } from '../api.js';
import { clockTime, dayLabel, daysBetween, fullStamp, isoTime } from '../format.js';
import * as chat from '../chat.js';
import { state, username } from '../store.js';
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
  return {
    mine,
    status,
    continues,
    author: !mine && thread?.kind === 'group' && !continues ? username(thread, message.user_id) : null,
    error: status === 'failed' ? describeError(message.error) : null,
  };
}

function messageRow(message, shape) {
  const meta = [
    h('time', { datetime: isoTime(message.timestamp), title: fullStamp(message.timestamp), text: clockTime(message.timestamp) }),
  ];
  if (shape.status === 'pending') meta.push(h('span', { class: 'state', text: 'Sending…' }));
  if (shape.status === 'failed') {
    meta.push(
      h('span', { class: 'state failed', text: 'Not sent' }),
      h('button', { type: 'button', class: 'link', text: 'Retry', onclick: () => chat.retry(message.client_msg_id) }),
      h('button', { type: 'button', class: 'link', text: 'Discard', onclick: () => chat.discard(message.client_msg_id) }),
    );
  }
  return h(
    'li',
    {
      class: ['msg', shape.mine ? 'mine' : 'theirs', shape.continues && 'continues'],
      dataset: { seq: message.seq ?? '', status: shape.status, clientMsgId: message.client_msg_id ?? '' },
    },
    shape.author && h('span', { class: 'author', text: shape.author }),
    h('p', { class: 'bubble', text: message.contents }), // text only: never parsed as HTML
    h('span', { class: 'meta' }, meta),
    shape.error && h('span', { class: 'send-error', text: shape.error }),
  );
}
