// A conversation's header: back link, avatar, name, who is in it, the Members button (groups)
// and Block / Unblock (1:1 chats).

import { avatar, h, replace } from '../dom.js';
import * as chat from '../chat.js';
import { describeError } from '../api.js';
import { otherMembers, setNotice, shownName, state, threadName } from '../store.js';
import { confirmDialog, membersDialog } from '../views/dialogs.js';

/** The header for a thread ({threadId}) or a draft 1:1 chat with `draftUser`. */
export function createHead({ threadId, userId, draftUser }) {
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
  const blockButton = h('button', { type: 'button', class: 'button subtle small', hidden: true });
  let other = null; // the other person of a 1:1 chat
  blockButton.addEventListener('click', () => toggleBlock(threadId, other));
  const element = h(
    'header',
    { class: 'conv-head' },
    h('a', { class: 'back icon-button', href: '#/', 'aria-label': 'Back to conversations', text: '‹' }),
    headAvatar,
    h('div', { class: 'conv-title' }, title, subtitle),
    membersButton,
    blockButton,
  );

  /** Show `thread` (null while unknown, or for a draft); returns the name shown ('' if none). */
  function render(thread) {
    const name = thread ? threadName(thread) : draftUser?.username ?? '';
    title.textContent = name || 'Conversation';
    const picture = thread?.kind === 'direct' ? otherMembers(thread)[0]?.avatar_url : draftUser?.avatar_url;
    replace(
      headAvatar,
      name ? avatar(name, threadId ?? userId, thread?.kind === 'group' ? 'group' : null, picture) : null,
    );
    if (thread?.kind === 'group') {
      subtitle.textContent = `${thread.members.length} members: ${thread.members.map(shownName).join(', ')}`;
    } else {
      subtitle.textContent = thread || draftUser ? 'Direct message' : '';
    }
    membersButton.hidden = thread?.kind !== 'group';
    other = thread?.kind === 'direct' ? (otherMembers(thread)[0] ?? null) : null;
    blockButton.hidden = !other;
    const blocked = other && state.blocked.has(other.user_id);
    blockButton.textContent = blocked ? 'Unblock' : 'Block';
    blockButton.setAttribute('aria-label', other ? `${blocked ? 'Unblock' : 'Block'} ${shownName(other)}` : '');
    return name;
  }

  return { element, render };
}

/** Block the other person of a 1:1 chat (after asking), or unblock them. */
async function toggleBlock(threadId, person) {
  if (!person) return;
  const blocking = !state.blocked.has(person.user_id);
  const name = shownName(person);
  if (
    blocking &&
    !(await confirmDialog(
      `Block ${name}?`,
      `${name} will not be able to message you here or add you to groups. Groups you share stay. You can unblock them in Settings.`,
      'Block',
    ))
  ) {
    return;
  }
  try {
    await chat.setBlocked(person.user_id, blocking);
  } catch (error) {
    setNotice(threadId, describeError(error));
  }
}
