// Where the session (token, user id, username) is kept.
//
// localStorage, so that a reload or a new tab stays signed in. The trade-off: any script running
// on this origin can read it, so an XSS bug would leak the token. That risk is kept small, not
// removed, by the strict Content-Security-Policy (only our own script files run: no inline or
// foreign script) and by rendering all user data as text, never as HTML. An HttpOnly cookie would
// hide the token from script, but the API authenticates with a bearer header (and cookies would
// bring CSRF into play). The token never appears in a URL, except the WebSocket's query string,
// because browsers cannot set headers on a WebSocket.

const KEY = 'messenger.session';

export function loadSession() {
  try {
    const session = JSON.parse(localStorage.getItem(KEY) || 'null');
    return session && session.token && session.user_id ? session : null;
  } catch {
    return null; // storage disabled or a corrupt value: just sign in again
  }
}

export function saveSession({ token, user_id, username }) {
  try {
    localStorage.setItem(KEY, JSON.stringify({ token, user_id, username }));
  } catch {
    // Private mode with storage off: the session lasts as long as this page.
  }
}

export function clearSession() {
  try {
    localStorage.removeItem(KEY);
  } catch {
    // nothing stored, nothing to clear
  }
}

/** Call `fn` when another tab signs in or out, so every tab follows. */
export function onSessionChangedElsewhere(fn) {
  window.addEventListener('storage', (event) => {
    if (event.key === KEY || event.key === null) fn(loadSession());
  });
}
