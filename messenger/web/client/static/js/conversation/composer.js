// The compose box: Enter sends (Shift+Enter adds a line), typing is announced to the others,
// and what was sent shows at once as pending (chat.send; retries live on its row, message.js).
// It also replies to a message (a bar says to which) and edits one of yours in place (Enter
// saves, Escape cancels), suggests members after "@", and says why a change to a message failed.
// Files come in by the attach button (a hidden file input), by pasting into the box, or by a
// drop on the conversation (views/conversation.js): they upload into the tray above the box
// (uploads.js), and Send is enabled once every one is uploaded; the message carries them in
// order, with or without text.

import { h, replace } from '../dom.js';
import { describeError } from '../api.js';
import * as chat from '../chat.js';
import { filesPreview } from '../format.js';
import { attachmentsOf, dropUpload, findMessage, setCompose, setNotice, state, username } from '../store.js';
import { mentionCompleter } from './mentions.js';
import { uploadTray } from './uploads.js';

/** The box for a thread ({threadId}) or a draft 1:1 chat ({userId}); `sent()` runs after each send. */
export function createComposer({ threadId, userId, sent }) {
  const target = threadId ?? `draft:${userId}`;
  const input = h('textarea', {
    id: 'composer-input',
    rows: 1,
    autocomplete: 'off',
    'aria-describedby': 'composer-hint',
    enterkeyhint: 'send',
  });
  const sendButton = h('button', { type: 'submit', class: 'button primary send', text: 'Send' });
  const bar = h('div', { class: 'compose-bar', hidden: true });
  const notice = h('p', { class: 'composer-error', role: 'alert' });
  const hint = h('p', { id: 'composer-hint', class: 'composer-hint muted small', text: HINT });
  const tray = uploadTray(target, { gone: () => input.focus() });
  const fileInput = h('input', { type: 'file', multiple: true, hidden: true, class: 'attach-input', tabindex: '-1' });
  fileInput.addEventListener('change', () => {
    addFiles([...fileInput.files]);
    fileInput.value = ''; // choosing the same file again is a change too
  });
  const attachButton = h(
    'button',
    {
      type: 'button',
      class: 'icon-button attach',
      'aria-label': 'Attach files',
      title: 'Attach files',
      onclick: () => fileInput.click(),
    },
    h('img', { src: '/app/attach.svg', alt: '', width: 22, height: 22 }),
  );
  const completer = mentionCompleter(input, () => (threadId ? state.threads.get(threadId)?.members ?? [] : []));
  const element = h(
    'form',
    { class: 'composer', novalidate: true, onsubmit: (event) => (event.preventDefault(), submit()) },
    completer.element,
    tray.element,
    bar,
    h('label', { for: 'composer-input', class: 'visually-hidden', text: 'Message' }),
    attachButton,
    fileInput,
    input,
    sendButton,
    notice,
    hint,
  );

  let mode = null; // {mode: 'reply'|'edit', seq} as last rendered
  let draft = ''; // what was in the box before an edit took it over
  let shownBar = '';
  let saving = false; // an edit is being saved // what the reply/edit bar says, to rebuild it only when that changes

  function current() {
    return threadId ? state.compose.get(threadId) ?? null : null;
  }

  function submit() {
    const text = input.value.trim();
    const what = current();
    if (what?.mode === 'edit') {
      saveEdit(what.seq, text);
      return;
    }
    const uploads = tray.uploads();
    if (!tray.ready()) {
      const failed = uploads.some((u) => u.status === 'failed');
      setNotice(target, failed ? NOT_UPLOADED : STILL_UPLOADING);
      return;
    }
    if (!text && uploads.length === 0) return;
    chat.send(threadId ? { threadId } : { userId }, text, {
      replyTo: what?.mode === 'reply' ? what.seq : null,
      attachments: uploads.map((u) => u.attachment),
    });
    for (const upload of uploads) dropUpload(upload.id);
    setNotice(target, null);
    chat.typingStopped();
    input.value = '';
    if (what) setCompose(threadId, null);
    input.focus();
    sent();
  }

  function saveEdit(seq, text) {
    const message = findMessage(threadId, seq)?.message;
    if (!text || !message || text === message.contents) {
      cancel(); // nothing to save (an empty edit is not a deletion: Delete is for that)
      return;
    }
    saving = true;
    sendButton.disabled = true;
    setNotice(threadId, null);
    chat
      .editMessage(threadId, seq, text)
      .then(() => {
        if (current()?.seq === seq) setCompose(threadId, null);
      })
      .catch((error) => setNotice(threadId, describeError(error)))
      .finally(() => {
        saving = false;
        render();
      });
  }

  function cancel() {
    setCompose(threadId, null);
    input.focus();
  }

  /** Edit your newest message (Arrow Up in an empty box, as in other chat apps). */
  function editNewest() {
    const messages = state.conversations.get(threadId)?.messages ?? [];
    const newest = messages.findLast((m) => m.user_id === state.me.user_id && !m.deleted);
    if (newest) setCompose(threadId, { mode: 'edit', seq: newest.seq });
    return Boolean(newest);
  }

  input.addEventListener('keydown', (event) => {
    if (completer.keydown(event)) return;
    if (event.key === 'Escape' && current()) {
      event.preventDefault();
      cancel();
    } else if (event.key === 'ArrowUp' && threadId && !input.value && !current()) {
      if (editNewest()) event.preventDefault();
    } else if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      // Enter sends; Shift+Enter (and Enter while an input method is composing) adds a line.
      event.preventDefault();
      submit();
    }
  });
  // A pasted screenshot or file is attached, not pasted as text.
  input.addEventListener('paste', (event) => {
    const files = [...(event.clipboardData?.files ?? [])];
    if (files.length === 0) return;
    event.preventDefault();
    addFiles(files);
  });

  /** Put files in the tray; say which were refused before uploading (too large, too many). */
  function addFiles(files) {
    if (files.length === 0) return;
    setNotice(target, chat.attach(target, files));
  }

  input.addEventListener('input', () => {
    if (threadId && input.value.trim() && current()?.mode !== 'edit') chat.typing(threadId);
  });

  /** Show what the box is doing (replying, editing) and any failure; call on every change. */
  function render() {
    const what = current();
    const message = what ? findMessage(threadId, what.seq)?.message : null;
    if (what && !message) {
      setCompose(threadId, null); // the message is no longer shown
      return;
    }
    const changedMode = what?.mode !== mode?.mode || what?.seq !== mode?.seq;
    if (changedMode) {
      if (mode?.mode === 'edit') input.value = draft; // back to what was being written
      if (what?.mode === 'edit') {
        draft = mode?.mode === 'edit' ? draft : input.value;
        input.value = message.contents;
      }
      mode = what;
      if (what) {
        input.focus();
        input.setSelectionRange(input.value.length, input.value.length);
      }
    }
    sendButton.textContent = what?.mode === 'edit' ? 'Save' : 'Send';
    tray.render();
    const ready = tray.ready();
    sendButton.disabled = saving || (what?.mode !== 'edit' && !ready);
    if (ready && [NOT_UPLOADED, STILL_UPLOADING].includes(state.notices.get(target))) setNotice(target, null);
    hint.textContent = what ? `Enter to ${what.mode === 'edit' ? 'save' : 'send'} · Escape to cancel` : HINT;
    bar.hidden = !what;
    const thread = what ? state.threads.get(threadId) : null;
    let label = '';
    if (what) label = what.mode === 'edit' ? 'Editing your message' : `Replying to ${username(thread, message.user_id)}`;
    const barKey = what ? `${what.mode} ${label} ${message.contents}` : '';
    if (what && barKey !== shownBar) {
      // Rebuilt only when it says something else, so focus on its Cancel button survives updates.
      replace(
        bar,
        h(
          'span',
          { class: 'compose-what' },
          h('strong', { text: label }),
          what.mode === 'reply' &&
            h('span', { class: 'compose-quote', text: message.contents || filesPreview(attachmentsOf(message)) }),
        ),
        h('button', {
          type: 'button',
          class: 'icon-button small',
          'aria-label': what.mode === 'edit' ? 'Cancel editing' : 'Cancel reply',
          text: '×',
          onclick: cancel,
        }),
      );
    }
    shownBar = barKey;
    notice.textContent = state.notices.get(target) || '';
  }

  return {
    element,
    render,
    addFiles,
    /** Say whom the message is for, in the empty box. */
    addressTo(name) {
      input.placeholder = name ? `Message ${name}` : 'Message';
    },
    /** Put the cursor in the box, except on phones: no keyboard popping up by surprise. */
    focusUnlessTouch() {
      if (!window.matchMedia('(pointer: coarse)').matches) input.focus();
    },
  };
}

const NOT_UPLOADED = 'A file did not upload: retry it or remove it, then send.';
const STILL_UPLOADING = 'Wait until every file is uploaded, then send.';
const HINT = 'Enter to send · Shift+Enter for a new line';
