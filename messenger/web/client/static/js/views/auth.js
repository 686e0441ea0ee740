// Sign in and create an account. Errors come from the API's codes: one line for the form, and
// a message under each field a validation error names.

import { api, describeError, fieldErrors } from '../api.js';
import { h, replace } from '../dom.js';

const FORMS = {
  signin: {
    heading: 'Sign in',
    submit: 'Sign in',
    busy: 'Signing in…',
    fields: [
      { name: 'login', label: 'Username or email', type: 'text', autocomplete: 'username' },
      { name: 'password', label: 'Password', type: 'password', autocomplete: 'current-password' },
    ],
    switchText: 'New here?',
    switchLabel: 'Create an account',
    other: 'signup',
    call: (v) => api.signIn(v.login.trim(), v.password),
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
        type: 'text',
        autocomplete: 'username',
        hint: '3 to 32 letters, digits, “_”, “.” or “-”. Others find you by it.',
      },
      {
        name: 'password',
        label: 'Password',
        type: 'password',
        autocomplete: 'new-password',
        hint: 'At least 8 characters.',
      },
    ],
    switchText: 'Already have an account?',
    switchLabel: 'Sign in',
    other: 'signin',
    call: (v) => api.signUp(v.email.trim(), v.username.trim(), v.password),
  },
};

/** Render the sign-in (or sign-up) screen into `root`; `signedIn(reply)` gets the API's reply. */
export function renderAuth(root, { mode = 'signin', signedIn, notice = null }) {
  const spec = FORMS[mode];
  const inputs = {};
  const fieldErrorsById = {};
  const formError = h('p', { class: 'form-error', role: 'alert', id: 'form-error' });
  if (notice) formError.textContent = notice;
  const submit = h('button', { type: 'submit', class: 'button primary wide', text: spec.submit });

  const fields = spec.fields.map((field) => {
    const id = `auth-${field.name}`;
    const hint = field.hint ? h('p', { class: 'hint', id: `${id}-hint`, text: field.hint }) : null;
    const error = h('p', { class: 'field-error', id: `${id}-error` });
    const input = h('input', {
      id,
      name: field.name,
      type: field.type,
      autocomplete: field.autocomplete,
      required: true,
      spellcheck: 'false',
      autocapitalize: 'none',
      'aria-describedby': [hint && hint.id, error.id].filter(Boolean).join(' '),
    });
    inputs[field.name] = input;
    fieldErrorsById[field.name] = error;
    return h('div', { class: 'field' }, h('label', { for: id, text: field.label }), input, hint, error);
  });

  const showErrors = (error) => {
    const byField = error ? fieldErrors(error) : {};
    // A taken email or username is about one field: say it there.
    const field = { email_taken: 'email', username_taken: 'username' }[error?.code];
    if (field && inputs[field]) byField[field] = describeError(error);
    for (const [name, el] of Object.entries(fieldErrorsById)) {
      el.textContent = byField[name] ?? '';
      inputs[name].setAttribute('aria-invalid', byField[name] ? 'true' : 'false');
    }
    formError.textContent = error && !field ? describeError(error) : '';
    const firstBad = Object.keys(fieldErrorsById).find((name) => byField[name]);
    if (firstBad) inputs[firstBad].focus();
  };

  const form = h(
    'form',
    {
      class: 'auth-form',
      novalidate: true,
      'aria-labelledby': 'auth-heading',
      onsubmit: async (event) => {
        event.preventDefault();
        const values = Object.fromEntries(Object.entries(inputs).map(([name, input]) => [name, input.value]));
        submit.disabled = true;
        submit.textContent = spec.busy;
        form.setAttribute('aria-busy', 'true');
        try {
          signedIn(await spec.call(values));
        } catch (error) {
          showErrors(error);
          submit.disabled = false;
          submit.textContent = spec.submit;
          form.removeAttribute('aria-busy');
        }
      },
    },
    h('h1', { id: 'auth-heading', text: spec.heading }),
    fields,
    formError,
    submit,
    h(
      'p',
      { class: 'switch' },
      `${spec.switchText} `,
      h('button', {
        type: 'button',
        class: 'link',
        text: spec.switchLabel,
        onclick: () => renderAuth(root, { mode: spec.other, signedIn }),
      }),
    ),
  );

  replace(
    root,
    h(
      'section',
      { class: 'auth' },
      h(
        'div',
        { class: 'auth-card' },
        h('div', { class: 'brand' }, h('img', { src: '/app/icon.svg', alt: '', width: 40, height: 40 }), 'Messenger'),
        form,
      ),
    ),
  );
  root.removeAttribute('aria-busy');
  document.title = `${spec.heading} · Messenger`;
  inputs[spec.fields[0].name].focus();
}
