// A conversation's header: back link, avatar, name, who is in it, and the Members button.

import { avatar, h, replace } from '../dom.js';
import { threadName } from '../store.js';
import { membersDialog } from '../views/dialogs.js';

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
  const element = h(
    'header',
    { class: 'conv-head' },
    h('a', { class: 'back icon-button', href: '#/', 'aria-label': 'Back to conversations', text: '‹' }),
    headAvatar,
    h('div', { class: 'conv-title' }, title, subtitle),
    membersButton,
  );

  /** Show `thread` (null while unknown, or for a draft); returns the name shown ('' if none). */
  function render(thread) {
    const name = thread ? threadName(thread) : draftUser?.username ?? '';
    title.textContent = name || 'Conversation';
    replace(headAvatar, name ? avatar(name, threadId ?? userId, thread?.kind === 'group' ? 'group' : null) : null);
    if (thread?.kind === 'group') {
      subtitle.textContent = `${thread.members.length} members: ${thread.members.map((m) => m.username).join(', ')}`;
    } else {
      subtitle.textContent = thread || draftUser ? 'Direct message' : '';
    }
    membersButton.hidden = thread?.kind !== 'group';
    return name;
  }

  return { element, render };
}
