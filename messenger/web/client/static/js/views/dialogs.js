// Modal dialogs: start a 1:1 chat, create a group, and see or change a group's members.
// <dialog> with showModal() gives focus trapping and Escape to close for free.

import { avatar, h, replace } from '../dom.js';
import { describeError } from '../api.js';
import * as chat from '../chat.js';
import { putDraft, state, subscribe, threadName } from '../store.js';

const SEARCH_DELAY_MS = 200; // wait for a pause in typing before asking the server

function openDialog(titleText, ...body) {
  const id = `dialog-${Math.random().toString(36).slice(2)}`;
  const close = h('button', { type: 'button', class: 'icon-button', 'aria-label': 'Close', text: '×' });
  const dialog = h(
    'dialog',
    { class: 'dialog', 'aria-labelledby': id },
    h('header', { class: 'dialog-head' }, h('h2', { id, text: titleText }), close),
    h('div', { class: 'dialog-body' }, body),
  );
  close.addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => dialog.remove());
  // A click on the backdrop (outside the box) closes, as people expect of a sheet.
  dialog.addEventListener('click', (event) => {
    if (event.target === dialog) dialog.close();
  });
  document.body.append(dialog);
  dialog.showModal();
  return dialog;
}

/** A labelled username search; `pick(user)` runs on a click, or on Enter for the first result. */
function userSearch({ id, label, pick, exclude = () => new Set() }) {
  const input = h('input', {
    id,
    type: 'search',
    autocomplete: 'off',
    spellcheck: 'false',
    autocapitalize: 'none',
    placeholder: 'Start typing a username',
    'aria-describedby': `${id}-status`,
  });
  const results = h('ul', { class: 'user-results', role: 'list', 'aria-label': 'People found' });
  const status = h('p', { class: 'muted small', id: `${id}-status`, 'aria-live': 'polite' });
  let timer = null;
  let inflight = null;
  let found = [];

  async function search() {
    const prefix = input.value.trim();
    inflight?.abort();
    if (!prefix) {
      found = [];
      results.replaceChildren();
      status.textContent = '';
      return;
    }
    inflight = new AbortController();
    status.textContent = 'Searching…';
    let matches;
    try {
      const excluded = exclude();
      matches = await chat.searchUsers(prefix, inflight.signal);
      found = matches.filter((u) => !excluded.has(u.user_id));
    } catch (error) {
      if (error.name === 'AbortError') return;
      status.textContent = describeError(error);
      return;
    }
    replace(
      results,
      found.map((user) =>
        h(
          'li',
          {},
          h(
            'button',
            { type: 'button', class: 'user-result', onclick: () => pick(user) },
            avatar(user.username, user.user_id, null, user.avatar_url),
            h('span', { text: user.username }),
          ),
        ),
      ),
    );
    if (found.length) status.textContent = '';
    else if (matches.length) status.textContent = `Everyone whose username starts with “${prefix}” is already added.`;
    else status.textContent = `No one’s username starts with “${prefix}”.`;
  }

  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(search, SEARCH_DELAY_MS);
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') {
      event.preventDefault();
      if (found.length) pick(found[0]);
    }
  });
  const element = h('div', { class: 'field' }, h('label', { for: id, text: label }), input, status, results);
  return { element, input, refresh: search };
}

/** Find someone and open the 1:1 chat with them (the thread starts with the first message). */
export function newChatDialog() {
  let dialog = null;
  const search = userSearch({
    id: 'new-chat-search',
    label: 'Find people by username',
    pick: (user) => {
      dialog.close();
      const existing = chat.directThreadWith(user.user_id);
      if (existing) {
        window.location.hash = `#/t/${encodeURIComponent(existing.thread_id)}`;
      } else {
        putDraft(user);
        window.location.hash = `#/new/${encodeURIComponent(user.user_id)}`;
      }
    },
  });
  dialog = openDialog('New chat', search.element);
  search.input.focus();
}

