// The "… is typing" line under a conversation, from the hints the store keeps for a few seconds.

import { h } from '../dom.js';
import { state, username } from '../store.js';

/** The line for `threadId` (null for a draft chat: nobody can be typing there yet). */
export function typingLine(threadId) {
  const element = h('p', { class: 'typing-line', 'aria-live': 'polite' });

  function render() {
    const thread = threadId ? state.threads.get(threadId) : null;
    const typists = [...(state.typing.get(threadId)?.keys() ?? [])].map((id) => username(thread, id));
    element.textContent = typingText(typists);
  }

  return { element, render };
}

function typingText(names) {
  if (names.length === 0) return '';
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return 'Several people are typing…';
}
