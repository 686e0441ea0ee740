// One conversation: history (newest at the bottom, older pages on scroll up), day separators,
// pending/failed sends, "Seen", the typing line and the compose box.

import { atBottom, avatar, h, replace } from '../dom.js';
import { describeError } from '../api.js';
import { clockTime, dayLabel, daysBetween, fullStamp, isoTime } from '../format.js';
import * as chat from '../chat.js';
import * as store from '../store.js';
import { membersDialog } from './dialogs.js';

const { state } = store;

const LOAD_OLDER_WITHIN_PX = 200; // start fetching older history this close to the top
const GROUP_WITHIN_MS = 5 * 60_000; // consecutive messages from one person closer than this share a block

/**
 * Show a thread ({threadId}) or a 1:1 chat about to start ({userId}) in `container`.
 * Returns {destroy} to stop listening when another one is opened.
 */
export function mountConversation(container, { threadId = null, userId = null }) {
  const target = threadId ?? `draft:${userId}`;
  const draftUser = userId ? store.draft(userId) : null;

  const title = h('h2', { class: 'conv-name' });
  const subtitle = h('p', { class: 'conv-sub muted' });
  const headAvatar = h('span', { class: 'conv-avatar' });
  const membersButton = h('button', {
    type: 'button',
    class: 'button subtle small',
    text: 'Members',
    hidden: true,
    onclick: () => membersDialog(threadId),
  });
  const historyStatus = h('div', { class: 'history-status' });
  const list = h('ol', { class: 'message-list' });
  const scroller = h(
    'div',
    { class: 'messages', role: 'log', 'aria-label': 'Messages', tabindex: '0' },
    historyStatus,
    list,
  );
  const jump = h('button', {
    type: 'button',
    class: 'jump',
    text: 'New messages ↓',
    hidden: true,
    onclick: () => scrollToBottom(),
  });
  const typingLine = h('p', { class: 'typing-line', 'aria-live': 'polite' });
  const input = h('textarea', {
    id: 'composer-input',
    rows: 1,
    autocomplete: 'off',
    'aria-describedby': 'composer-hint',
    enterkeyhint: 'send',
  });
  const sendButton = h('button', { type: 'submit', class: 'button primary send', text: 'Send' });
  const composer = h(
    'form',
    { class: 'composer', novalidate: true, onsubmit: (event) => (event.preventDefault(), submit()) },
    h('label', { for: 'composer-input', class: 'visually-hidden', text: 'Message' }),
    input,
    sendButton,
    h('p', { id: 'composer-hint', class: 'composer-hint muted small', text: 'Enter to send · Shift+Enter for a new line' }),
  );
  const view = h(
    'div',
    { class: 'conversation-view' },
    h(
      'header',
      { class: 'conv-head' },
      h('a', { class: 'back icon-button', href: '#/', 'aria-label': 'Back to conversations', text: '‹' }),
      headAvatar,
      h('div', { class: 'conv-title' }, title, subtitle),
      membersButton,
    ),
    h('div', { class: 'messages-wrap' }, scroller, jump),
    typingLine,
    composer,
  );
  replace(container, view);

  let firstRender = true;
  let shownNewest = 0; // newest seq rendered, to tell a new arrival from a re-render
  const rowCache = new Map(); // row key → {signature, element}

  function thread() {
    return threadId ? state.threads.get(threadId) : null;
  }

  function renderHead() {
    const t = thread();
    const name = t ? store.threadName(t) : draftUser?.username ?? '';
    title.textContent = name || 'Conversation';
    replace(headAvatar, name ? avatar(name, threadId ?? userId, t?.kind === 'group' ? 'group' : null) : null);
    if (t?.kind === 'group') {
      subtitle.textContent = `${t.members.length} members: ${t.members.map((m) => m.username).join(', ')}`;
    } else {
      subtitle.textContent = t || draftUser ? 'Direct message' : '';
    }
    membersButton.hidden = t?.kind !== 'group';
    input.placeholder = name ? `Message ${name}` : 'Message';
  }

  function renderTyping() {
    const t = thread();
    const typists = [...(state.typing.get(threadId)?.keys() ?? [])].map((id) => store.username(t, id));
    if (typists.length === 0) typingLine.textContent = '';
    else if (typists.length === 1) typingLine.textContent = `${typists[0]} is typing…`;
    else if (typists.length === 2) typingLine.textContent = `${typists[0]} and ${typists[1]} are typing…`;
    else typingLine.textContent = 'Several people are typing…';
  }

  function render() {
    // A draft became a real thread (we sent the first message, or they did): move there.
    if (userId) {
      const existing = chat.directThreadWith(userId);
      if (existing) {
        store.movePending(target, existing.thread_id);
        window.location.replace(`#/t/${encodeURIComponent(existing.thread_id)}`);
        return;
      }
      if (!draftUser) {
        window.location.replace('#/');
        return;
      }
    }
    renderHead();
    const t = thread();
    const conversation = threadId ? store.conversation(threadId) : null;
    if (threadId && !t) {
      renderMissing();
      return;
    }
    if (threadId && (!conversation || conversation.stale)) chat.openConversation(threadId);
    renderMessages(conversation);
    if (threadId && conversation && !conversation.loading && document.visibilityState === 'visible') {
      chat.markRead(threadId);
    }
  }

  let askedServer = false;

  function renderMissing() {
    composer.hidden = true;
    let loading = state.threadList.loading;
    if (!loading && !askedServer) {
      askedServer = true; // once: a thread beyond the first page, or one we were just added to
      chat.refreshThread(threadId);
    }
    loading ||= askedServer && chat.isRefreshing(threadId);
    replace(
      historyStatus,
      h('p', {
        class: loading ? 'muted center' : 'error-text center',
        text: loading ? 'Loading…' : "This conversation doesn't exist, or you're no longer in it.",
      }),
    );
    list.replaceChildren();
  }

  function renderMessages(conversation) {
    composer.hidden = false;
    const messages = conversation?.messages ?? [];
    const pending = store.pendingFor(target);
    const stick = firstRender || atBottom(scroller);
    const anchor = stick ? null : captureAnchor();

    renderHistoryStatus(conversation, messages);
    const rows = [];
    const used = new Set();
    // Rows are kept by key and only rebuilt when what they show changed, so an update adds
    // just its own row: the log (an ARIA live region) announces only what is new, and focus
    // on a row's button survives.
    const row = (key, signature, build) => {
      used.add(key);
      const cached = rowCache.get(key);
      if (cached?.signature === signature) return cached.element;
      const element = build();
      element.dataset.key = key;
      rowCache.set(key, { signature, element });
      return element;
    };
    let previous = null;
    const t = thread();
    const seen = seenText(t, messages);
    for (const message of [...messages, ...pending]) {
      const when = message.timestamp;
      const key = message.message_id ?? message.client_msg_id;
      if (!previous || daysBetween(previous.timestamp, when) !== 0) {
        const label = dayLabel(when);
        rows.push(
          row(`day:${key}`, label, () => h('li', { class: 'day', role: 'separator' }, h('span', { text: label }))),
        );
        previous = null;
      }
      const shape = messageShape(t, message, previous);
      rows.push(row(key, JSON.stringify(shape), () => messageRow(message, shape)));
      if (seen && message === messages.at(-1)) {
        rows.push(row('seen', seen, () => h('li', { class: 'seen', text: seen })));
      }
      previous = message;
    }
    rows.forEach((element, index) => {
      if (list.children[index] !== element) list.insertBefore(element, list.children[index] ?? null);
    });
    while (list.children.length > rows.length) list.lastElementChild.remove();
    for (const key of rowCache.keys()) if (!used.has(key)) rowCache.delete(key);

    const newest = messages.at(-1)?.seq ?? 0;
    const arrived = newest > shownNewest && !firstRender;
    shownNewest = Math.max(shownNewest, newest);
    if (stick) {
      scroller.scrollTop = scroller.scrollHeight;
      jump.hidden = true;
    } else {
      restoreAnchor(anchor);
      if (arrived && messages.at(-1).user_id !== state.me.user_id) jump.hidden = false;
    }
    if (conversation && !conversation.loading) firstRender = false;
    if (!threadId) firstRender = false;
    maybeLoadOlder();
  }

  function renderHistoryStatus(conversation, messages) {
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
    replace(historyStatus, content);
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
    const conversation = threadId ? store.conversation(threadId) : null;
    if (!conversation || conversation.loading || !conversation.hasOlder || conversation.olderError) return;
    if (scroller.scrollTop < LOAD_OLDER_WITHIN_PX) chat.loadOlder(threadId);
  }

  scroller.addEventListener('scroll', () => {
    if (atBottom(scroller)) jump.hidden = true;
    maybeLoadOlder();
  });

  function submit() {
    const text = input.value.trim();
    if (!text) return;
    chat.send(threadId ? { threadId } : { userId }, text);
    chat.typingStopped();
    input.value = '';
    input.focus();
    firstRender = true; // what you just sent is always brought into view
    render();
  }

  input.addEventListener('keydown', (event) => {
    // Enter sends; Shift+Enter (and Enter while an input method is composing) adds a line.
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    }
  });
  input.addEventListener('input', () => {
    if (threadId && input.value.trim()) chat.typing(threadId);
  });

  const onVisible = () => {
    if (document.visibilityState === 'visible' && threadId) chat.markRead(threadId);
  };
  document.addEventListener('visibilitychange', onVisible);

  const unsubscribe = store.subscribe((topics) => {
    // 'threads' too: the list may have just arrived (a reload on #/t/<id>), or this thread's
    // name or members changed. Rows that did not change are kept, so this is cheap.
    if (topics.has('all') || topics.has(`thread:${target}`) || topics.has('threads')) render();
    if (threadId && (topics.has('all') || topics.has(`typing:${threadId}`))) renderTyping();
  });

  render();
  renderTyping();
  if (!window.matchMedia('(pointer: coarse)').matches) input.focus(); // not on phones: no surprise keyboard

  return {
    destroy() {
      unsubscribe();
      document.removeEventListener('visibilitychange', onVisible);
    },
  };
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
    author: !mine && thread?.kind === 'group' && !continues ? store.username(thread, message.user_id) : null,
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

/** "Seen" (1:1) or "Seen by …" (group) under the newest message, when it is yours and was read. */
function seenText(thread, messages) {
  const newest = messages.at(-1);
  if (!thread || !newest || newest.user_id !== state.me.user_id) return null;
  const readers = [];
  for (const [userId, seq] of store.peerReads(thread.thread_id)) {
    if (seq >= newest.seq && userId !== state.me.user_id) readers.push(store.username(thread, userId));
  }
  if (readers.length === 0) return null;
  return thread.kind === 'direct' ? 'Seen' : `Seen by ${readers.join(', ')}`;
}
