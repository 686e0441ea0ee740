// The settings page (#/settings): your profile, email and its verification, password, the
// devices signed in to your account, the people you block, a download of your data, and
// deleting your account. Each section is its own small form or list on the API's routes.

import { api, describeError, download, upload } from '../api.js';
import { avatar, h, replace } from '../dom.js';
import { fullStamp, isoTime, relativeTime } from '../format.js';
import * as chat from '../chat.js';
import * as store from '../store.js';
import { confirmDialog } from './dialogs.js';
import { form, runAction, statusLine } from './forms.js';

const { state } = store;

/**
 * Mount the page in `container`; `accountDeleted()` runs once the account is gone, and
 * `leaving(bool)` around its deletion. Returns {destroy}.
 */
export function mountSettings(container, { accountDeleted, leaving }) {
  const body = h('div', { class: 'settings-body' }, h('p', { class: 'muted', text: 'Loading your settings…' }));
  const heading = h('h2', { class: 'conv-name', text: 'Settings', tabindex: '-1' });
  replace(
    container,
    h(
      'div',
      { class: 'settings-view' },
      h(
        'header',
        { class: 'conv-head' },
        h('a', { class: 'back icon-button', href: '#/', 'aria-label': 'Back to conversations', text: '‹' }),
        h('div', { class: 'conv-title' }, heading),
      ),
      body,
    ),
  );
  heading.focus(); // at phone width the link that opened this page is hidden now
  let destroyed = false;
  const blocks = blocksSection();
  const unsubscribe = store.subscribe((topics) => {
    if (topics.has('blocks')) blocks.reload(); // blocked or unblocked here, or from a chat
  });

  api.me().then(
    (me) => {
      if (destroyed) return;
      store.userUpdated(me);
      const sessions = sessionsSection();
      replace(
        body,
        pictureSection(me),
        profileSection(me),
        emailSection(me),
        passwordSection(sessions),
        sessions.element,
        blocks.element,
        exportSection(),
        deleteSection({ accountDeleted, leaving }),
      );
    },
    (error) => {
      if (!destroyed) replace(body, h('p', { class: 'error-text', role: 'alert', text: describeError(error) }));
    },
  );

  return {
    destroy() {
      destroyed = true;
      unsubscribe();
    },
  };
}

function section(id, title, ...children) {
  return h(
    'section',
    { class: 'settings-section', 'aria-labelledby': id },
    h('h3', { id, text: title }),
    children,
  );
}

/** Your picture: an image uploaded (POST /attachments), then named in PATCH /me {avatar}. */
function pictureSection(me) {
  const shown = h('span', { class: 'picture' });
  const status = statusLine();
  const input = h('input', { type: 'file', accept: 'image/jpeg,image/png,image/webp,image/gif', hidden: true });
  const choose = h('button', { type: 'button', class: 'button subtle small', text: 'Choose a picture' });
  const remove = h('button', { type: 'button', class: 'button subtle small', text: 'Remove picture' });

  function show(user) {
    replace(shown, avatar(store.shownName(user), user.user_id, 'large', user.avatar_url));
    remove.hidden = !user.avatar_url;
  }
  show(me);

  async function setPicture(attachmentId) {
    const updated = await api.updateProfile({ avatar: attachmentId });
    store.userUpdated(updated);
    show(updated);
  }

  choose.addEventListener('click', () => input.click());
  input.addEventListener('change', () => {
    const [file] = input.files;
    input.value = '';
    if (!file) return;
    runAction(choose, status, async () => {
      status.ok('Uploading your picture…');
      const attachment = await upload(file).done;
      await setPicture(attachment.attachment_id);
      return 'Your picture is set.';
    });
  });
  remove.addEventListener('click', () =>
    runAction(remove, status, async () => {
      await setPicture(null);
      return 'Your picture is removed.';
    }),
  );
  return section(
    'settings-picture',
    'Picture',
    h('div', { class: 'row' }, shown, choose, remove, input),
    h('p', { class: 'muted small', text: 'Anyone on this server may see it. A JPEG, PNG, WebP or GIF.' }),
    status.element,
  );
}

function profileSection(me) {
  let saved = { display_name: me.display_name ?? null, username: me.username }; // what the form shows
  const built = form({
    id: 'profile',
    fields: [
      {
        name: 'display_name',
        label: 'Display name',
        autocomplete: 'name',
        value: me.display_name ?? '',
        required: false,
        hint: 'Shown instead of your username. Leave it empty to show your username.',
      },
      {
        name: 'username',
        label: 'Username',
        autocomplete: 'username',
        value: me.username,
        hint: '3 to 32 letters, digits, “_”, “.” or “-”. Others find you by it.',
      },
    ],
    submit: 'Save profile',
    busy: 'Saving…',
    call: async (v) => {
      // Only what was edited here: a rename made on another device meanwhile is not undone.
      const changes = {};
      const displayName = v.display_name.trim() || null;
      if (displayName !== saved.display_name) changes.display_name = displayName;
      if (v.username.trim() !== saved.username) changes.username = v.username.trim();
      if (Object.keys(changes).length === 0) return null;
      const updated = await api.updateProfile(changes);
      saved = { display_name: updated.display_name ?? null, username: updated.username };
      store.userUpdated(updated);
      return updated;
    },
    done: (updated) => (updated ? 'Profile saved.' : 'Nothing to change.'),
  });
  return section('settings-profile', 'Profile', built.element);
}

