// The compose box: Enter sends (Shift+Enter adds a line), typing is announced to the others,
// and what was sent shows at once as pending (chat.send; retries live on its row, message.js).

import { h } from '../dom.js';
import * as chat from '../chat.js';

/** The box for a thread ({threadId}) or a draft 1:1 chat ({userId}); `sent()` runs after each send. */
export function createComposer({ threadId, userId, sent }) {
  const input = h('textarea', {
    id: 'composer-input',
    rows: 1,
    autocomplete: 'off',
    'aria-describedby': 'composer-hint',
    enterkeyhint: 'send',
  });
  const element = h(
    'form',
    { class: 'composer', novalidate: true, onsubmit: (event) => (event.preventDefault(), submit()) },
    h('label', { for: 'composer-input', class: 'visually-hidden', text: 'Message' }),
    input,
    h('button', { type: 'submit', class: 'button primary send', text: 'Send' }),
    h('p', { id: 'composer-hint', class: 'composer-hint muted small', text: 'Enter to send · Shift+Enter for a new line' }),
  );

  function submit() {
    const text = input.value.trim();
    if (!text) return;
    chat.send(threadId ? { threadId } : { userId }, text);
    chat.typingStopped();
    input.value = '';
    input.focus();
    sent();
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

  return {
    element,
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
