// The signed-in screen: the sidebar (who you are, actions, the thread list) beside the open
// conversation. At mobile width only one of the two shows at a time.

import { avatar, h, replace } from '../dom.js';
import { shownName, state, subscribe, threadName, totalUnread } from '../store.js';
import { newChatDialog, newGroupDialog } from './dialogs.js';
import { mountConversation } from './conversation.js';
import { invitationsPanel } from './invitations.js';
import { mountSettings } from './settings.js';
import { threadList } from './threads.js';

export function renderShell(root, { signOut, accountDeleted, leaving }) {
  const threads = threadList();
  const invitations = invitationsPanel();
  const meAvatar = h('span', { class: 'me-avatar' });
  const meName = h('span', { class: 'me-name' });
  const connection = h('span', { class: 'conn-dot', role: 'img' });
  const main = h('section', { class: 'main-pane', 'aria-label': 'Conversation' });
  const shell = h(
    'div',
    { class: 'shell' },
    h(
      'aside',
      { class: 'sidebar' },
      h(
        'header',
        { class: 'sidebar-head' },
        h('h1', { class: 'visually-hidden', text: 'Messenger' }),
        meAvatar,
        meName,
        connection,
        h('a', { class: 'icon-button', href: '#/settings', 'aria-label': 'Settings', title: 'Settings', text: '⚙' }),
        h('button', { type: 'button', class: 'button subtle small', text: 'Sign out', onclick: signOut }),
      ),
      h(
        'div',
        { class: 'sidebar-actions' },
        h('button', { type: 'button', class: 'button primary', text: 'New chat', onclick: newChatDialog }),
        h('button', { type: 'button', class: 'button subtle', text: 'New group', onclick: newGroupDialog }),
      ),
      invitations.element,
      threads.element,
    ),
    main,
  );
  replace(root, shell);
  root.removeAttribute('aria-busy');

  let route = { name: 'list' };
  let open = null; // the mounted conversation

  function show(next) {
    route = next;
    open?.destroy();
    open = null;
    shell.classList.toggle('show-conversation', route.name !== 'list'); // the main pane, at phone width
    if (route.name === 'thread') open = mountConversation(main, { threadId: route.id });
    else if (route.name === 'draft') open = mountConversation(main, { userId: route.id });
    else if (route.name === 'settings') open = mountSettings(main, { accountDeleted, leaving });
    else replace(main, placeholder());
    update(new Set(['threads']));
  }

  function update(topics) {
    if (topics.has('all')) {
      const name = shownName(state.me);
      replace(meAvatar, avatar(name, state.me.user_id, null, state.me.avatar_url));
      meName.textContent = name;
      meName.title = name === state.me.username ? '' : `@${state.me.username}`;
    }
    if (topics.has('all') || topics.has('invitations')) invitations.update();
    if (topics.has('all') || topics.has('threads') || [...topics].some((t) => t.startsWith('typing:'))) {
      threads.update(route.name === 'thread' ? route.id : null);
    }
    if (topics.has('all') || topics.has('connection')) {
      const { state: status, transport } = state.connection;
      const label =
        status === 'live' ? `Live (${transport === 'poll' ? 'long polling' : 'WebSocket'})` : status === 'reconnecting' ? 'Reconnecting' : 'Connecting';
      connection.dataset.state = status;
      connection.setAttribute('aria-label', label);
      connection.title = label;
    }
    const unread = totalUnread();
    const open = route.name === 'thread' ? state.threads.get(route.id) : null;
    const where = open
      ? threadName(open)
      : route.name === 'draft'
        ? state.drafts.get(route.id)?.username
        : route.name === 'settings'
          ? 'Settings'
          : null;
    document.title = `${unread ? `(${unread}) ` : ''}${where ? `${where} · ` : ''}Messenger`;
  }

  const unsubscribe = subscribe(update);
  update(new Set(['all']));
  return {
    show,
    destroy() {
      unsubscribe();
      open?.destroy();
    },
  };
}

function placeholder() {
  return h(
    'div',
    { class: 'placeholder' },
    h('img', { src: '/app/icon.svg', alt: '', width: 56, height: 56 }),
    h('p', { class: 'empty-title', text: 'Pick a conversation' }),
    h('p', { class: 'muted', text: 'Or start a new one: “New chat” finds people by username.' }),
  );
}
