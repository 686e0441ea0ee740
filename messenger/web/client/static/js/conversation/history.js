// A conversation's scrolling history: newest at the bottom, the status line above it (loading,
// errors, the beginning), older pages fetched on scroll up, the reader's place kept while rows
// are added, and "New messages ↓" when something arrives out of view.

import { atBottom, h, replace } from '../dom.js';
import { describeError } from '../api.js';
import * as chat from '../chat.js';
import { conversation as conversationOf, focusMessage, state } from '../store.js';
import { conversationRows } from './message.js';
import { keyedList } from './rows.js';

const LOAD_OLDER_WITHIN_PX = 200; // start fetching older history this close to the top
const FLASH_MS = 2_000; // how long a message a quote jumped to stays marked

/** The history of a thread ({threadId}) or of a draft 1:1 chat with `draftUser` (threadId null). */
export function createHistory({ threadId, draftUser }) {
  const status = h('div', { class: 'history-status' });
  const list = h('ol', { class: 'message-list' });
  const scroller = h(
    'div',
    { class: 'messages', role: 'log', 'aria-label': 'Messages', tabindex: '0' },
    status,
    list,
  );
  const jump = h('button', {
    type: 'button',
    class: 'jump',
    text: 'New messages ↓',
    hidden: true,
    onclick: () => scrollToBottom(),
  });
  const element = h('div', { class: 'messages-wrap' }, scroller, jump);
  const rows = keyedList(list);

  let follow = true; // scroll to the bottom on the next render, wherever the reader is
  let shownNewest = 0; // newest seq rendered, to tell a new arrival from a re-render

  /** Show `conversation` (undefined until its first page is asked for) and the pending sends. */
  function render(thread, conversation, pending) {
    const messages = conversation?.messages ?? [];
    const stick = follow || atBottom(scroller);
    const anchor = stick ? null : captureAnchor();
    renderStatus(conversation, messages);
    rows.show(conversationRows(thread, messages, pending));

    const newest = messages.at(-1)?.seq ?? 0;
    const arrived = newest > shownNewest && !follow;
    shownNewest = Math.max(shownNewest, newest);
    if (stick) {
      scrollToBottom();
    } else {
      restoreAnchor(anchor);
      if (arrived && messages.at(-1).user_id !== state.me.user_id) jump.hidden = false;
    }
    if (conversation && !conversation.loading) follow = false;
    if (!threadId) follow = false;
    if (state.focus?.threadId === threadId && showFocused(state.focus.seq)) return;
    maybeLoadOlder();
  }

  /** Scroll a message (a quote's original) into the middle and mark it for a moment. */
  function showFocused(seq) {
    const row = list.querySelector(`:scope > .msg[data-seq="${seq}"]`);
    if (!row) return false;
    focusMessage(null, null);
    follow = false;
    row.scrollIntoView({ block: 'center' });
    row.focus({ preventScroll: true });
    row.classList.add('flash');
    setTimeout(() => row.classList.remove('flash'), FLASH_MS);
    return true;
  }

  /** The thread is not in this tab's list: still looking for it, or it is gone. */
  function renderMissing(loading) {
    replace(
      status,
      h('p', {
        class: loading ? 'muted center' : 'error-text center',
        text: loading ? 'Loading…' : "This conversation doesn't exist, or you're no longer in it.",
      }),
    );
    rows.clear();
  }

  function renderStatus(conversation, messages) {
    let content = null;
    if (!threadId) {
      content = h('p', {
        class: 'muted center',
        text: `This is the start of your conversation with ${draftUser.username}. Say hello!`,
      });
    } else if (!conversation || conversation.loading) {
      content = h('p', { class: 'muted center', text: 'Loading messages…' });
    } else if (conversation.error) {
      content = h(
        'p',
        { class: 'error-text center' },
        `${describeError(conversation.error)} `,
        h('button', { type: 'button', class: 'link', text: 'Try again', onclick: () => chat.openConversation(threadId) }),
      );
    } else if (conversation.loadingOlder) {
      content = h('p', { class: 'muted center', text: 'Loading earlier messages…' });
    } else if (conversation.olderError) {
      content = h(
        'p',
        { class: 'error-text center' },
        'Could not load earlier messages. ',
        h('button', { type: 'button', class: 'link', text: 'Try again', onclick: () => chat.loadOlder(threadId) }),
      );
    } else if (!conversation.hasOlder && messages.length) {
      content = h('p', { class: 'muted center small', text: 'This is the beginning of the conversation.' });
    }
    replace(status, content);
  }

  // Keep what the reader is looking at in place while rows are added above or below it.
  function captureAnchor() {
    for (const row of list.querySelectorAll(':scope > .msg')) {
      if (row.offsetTop + row.offsetHeight > scroller.scrollTop) {
        return { key: row.dataset.key, offset: row.offsetTop - scroller.scrollTop };
      }
    }
    return null;
  }

  function restoreAnchor(anchor) {
    if (!anchor) return;
    const row = list.querySelector(`[data-key="${CSS.escape(anchor.key)}"]`);
    if (row) scroller.scrollTop = row.offsetTop - anchor.offset;
  }

  function scrollToBottom() {
    scroller.scrollTop = scroller.scrollHeight;
    jump.hidden = true;
  }

  function maybeLoadOlder() {
    const conversation = threadId ? conversationOf(threadId) : null;
    if (!conversation || conversation.loading || !conversation.hasOlder || conversation.olderError) return;
    if (scroller.scrollTop < LOAD_OLDER_WITHIN_PX) chat.loadOlder(threadId);
  }

  scroller.addEventListener('scroll', () => {
    if (atBottom(scroller)) jump.hidden = true;
    maybeLoadOlder();
  });

  return {
    element,
    render,
    renderMissing,
    /** Bring the next render's newest rows into view (what the user just sent, say). */
    followNext() {
      follow = true;
    },
  };
}
