// Boot: restore the session or show sign-in; wire the API, live updates, the store and the
// views together; route on the URL fragment (#/t/<thread_id>, #/new/<user_id>, #/settings, and
// the mailed links #/reset?token=… and #/verify-email?token=…, which work signed in or not).

import { api, configure } from './api.js';
import * as chat from './chat.js';
import { backoff, Live } from './live.js';
import { clearSession, loadSession, onSessionChangedElsewhere, saveSession } from './session.js';
import * as store from './store.js';
import { renderAuth, renderVerifyEmail } from './views/auth.js';
import { connectionBanner } from './views/banner.js';
import { renderShell } from './views/shell.js';

const root = document.getElementById('app');
const bannerElement = document.getElementById('banner');

// Relative times in the thread list ("5 min") must move on by themselves.
const CLOCK_TICK_MS = 30_000;

let current = null; // {session, live, shell, banner, timers} while signed in

function start(session) {
  stop();
  configure({ token: session.token, unauthorized: () => signedOut('Your session has ended. Please sign in again.') });
  store.reset();
  store.signedIn(session);
  const live = new Live({
    token: session.token,
    update: (entry) => chat.applyUpdate(entry),
    typing: (frame) => store.startTyping(frame.thread_id, frame.user_id),
    status: (status) => {
      // Back live after a gap (or for the first time): whom you block and your invitations may
      // have changed meanwhile, and the log says nothing of blocks or declines.
      if (status.state === 'live' && store.state.connection.state !== 'live') chat.loadAccount();
      store.setConnection(status);
    },
    expired: () => chat.reloadAfterExpiry(),
    unauthorized: () => signedOut('Your session has ended. Please sign in again.'),
  });
  chat.attachLive(live);
  current = {
    session,
    live,
    shell: renderShell(root, { signOut, accountDeleted, leaving }),
    banner: connectionBanner(bannerElement, () => live.retryNow()),
    clock: setInterval(() => store.changed('threads'), CLOCK_TICK_MS),
    stopped: false,
    leaving: false, // the account is being deleted: its sockets' 4401 is no sign-out to report
  };
  current.unsubscribe = store.subscribe((topics) => {
    if (topics.has('connection') || topics.has('all')) current?.banner.render();
    if (topics.has('all')) rememberName();
  });
  route();
  connect(current);
  chat.loadLimits(); // the largest file and how many a message may carry, checked before uploading
}

/** Load the thread list, then follow the log from the cursor it was read at; retry until it works. */
async function connect(session) {
  for (let attempt = 0; !session.stopped; attempt++) {
    try {
      const cursor = await chat.loadThreads();
      if (session.stopped) return;
      session.live.start(cursor);
      return;
    } catch (error) {
      if (error.status === 401 || session.stopped) return; // signed out by the API hook
      const delay = backoff(attempt);
      store.setConnection({ state: 'reconnecting', transport: 'socket', retryAt: Date.now() + delay });
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, delay);
        session.retryBoot = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }
}

function stop() {
  if (!current) return;
  current.stopped = true;
  current.live.stop();
  chat.abortUploads();
  current.shell.destroy();
  current.banner.destroy();
  current.unsubscribe();
  clearInterval(current.clock);
  current = null;
  configure({ token: null });
  store.reset();
}

function showSignIn(notice = null, mode = 'signin', token = null) {
  stop();
  renderAuth(root, {
    mode,
    token,
    notice,
    signedIn: (reply) => {
      saveSession(reply);
      window.location.hash = '#/';
      start(loadSession() ?? reply);
    },
    // A reset signs out every session of its account. This browser's session may be another
    // account's: it carries on, and if it was this one, its next request says so (401).
    passwordReset: () => {
      const saved = loadSession();
      if (saved) start(saved);
      else showSignIn('Your password is changed. Sign in with the new one.');
    },
  });
}

/** Keep the saved session's username as the server has it (a rename), for the next reload. */
function rememberName() {
  const me = store.state.me;
  if (!current || !me || me.username === current.session.username) return;
  current.session = { ...current.session, username: me.username };
  saveSession(current.session);
}

function leaving(yes) {
  if (current) current.leaving = yes;
}

function accountDeleted() {
  clearSession();
  window.location.hash = '#/';
  showSignIn('Your account is deleted.');
}

/** The server no longer accepts our token (or another tab signed out): back to sign-in. */
function signedOut(notice) {
  if (!current || current.leaving) return;
  clearSession();
  showSignIn(notice);
}

async function signOut() {
  try {
    await api.signOut(); // revoke this device's token on the server
  } catch {
    // Offline or already revoked: forgetting it here still signs this browser out.
  }
  clearSession();
  showSignIn();
}

/**
 * The page a mailed link opens (#/reset?token=…, #/verify-email?token=…), or null. The token
 * leaves the address bar and the history at once: Back must not post a spent token again.
 */
function mailedLink() {
  const link = window.location.hash.match(/^#\/(reset|verify-email)\?(.*)$/);
  const token = link && new URLSearchParams(link[2]).get('token');
  if (!token) return null;
  history.replaceState(null, '', `#/${link[1]}`);
  return { page: link[1], token };
}

function route() {
  const link = mailedLink();
  if (link?.page === 'reset') {
    showSignIn(null, 'reset', link.token);
    return;
  }
  if (link?.page === 'verify-email') {
    stop();
    // Continue: back to the app (the hash change starts a saved session) or to sign-in.
    const next = () => {
      window.location.hash = '#/';
      if (!loadSession()) showSignIn();
    };
    renderVerifyEmail(root, { token: link.token, next });
    return;
  }
  if (!current) {
    const saved = loadSession();
    if (saved) start(saved);
    else if (!root.querySelector('.auth')) showSignIn();
    return;
  }
  const hash = window.location.hash;
  const thread = hash.match(/^#\/t\/([^/]+)$/);
  const draft = hash.match(/^#\/new\/([^/]+)$/);
  if (thread) current.shell.show({ name: 'thread', id: decodeURIComponent(thread[1]) });
  else if (draft) current.shell.show({ name: 'draft', id: decodeURIComponent(draft[1]) });
  else if (hash === '#/settings') current.shell.show({ name: 'settings' });
  else current.shell.show({ name: 'list' });
}

window.addEventListener('hashchange', route);
// A file dropped beside the conversation (which takes drops) must not replace the page with it.
for (const type of ['dragover', 'drop']) {
  window.addEventListener(type, (event) => {
    if (event.dataTransfer?.types.includes('Files')) event.preventDefault();
  });
}
window.addEventListener('online', () => current?.retryBoot?.());
onSessionChangedElsewhere((session) => {
  if (!session) signedOut('You signed out in another tab.');
  else if (session.token !== current?.session.token) start(session);
});

route();
