// The thread list: newest activity first, with unread badges (and "@" when someone mentioned you
// in an unread message), the last message and its time.

import { avatar, h, replace } from '../dom.js';
import { describeError } from '../api.js';
import { filesPreview, isoTime, fullStamp, relativeTime } from '../format.js';
import * as chat from '../chat.js';
import { attachmentsOf, findMessage, otherMembers, state, sortedThreads, threadName, username } from '../store.js';

/** Build the list once; call `update(openThreadId)` whenever threads change. */
export function threadList() {
  const list = h('ul', { class: 'thread-list', role: 'list' });
  const status = h('div', { class: 'list-status', 'aria-live': 'polite' });
  const more = h('button', {
    type: 'button',
    class: 'button subtle wide',
    text: 'Load more conversations',
    hidden: true,
    onclick: () => chat.loadMoreThreads(),
  });
  const element = h('nav', { class: 'threads', 'aria-label': 'Conversations' }, list, status, more);
  const items = new Map(); // thread_id → <li>, kept so focus and hover survive re-renders

  function update(openThreadId) {
    const threads = sortedThreads();
    const focusedId = document.activeElement?.closest?.('.thread-item')?.dataset.threadId;
    const wanted = threads.map((thread) => {
      let li = items.get(thread.thread_id);
      if (!li) items.set(thread.thread_id, (li = h('li')));
      replace(li, item(thread, thread.thread_id === openThreadId));
      return li;
    });
    for (const [threadId, li] of items) {
      if (!state.threads.has(threadId)) {
        li.remove();
        items.delete(threadId);
      }
    }
    // Move only what is out of place: moving a node would blur it and restart its transitions.
    wanted.forEach((li, index) => {
      if (list.children[index] !== li) list.insertBefore(li, list.children[index] ?? null);
    });
    if (focusedId) list.querySelector(`[data-thread-id="${CSS.escape(focusedId)}"]`)?.focus();

    const { loading, error, hasMore } = state.threadList;
    more.hidden = !hasMore || loading;
    if (loading && threads.length === 0) {
      replace(status, h('p', { class: 'muted center', text: 'Loading conversations…' }));
    } else if (error && threads.length === 0) {
      replace(status, h('p', { class: 'error-text center', text: describeError(error) }));
    } else if (threads.length === 0) {
      replace(
        status,
        h(
          'div',
          { class: 'empty' },
          h('p', { class: 'empty-title', text: 'No conversations yet' }),
          h('p', { class: 'muted', text: 'Start one with “New chat”: search for someone by username.' }),
        ),
      );
    } else {
      status.replaceChildren();
    }
  }

  return { element, update };
}

/** The files of a thread's last message: kept from the message, or from the loaded page. */
function lastFiles(thread, last) {
  if (last.attachments?.length) return last.attachments;
  return attachmentsOf(findMessage(thread.thread_id, last.seq)?.message);
}

function item(thread, isOpen) {
  const name = threadName(thread);
  const unread = thread.unread_count;
  const mentions = thread.unread_mentions ?? 0;
  const last = thread.last_message;
  const typists = [...(state.typing.get(thread.thread_id)?.keys() ?? [])];
  let preview;
  if (typists.length) {
    preview = h('span', { class: 'typing-preview', text: `${username(thread, typists[0])} is typing…` });
  } else if (last) {
    const mine = last.user_id === state.me.user_id;
    const who = mine ? 'You: ' : thread.kind === 'group' ? `${username(thread, last.user_id)}: ` : '';
    let text;
    if (last.deleted) text = h('span', { class: 'preview-deleted', text: 'Message deleted' });
    else if (last.contents) text = last.contents.replace(/\s+/g, ' ');
    else text = filesPreview(lastFiles(thread, last)); // only files: contents may be '' only then
    preview = [who && h('span', { class: 'preview-who', text: who }), text];
  } else {
    preview = h('span', { class: 'muted', text: 'No messages yet' });
  }
  const when = last?.timestamp ?? thread.last_activity;
  return h(
    'a',
    {
      class: ['thread-item', unread > 0 && 'unread'],
      href: `#/t/${encodeURIComponent(thread.thread_id)}`,
      'aria-current': isOpen ? 'page' : null,
      dataset: { threadId: thread.thread_id },
    },
    avatar(
      name,
      thread.thread_id,
      thread.kind === 'group' ? 'group' : null,
      thread.kind === 'direct' ? otherMembers(thread)[0]?.avatar_url : null,
    ),
    h(
      'span',
      { class: 'thread-main' },
      h(
        'span',
        { class: 'thread-top' },
        h('span', { class: 'thread-name', text: name }),
        h('time', { class: 'thread-time', datetime: isoTime(when), title: fullStamp(when), text: relativeTime(when) }),
      ),
      h(
        'span',
        { class: 'thread-bottom' },
        h('span', { class: 'thread-preview' }, preview),
        mentions > 0 &&
          h('span', {
            class: 'mention-badge',
            title: mentions === 1 ? 'You were mentioned' : `You were mentioned ${mentions} times`,
            text: '@',
          }),
        mentions > 0 && h('span', { class: 'visually-hidden', text: ' mentions you,' }),
        unread > 0 && h('span', { class: 'badge', text: unread > 99 ? '99+' : String(unread) }),
        unread > 0 && h('span', { class: 'visually-hidden', text: unread === 1 ? ' unread message' : ' unread messages' }),
      ),
    ),
  );
}