function emailSection(me) {
  const status = h('p', { class: 'email-status' });
  const resend = h('button', { type: 'button', class: 'button subtle small', text: 'Mail me the link again' });
  const resent = statusLine();
  let mailOff = false; // the server said it sends no mail: nothing here can verify the address

  function show(current) {
    replace(
      status,
      h('span', { class: 'email-address', text: current.email }),
      ' ',
      current.email_verified
        ? h('span', { class: 'tag ok', text: 'Verified' })
        : h('span', { class: 'tag warn', text: mailOff ? 'Not verified (this server sends no mail)' : 'Not verified' }),
    );
    resend.hidden = current.email_verified || mailOff;
  }
  show(me);

  resend.addEventListener('click', async () => {
    const failure = await runAction(resend, resent, async () => {
      await api.resendVerification();
      return 'A new link is on its way. Check your mail.';
    });
    if (failure?.code === 'mail_not_configured') {
      mailOff = true;
      show(me);
    }
  });

  const change = form({
    id: 'email',
    fields: [
      { name: 'email', label: 'New email address', type: 'email', autocomplete: 'email' },
      { name: 'password', label: 'Your password', type: 'password', autocomplete: 'current-password' },
    ],
    submit: 'Change email',
    busy: 'Saving…',
    submitClass: 'subtle',
    errorFields: { wrong_password: 'password' },
    call: (v) => api.changeEmail(v.email.trim(), v.password),
    done: (updated) => {
      me = updated;
      show(updated);
      change.inputs.password.value = '';
      return `Your address is now ${updated.email}. Open the link we mailed there to verify it.`;
    },
  });
  return section(
    'settings-email',
    'Email',
    status,
    h('div', { class: 'row' }, resend),
    resent.element,
    change.element,
  );
}

/** A password change signs the other devices out: `sessions`, the list of them, reloads. */
function passwordSection(sessions) {
  const built = form({
    id: 'password',
    fields: [
      { name: 'current_password', label: 'Current password', type: 'password', autocomplete: 'current-password' },
      {
        name: 'new_password',
        label: 'New password',
        type: 'password',
        autocomplete: 'new-password',
        hint: 'At least 8 characters. Your other devices will be signed out.',
      },
    ],
    submit: 'Change password',
    busy: 'Saving…',
    call: (v) => api.changePassword(v.current_password, v.new_password),
    done: () => {
      for (const input of Object.values(built.inputs)) input.value = '';
      sessions.reload();
      return 'Password changed. Your other devices were signed out.';
    },
  });
  return section('settings-password', 'Password', built.element);
}

function sessionsSection() {
  const list = h('ul', { class: 'settings-list', role: 'list', 'aria-label': 'Signed-in devices' });
  const status = statusLine();
  const everywhere = h('button', {
    type: 'button',
    class: 'button subtle',
    text: 'Sign out all other devices',
    onclick: () =>
      act(everywhere, async () => {
        await api.signOutEverywhere();
        return 'Every other device is signed out.';
      }),
  });

  /** Run a sign-out, reload the list, and leave focus on the line that says how it went. */
  async function act(button, action) {
    await runAction(button, status, action);
    await reload();
    status.element.setAttribute('tabindex', '-1');
    status.element.focus();
  }

  function row(session) {
    const seen = session.current ? 'Active now' : lastActive(session.last_seen_at);
    const where = session.address ? ` · ${session.address}` : '';
    const signOut = h('button', {
      type: 'button',
      class: 'button subtle small',
      text: 'Sign out',
      'aria-label': `Sign out ${session.device}`,
    });
    signOut.addEventListener('click', () =>
      act(signOut, async () => {
        await api.signOutSession(session.session_id);
        return `${session.device} is signed out.`;
      }),
    );
    return h(
      'li',
      { class: 'settings-item session', dataset: { sessionId: session.session_id } },
      h(
        'div',
        { class: 'settings-item-main' },
        h('span', { class: 'settings-item-name', text: session.device }),
        session.current ? h('span', { class: 'tag ok', text: 'This device' }) : null,
        h('span', { class: 'muted small', text: `${seen}${where}` }),
        h('time', {
          class: 'muted small',
          datetime: isoTime(session.created_at),
          text: `Signed in ${fullStamp(session.created_at)}`,
        }),
      ),
      session.current ? null : signOut,
    );
  }

  async function reload() {
    try {
      const { sessions } = await api.sessions();
      // This device first, then the others as the server orders them (most recently used first).
      const ordered = [...sessions.filter((s) => s.current), ...sessions.filter((s) => !s.current)];
      replace(list, ordered.map(row));
      everywhere.hidden = sessions.length < 2;
    } catch (error) {
      replace(list, h('li', { class: 'error-text', text: describeError(error) }));
    }
  }

  reload();
  const element = section(
    'settings-sessions',
    'Devices',
    list,
    h('div', { class: 'row' }, everywhere),
    status.element,
  );
  return { element, reload };
}

