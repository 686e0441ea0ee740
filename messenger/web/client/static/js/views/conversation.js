// One conversation, put together from its parts in ../conversation/: the header (head.js), the
// history with its rows (history.js, message.js, rows.js), "Seen" and read markers (read.js),
// the typing line (typing.js) and the compose box (composer.js) with its tray of uploads. This
// module decides what the view shows: a thread, a draft 1:1 chat, or a thread this tab does not
// (yet) know; and files dropped anywhere on it go to the compose box's tray.

import { h, replace } from '../dom.js';
import * as chat from '../chat.js';
import * as store from '../store.js';
import { createComposer } from '../conversation/composer.js';
import { createHead } from '../conversation/head.js';
import { createHistory } from '../conversation/history.js';
import { markReadIfVisible, markReadOnReturn } from '../conversation/read.js';
import { typingLine } from '../conversation/typing.js';

const { state } = store;

/**
 * Show a thread ({threadId}) or a 1:1 chat about to start ({userId}) in `container`.
 * Returns {destroy} to stop listening when another one is opened.
 */
export function mountConversation(container, { threadId = null, userId = null }) {
  const target = threadId ?? `draft:${userId}`;
  const draftUser = userId ? store.draft(userId) : null;

  const head = createHead({ threadId, userId, draftUser });
  const history = createHistory({ threadId, draftUser });
  const typing = typingLine(threadId);
  const composer = createComposer({
    threadId,
    userId,
    sent: () => {
      history.followNext(); // what you just sent is always brought into view
      render();
    },
  });
  const view = h(
    'div',
    { class: 'conversation-view', dataset: { dropLabel: 'Drop files to attach them' } },
    head.element,
    history.element,
    typing.element,
    composer.element,
  );
  replace(container, view);
  acceptDrops(view, composer);

  let askedServer = false; // whether a thread missing from the list was asked for once

  function render() {
    if (userId && !followDraft()) return;
    const thread = threadId ? state.threads.get(threadId) : null;
    composer.addressTo(head.render(thread));
    if (threadId && !thread) {
      renderMissing();
      return;
    }
    const conversation = threadId ? store.conversation(threadId) : null;
    if (threadId && (!conversation || conversation.stale)) chat.openConversation(threadId);
    composer.element.hidden = false;
    history.render(thread, conversation, store.pendingFor(target));
    if (threadId && conversation && !conversation.loading) markReadIfVisible(threadId);
  }

  /** A draft became a real thread (we sent the first message, or they did): move there. */
  function followDraft() {
    const existing = chat.directThreadWith(userId);
    if (existing) {
      store.movePending(target, existing.thread_id);
      store.moveUploads(target, existing.thread_id);
      window.location.replace(`#/t/${encodeURIComponent(existing.thread_id)}`);
      return false;
    }
    if (!draftUser) {
      window.location.replace('#/');
      return false;
    }
    return true;
  }

  function renderMissing() {
    composer.element.hidden = true;
    let loading = state.threadList.loading;
    if (!loading && !askedServer) {
      askedServer = true; // once: a thread beyond the first page, or one we were just added to
      chat.refreshThread(threadId);
    }
    loading ||= askedServer && chat.isRefreshing(threadId);
    history.renderMissing(loading);
  }

  const stopMarkingOnReturn = threadId ? markReadOnReturn(threadId) : () => {};
  const unsubscribe = store.subscribe((topics) => {
    // 'threads' too: the list may have just arrived (a reload on #/t/<id>), or this thread's
    // name or members changed. Rows that did not change are kept, so this is cheap.
    if (topics.has('all') || topics.has(`thread:${target}`) || topics.has('threads') || topics.has('blocks')) render();
    const composing = [`compose:${target}`, `thread:${target}`, `uploads:${target}`];
    if (topics.has('all') || composing.some((topic) => topics.has(topic))) composer.render();
    if (threadId && (topics.has('all') || topics.has(`typing:${threadId}`))) typing.render();
  });

  render();
  typing.render();
  composer.render();
  composer.focusUnlessTouch();

  return {
    destroy() {
      unsubscribe();
      stopMarkingOnReturn();
    },
  };
}

/** Files dragged over the conversation are offered to the compose box's tray when dropped. */
function acceptDrops(view, composer) {
  const carriesFiles = (event) => event.dataTransfer?.types.includes('Files') && !composer.element.hidden;
  view.addEventListener('dragover', (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
    view.classList.add('dropping');
  });
  view.addEventListener('dragleave', (event) => {
    if (!view.contains(event.relatedTarget)) view.classList.remove('dropping');
  });
  view.addEventListener('drop', (event) => {
    view.classList.remove('dropping');
    if (!carriesFiles(event)) return;
    event.preventDefault();
    composer.addFiles([...event.dataTransfer.files]);
  });
}
