// The screens before you are signed in: sign in, create an account, ask for a password reset
// link, set a new password from that link (#/reset?token=…) and verify an email address from the
// mailed link (#/verify-email?token=…). Errors come from the API's codes (views/forms.js).

import { api, describeError } from '../api.js';
import { h, replace } from '../dom.js';
import { form } from './forms.js';

const NEW_PASSWORD_HINT = 'At least 8 characters.';

const SCREENS = {
  signin: {
    heading: 'Sign in',
    submit: 'Sign in',
    busy: 'Signing in…',
    fields: [
      { name: 'login', label: 'Username or email', autocomplete: 'username' },
      { name: 'password', label: 'Password', type: 'password', autocomplete: 'current-password' },
    ],
    call: (v) => api.signIn(v.login.trim(), v.password),
    links: [
      ['New here?', 'Create an account', 'signup'],
      ['', 'Forgot your password?', 'forgot'],
    ],
  },
  signup: {
    heading: 'Create your account',
    submit: 'Create account',
    busy: 'Creating account…',
    fields: [
      { name: 'email', label: 'Email', type: 'email', autocomplete: 'email' },
      {
        name: 'username',
        label: 'Username',
        autocomplete: 'username',
        hint: '3 to 32 letters, digits, “_”, “.” or “-”. Others find you by it.',
      },
      { name: 'password', label: 'Password', type: 'password', autocomplete: 'new-password', hint: NEW_PASSWORD_HINT },
    ],
    call: (v) => api.signUp(v.email.trim(), v.username.trim(), v.password),
    links: [['Already have an account?', 'Sign in', 'signin']],
  },
  forgot: {
    heading: 'Reset your password',
    intro: 'Enter the email address of your account: we will mail you a link to choose a new password.',
    submit: 'Mail me a link',
    busy: 'Sending…',
    fields: [{ name: 'email', label: 'Email', type: 'email', autocomplete: 'email' }],
    call: (v) => api.requestPasswordReset(v.email.trim()),
    // The same answer whether or not the address has an account (the server tells nobody).
    done: (_, v) => `If an account has the address ${v.email.trim()}, a link is on its way. Check your mail.`,
    links: [['Remembered it?', 'Sign in', 'signin']],
  },
  reset: {
    heading: 'Choose a new password',
    intro: 'Every device signed in to your account will be signed out.',
    submit: 'Set password',
    busy: 'Saving…',
    fields: [
      { name: 'new_password', label: 'New password', type: 'password', autocomplete: 'new-password', hint: NEW_PASSWORD_HINT },
    ],
    links: [['', 'Back to sign in', 'signin']],
  },
};

/**
 * Render a screen into `root`: `mode` is one of SCREENS; `signedIn(reply)` gets the sign-in or
 * sign-up reply; `token` is the reset link's; `passwordReset()` runs once a reset worked.
 */
export function renderAuth(root, { mode = 'signin', signedIn, notice = null, token = null, passwordReset }) {
  const spec = SCREENS[mode];
  const go = (next) => {
    if (mode === 'reset') window.location.hash = '#/'; // leave the link: its token is spent or unwanted
    renderAuth(root, { mode: next, signedIn, passwordReset });
  };
  const call = mode === 'reset' ? (v) => api.confirmPasswordReset(token, v.new_password) : spec.call;
  const done = mode === 'reset' ? () => passwordReset() : mode === 'forgot' ? spec.done : (reply) => signedIn(reply);
  const built = form({ id: 'auth', fields: spec.fields, submit: spec.submit, busy: spec.busy, call, done });
  built.element.querySelector('.form-actions button').classList.add('wide');
  if (notice) built.setError(notice);

  const links = spec.links.map(([text, label, next]) =>
    h('p', { class: 'switch' }, text ? `${text} ` : null, h('button', { type: 'button', class: 'link', text: label, onclick: () => go(next) })),
  );
  card(
    root,
    spec.heading,
    h('h1', { id: 'auth-heading', text: spec.heading }),
    spec.intro ? h('p', { class: 'muted', text: spec.intro }) : null,
    built.element,
    links,
  );
  built.element.setAttribute('aria-labelledby', 'auth-heading');
  built.inputs[spec.fields[0].name].focus();
}

/**
 * The page a verification link opens: it verifies at once (whoever is signed in here, or
 * nobody) and says how it went; `next()` leaves for the app or sign-in.
 */
export async function renderVerifyEmail(root, { token, next }) {
  const status = h('p', { role: 'status', text: 'Verifying your email address…' });
  const onward = h('button', { type: 'button', class: 'button primary wide', text: 'Continue', hidden: true, onclick: next });
  card(root, 'Verify your email', h('h1', { text: 'Verify your email' }), status, onward);
  try {
    await api.verifyEmail(token);
    status.textContent = 'Your email address is verified. Thank you!';
  } catch (error) {
    status.textContent = describeError(error);
    status.classList.add('error-text');
  }
  onward.hidden = false;
  onward.focus();
}

function card(root, title, ...children) {
  replace(
    root,
    h(
      'section',
      { class: 'auth' },
      h(
        'div',
        { class: 'auth-card' },
        h('div', { class: 'brand' }, h('img', { src: '/app/icon.svg', alt: '', width: 40, height: 40 }), 'Messenger'),
        h('div', { class: 'auth-form' }, children),
      ),
    ),
  );
  root.removeAttribute('aria-busy');
  document.title = `${title} · Messenger`;
}