/** "Active 5 min ago", "Active yesterday", "Active on 3 Dec 2026, 17:06". */
function lastActive(ms) {
  const shown = relativeTime(ms);
  if (shown === 'now') return 'Active now';
  if (/^\d+ (min|h)$/.test(shown)) return `Active ${shown} ago`;
  if (shown === 'Yesterday') return 'Active yesterday';
  return `Active on ${fullStamp(ms)}`;
}

function blocksSection() {
  const list = h('ul', { class: 'settings-list', role: 'list', 'aria-label': 'People you block' });
  const status = statusLine();

  function row(block) {
    const unblock = h('button', {
      type: 'button',
      class: 'button subtle small',
      text: 'Unblock',
      'aria-label': `Unblock ${block.username}`,
    });
    unblock.addEventListener('click', async () => {
      // The store's change reloads this list; focus stays on the line that says so.
      await runAction(unblock, status, async () => {
        await chat.setBlocked(block.user_id, false);
        return `${block.username} can message you again.`;
      });
      status.element.setAttribute('tabindex', '-1');
      status.element.focus();
    });
    return h(
      'li',
      { class: 'settings-item' },
      avatar(block.username, block.user_id),
      h(
        'div',
        { class: 'settings-item-main' },
        h('span', { class: 'settings-item-name', text: block.username }),
        h('span', { class: 'muted small', text: `Blocked ${fullStamp(block.blocked_at)}` }),
      ),
      unblock,
    );
  }

  async function reload() {
    try {
      const { blocks } = await api.blocks();
      store.setBlocked(blocks.map((b) => b.user_id)); // the chats' Block buttons follow
      replace(
        list,
        blocks.length
          ? blocks.map(row)
          : h('li', { class: 'muted', text: 'You block nobody. To block someone, open your chat with them and choose Block.' }),
      );
    } catch (error) {
      replace(list, h('li', { class: 'error-text', text: describeError(error) }));
    }
  }

  reload();
  const element = section(
    'settings-blocks',
    'Blocked people',
    h('p', { class: 'muted small', text: 'They cannot message you 1:1 or add you to groups.' }),
    list,
    status.element,
  );
  return { element, reload };
}

function exportSection() {
  const status = statusLine();
  const button = h('button', { type: 'button', class: 'button subtle', text: 'Download my data' });
  button.addEventListener('click', () =>
    runAction(button, status, async () => {
      status.ok('Preparing your file…');
      const { blob, filename } = await download('/me/export', 'messenger-export.json');
      saveFile(blob, filename);
      return `Saved as ${filename}.`;
    }),
  );
  return section(
    'settings-export',
    'Your data',
    h('p', {
      class: 'muted small',
      text: 'One JSON file with your profile, devices, conversations, the messages you sent and whom you block.',
    }),
    h('div', { class: 'row' }, button),
    status.element,
  );
}

function saveFile(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = h('a', { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000); // the browser has the file by then
}

/** `leaving(true)` just before the deletion: its sockets close first, which is no sign-out. */
function deleteSection({ accountDeleted, leaving }) {
  const built = form({
    id: 'delete-account',
    fields: [{ name: 'password', label: 'Your password', type: 'password', autocomplete: 'current-password' }],
    submit: 'Delete my account',
    busy: 'Deleting…',
    submitClass: 'danger',
    errorFields: { wrong_password: 'password' },
    confirm: () =>
      confirmDialog(
        'Delete your account?',
        'Your account, its devices and whom you block are removed for good. You cannot undo this.',
        'Delete my account',
      ),
    call: async (v) => {
      leaving(true);
      try {
        await api.deleteAccount(v.password);
      } catch (error) {
        leaving(false);
        throw error;
      }
    },
    done: () => {
      accountDeleted();
      return null;
    },
  });
  return section(
    'settings-delete',
    'Delete your account',
    h('p', {
      class: 'muted small',
      text: 'You leave every conversation. What you sent stays or is erased, as this server is set up to do.',
    }),
    built.element,
  );
}
