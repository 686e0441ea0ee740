// What can be done to one sent message: reply, react, edit and delete (the toolbar shown on
// hover or focus, or behind a "⋯" button on touch screens), and its reaction chips, which
// show who reacted and take your own reaction back or add it on a click.

import { h } from '../dom.js';
import { describeError } from '../api.js';
import * as chat from '../chat.js';
import { findMessage, setCompose, setNotice } from '../store.js';
import { confirmDialog } from '../views/dialogs.js';

export const COMMON_EMOJI = ['👍', '❤️', '😂', '🎉', '😮', '😢'];

/** Run a change; a failure is said under the compose box (the row may be rebuilt meanwhile). */
function act(threadId, change) {
  setNotice(threadId, null);
  change().catch((error) => setNotice(threadId, describeError(error)));
}

export function react(threadId, seq, emoji) {
  act(threadId, () => chat.toggleReaction(threadId, seq, emoji));
}

/** The toolbar of one message; `shape` says what it may offer (message.js, messageShape). */
export function messageActions(threadId, seq, shape) {
  const picker = reactionPicker(threadId, seq, shape);
  const reactButton = h('button', {
    type: 'button',
    class: 'msg-action',
    'aria-label': 'React',
    title: 'React',
    'aria-expanded': 'false',
    'aria-haspopup': 'true',
    text: '☺',
    onclick: () => picker.toggle(),
  });
  picker.opener = reactButton;
  const toolbar = h(
    'div',
    { class: 'msg-toolbar', role: 'toolbar', 'aria-label': 'Message actions' },
    h('button', {
      type: 'button',
      class: 'msg-action',
      'aria-label': 'Reply',
      title: 'Reply',
      text: '↩',
      onclick: () => setCompose(threadId, { mode: 'reply', seq }),
    }),
    reactButton,
    shape.canEdit &&
      h('button', {
        type: 'button',
        class: 'msg-action',
        'aria-label': 'Edit',
        title: 'Edit',
        text: '✎',
        onclick: () => setCompose(threadId, { mode: 'edit', seq }),
      }),
    shape.canDelete &&
      h('button', {
        type: 'button',
        class: 'msg-action',
        'aria-label': 'Delete',
        title: 'Delete',
        text: '🗑',
        onclick: () => confirmDelete(threadId, seq, shape.mine),
      }),
  );
  // On touch screens there is no hover: a button opens the toolbar (app.css shows one or the other).
  const more = h('button', {
    type: 'button',
    class: 'msg-more',
    'aria-label': 'Message actions',
    'aria-expanded': 'false',
    text: '⋯',
    onclick: (event) => {
      const wrap = event.currentTarget.parentElement;
      const open = wrap.classList.toggle('open');
      event.currentTarget.setAttribute('aria-expanded', String(open));
      if (!open) picker.close();
    },
  });
  const element = h('div', { class: 'msg-actions' }, more, toolbar, picker.element);
  // Focus going elsewhere (a click outside, Tab past the picker) closes the picker.
  element.addEventListener('focusout', (event) => {
    if (!element.contains(event.relatedTarget)) picker.close();
  });
  return element;
}

async function confirmDelete(threadId, seq, mine) {
  const question = mine
    ? 'Delete this message for everyone? Its text will be gone for good.'
    : "Delete this message for everyone? As the group's creator you can remove it; its text will be gone for good.";
  if (await confirmDialog('Delete message', question, 'Delete')) act(threadId, () => chat.deleteMessage(threadId, seq));
}

/** A few common emoji, then those already on the message; a click toggles your reaction. */
function reactionPicker(threadId, seq, shape) {
  const choices = [...COMMON_EMOJI];
  for (const reaction of shape.reactions) if (!choices.includes(reaction.emoji)) choices.push(reaction.emoji);
  const mine = new Set(shape.reactions.filter((r) => r.mine).map((r) => r.emoji));
  const element = h(
    'div',
    { class: 'reaction-picker', role: 'group', 'aria-label': 'Pick a reaction', hidden: true },
    choices.map((emoji) =>
      h('button', {
        type: 'button',
        class: ['pick', mine.has(emoji) && 'chosen'],
        'aria-pressed': mine.has(emoji) ? 'true' : 'false',
        'aria-label': `React with ${emoji}`,
        text: emoji,
        onclick: () => {
          picker.close();
          react(threadId, seq, emoji);
        },
      }),
    ),
  );
  const picker = {
    element,
    opener: null,
    toggle() {
      if (element.hidden) picker.open();
      else picker.close();
    },
    open() {
      element.hidden = false;
      picker.opener?.setAttribute('aria-expanded', 'true');
      element.querySelector('button')?.focus();
    },
    close() {
      const hadFocus = element.contains(document.activeElement);
      element.hidden = true;
      picker.opener?.setAttribute('aria-expanded', 'false');
      if (hadFocus) picker.opener?.focus();
    },
  };
  element.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      event.stopPropagation();
      picker.close();
    }
  });
  return picker;
}

/** The chips under a message: emoji and count, who reacted in the title; a click toggles yours. */
export function reactionChips(threadId, seq, reactions) {
  return h(
    'div',
    { class: 'reactions', role: 'group', 'aria-label': 'Reactions' },
    reactions.map((reaction) =>
      h(
        'button',
        {
          type: 'button',
          class: ['reaction', reaction.mine && 'mine'],
          title: reaction.who,
          'aria-pressed': reaction.mine ? 'true' : 'false',
          'aria-label': `${reaction.emoji} ${reaction.count}: ${reaction.who}`,
          dataset: { emoji: reaction.emoji },
          onclick: () => react(threadId, seq, reaction.emoji),
        },
        h('span', { class: 'reaction-emoji', text: reaction.emoji }),
        h('span', { class: 'reaction-count', text: String(reaction.count) }),
      ),
    ),
  );
}

/** The message a compose mode is about, if it is loaded. */
export function composeTarget(threadId, seq) {
  return findMessage(threadId, seq)?.message ?? null;
}
