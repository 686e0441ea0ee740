// Boot: restore the session or show sign-in; wire the API, live updates, the store and the
// views together; route on the URL fragment (#/t/<thread_id>, #/new/<user_id>).

import { api, configure } from './api.js';
import * as chat from './chat.js';
import { backoff, Live } from './live.js';
import { clearSession, loadSession, onSessionChangedElsewhere, saveSession } from './session.js';
import * as store from './store.js';
import { renderAuth } from './views/auth.js';
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
    status: (status) => store.setConnection(status),
    expired: () => chat.reloadAfterExpiry(),
    unauthorized: () => signedOut('Your session has ended. Please sign in again.'),
  });
  chat.attachLive(live);
  current = {
    session,
    live,
    shell: renderShell(root, { signOut }),
    banner: connectionBanner(bannerElement, () => live.retryNow()),
    clock: setInterval(() => store.changed('threads'), CLOCK_TICK_MS),
    stopped: false,
  };
  current.unsubscribe = store.subscribe((topics) => {
    if (topics.has('connection') || topics.has('all')) current?.banner.render();
  });
  route();
  connect(current);
}

/** Load the thread list, then follow the log from the cursor it was read at; retry until it works. */
async function connect(session) {
  for (let attempt = 0; !session.stopped; attempt++) {
    try {
      const cursor = await chat.loadThreads();
      if (!session.stopped) session.live.start(cursor);
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
  current.shell.destroy();
  current.banner.destroy();
  current.unsubscribe();
  clearInterval(current.clock);
  current = null;
  configure({ token: null });
  store.reset();
}

function showSignIn(notice = null) {
  stop();
  renderAuth(root, {
    notice,
    signedIn: (reply) => {
      saveSession(reply);
      window.location.hash = '#/';
      start(loadSession() ?? reply);
    },
  });
}

/** The server no longer accepts our token (or another tab signed out): back to sign-in. */
function signedOut(notice) {
  if (!current) return;
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

function route() {
  if (!current) return;
  const hash = window.location.hash;
  const thread = hash.match(/^#\/t\/([^/]+)$/);
  const draft = hash.match(/^#\/new\/([^/]+)$/);
  if (thread) current.shell.show({ name: 'thread', id: decodeURIComponent(thread[1]) });
  else if (draft) current.shell.show({ name: 'draft', id: decodeURIComponent(draft[1]) });
  else current.shell.show({ name: 'list' });
}

window.addEventListener('hashchange', route);
window.addEventListener('online', () => current?.retryBoot?.());
onSessionChangedElsewhere((session) => {
  if (!session) signedOut('You signed out in another tab.');
  else if (session.token !== current?.session.token) start(session);
});

const saved = loadSession();
if (saved) start(saved);
else showSignIn();
