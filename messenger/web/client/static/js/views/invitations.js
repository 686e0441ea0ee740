// Groups you are invited to (GROUP_ADD_POLICY=invite): shown above the thread list until you
// answer. Joining opens the group; declining tells nobody.

import { avatar, h, replace } from '../dom.js';
import * as chat from '../chat.js';
import { shownName, state, threadName } from '../store.js';
import { statusLine } from './forms.js';

/** Build the panel once; call `update()` when invitations change. */
export function invitationsPanel() {
  const list = h('ul', { class: 'invitation-list', role: 'list' });
  const status = statusLine(); // only a failure shows: a success moves on (or away)
  const element = h(
    'section',
    { class: 'invitations', 'aria-labelledby': 'invitations-heading', hidden: true },
    h('h2', { id: 'invitations-heading', class: 'section-title', text: 'Invitations' }),
    list,
    status.element,
  );
  const answering = new Set(); // thread ids whose answer is on its way: their buttons stay off

  function item({ thread, invited_by: invitedBy }) {
    const inviter = thread.members.find((m) => m.user_id === invitedBy);
    const name = threadName(thread);
    const answer = (accept) => async () => {
      answering.add(thread.thread_id);
      update();
      try {
        await chat.answerInvitation(thread.thread_id, accept);
        status.clear();
        if (accept) window.location.hash = `#/t/${encodeURIComponent(thread.thread_id)}`;
        else element.querySelector('.invitation button')?.focus(); // on to the next one
      } catch (error) {
        status.error(error);
      } finally {
        answering.delete(thread.thread_id);
        update();
      }
    };
    const busy = answering.has(thread.thread_id);
    return h(
      'li',
      { class: 'invitation', dataset: { threadId: thread.thread_id } },
      avatar(name, thread.thread_id, 'group'),
      h(
        'div',
        { class: 'thread-main' },
        h('span', { class: 'thread-name', text: name }),
        h('span', {
          class: 'muted small',
          text: `${inviter ? shownName(inviter) : 'Someone'} invited you · ${thread.members.length} members`,
        }),
      ),
      h(
        'div',
        { class: 'invitation-actions' },
        h('button', {
          type: 'button',
          class: 'button primary small',
          text: 'Join',
          'aria-label': `Join ${name}`,
          disabled: busy,
          onclick: answer(true),
        }),
        h('button', {
          type: 'button',
          class: 'button subtle small',
          text: 'Decline',
          'aria-label': `Decline ${name}`,
          disabled: busy,
          onclick: answer(false),
        }),
      ),
    );
  }

  function update() {
    const invitations = [...state.invitations.values()];
    element.hidden = invitations.length === 0 && !status.element.textContent;
    replace(list, invitations.map(item));
  }

  return { element, update };
}