/** A group needs a name (optional), at least two other people, and a first message. */
export function newGroupDialog() {
  const chosen = new Map();
  const clientMsgId = chat.newClientMsgId(); // a retried submit returns the same group
  const chips = h('ul', { class: 'chips', role: 'list', 'aria-label': 'People in the group' });
  const title = h('input', { id: 'group-title', type: 'text', maxlength: 100, autocomplete: 'off' });
  const first = h('textarea', { id: 'group-first', rows: 3, required: true });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const create = h('button', { type: 'submit', class: 'button primary', text: 'Create group' });

  const renderChips = () => {
    replace(
      chips,
      [...chosen.values()].map((user) =>
        h(
          'li',
          { class: 'chip' },
          h('span', { text: user.username }),
          h('button', {
            type: 'button',
            class: 'chip-remove',
            'aria-label': `Remove ${user.username}`,
            text: '×',
            onclick: () => {
              chosen.delete(user.user_id);
              renderChips();
              search.input.focus();
            },
          }),
        ),
      ),
    );
  };
  const search = userSearch({
    id: 'group-search',
    label: 'Add people',
    exclude: () => new Set(chosen.keys()),
    pick: (user) => {
      chosen.set(user.user_id, user);
      search.input.value = '';
      search.refresh();
      renderChips();
      search.input.focus();
    },
  });

  const form = h(
    'form',
    {
      class: 'stack',
      novalidate: true,
      onsubmit: async (event) => {
        event.preventDefault();
        if (chosen.size < 2) {
          error.textContent = 'Pick at least two people. For one person, start a chat instead.';
          return;
        }
        if (!first.value.trim()) {
          error.textContent = 'Write a first message: it opens the group.';
          first.focus();
          return;
        }
        create.disabled = true;
        create.textContent = 'Creating…';
        try {
          const threadId = await chat.createGroup(title.value.trim(), [...chosen.keys()], first.value.trim(), clientMsgId);
          dialog.close();
          window.location.hash = `#/t/${encodeURIComponent(threadId)}`;
        } catch (failure) {
          error.textContent = describeError(failure);
          create.disabled = false;
          create.textContent = 'Create group';
        }
      },
    },
    h('div', { class: 'field' }, h('label', { for: 'group-title', text: 'Group name (optional)' }), title),
    search.element,
    chips,
    h('div', { class: 'field' }, h('label', { for: 'group-first', text: 'First message' }), first),
    error,
    h('div', { class: 'dialog-actions' }, create),
  );
  const dialog = openDialog('New group', form);
  title.focus();
}

/** Who is in a group; add people (anyone may), remove them (its creator), or leave. */
export function membersDialog(threadId) {
  const list = h('ul', { class: 'member-list', role: 'list' });
  const message = h('p', { class: 'form-error', role: 'alert' });
  let confirmLeave = false;

  const act = async (work, done) => {
    message.textContent = '';
    try {
      await work();
      if (done) message.textContent = done;
    } catch (error) {
      message.textContent = describeError(error);
    }
  };

  const render = () => {
    const thread = state.threads.get(threadId);
    if (!thread) {
      dialog.close(); // we left or were removed
      return;
    }
    dialog.querySelector('h2').textContent = `${threadName(thread)} · ${thread.members.length} members`;
    const me = state.me.user_id;
    const iCreated = thread.created_by === me;
    replace(
      list,
      thread.members.map((member) => {
        const isMe = member.user_id === me;
        let action = null;
        if (isMe) {
          action = h('button', {
            type: 'button',
            class: ['button', 'small', confirmLeave ? 'danger' : 'subtle'],
            text: confirmLeave ? 'Confirm: leave' : 'Leave group',
            onclick: () => {
              if (!confirmLeave) {
                confirmLeave = true;
                render();
                list.querySelector('.danger')?.focus();
                return;
              }
              act(async () => {
                await chat.removeMember(threadId, me);
                window.location.hash = '#/';
              });
            },
          });
        } else if (iCreated) {
          action = h('button', {
            type: 'button',
            class: 'button small subtle',
            text: 'Remove',
            'aria-label': `Remove ${member.username}`,
            onclick: () => act(() => chat.removeMember(threadId, member.user_id), `Removed ${member.username}.`),
          });
        }
        return h(
          'li',
          { class: 'member' },
          avatar(member.username, member.user_id, null, member.avatar_url),
          h(
            'span',
            { class: 'member-name' },
            member.username,
            isMe && h('span', { class: 'muted', text: ' (you)' }),
            member.user_id === thread.created_by && h('span', { class: 'tag', text: 'creator' }),
          ),
          action,
        );
      }),
    );
  };

  const search = userSearch({
    id: 'members-search',
    label: 'Add people',
    exclude: () => new Set(state.threads.get(threadId)?.members.map((m) => m.user_id)),
    pick: (user) => {
      search.input.value = '';
      search.refresh();
      act(() => chat.addMembers(threadId, [user.user_id]), `Added ${user.username}.`);
    },
  });
  const dialog = openDialog('Members', list, message, search.element);
  const unsubscribe = subscribe((topics) => {
    if (topics.has('all') || topics.has('threads') || topics.has(`thread:${threadId}`)) render();
  });
  dialog.addEventListener('close', unsubscribe);
  render();
  search.input.focus();
}

/**
 * Ask before something that cannot be undone; resolves to true only if `confirmLabel` is chosen.
 * In the page (a <dialog>), never window.confirm(): that blocks the page and looks foreign.
 */
export function confirmDialog(titleText, question, confirmLabel) {
  return new Promise((resolve) => {
    let confirmed = false;
    const yes = h('button', { type: 'button', class: 'button danger', text: confirmLabel });
    const no = h('button', { type: 'button', class: 'button subtle', text: 'Cancel' });
    const dialog = openDialog(
      titleText,
      h('p', { text: question }),
      h('div', { class: 'dialog-actions' }, no, yes),
    );
    yes.addEventListener('click', () => {
      confirmed = true;
      dialog.close();
    });
    no.addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => resolve(confirmed));
    no.focus(); // the safe choice first: Enter right away cancels
  });
}
