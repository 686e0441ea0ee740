// One way to build a form that calls the API: labelled fields with hints, the API's validation
// errors under the field they name, one line for any other error, a busy submit button, and a
// status line for what went right. The sign-in screens and the settings page share it, and
// `statusLine` / `runAction` for single buttons (sign out a device, unblock, download).

import { describeError, fieldErrors } from '../api.js';
import { h } from '../dom.js';

// Errors about one field, said there rather than above the button.
const FIELD_OF_ERROR = {
  email_taken: 'email',
  username_taken: 'username',
  wrong_password: 'current_password',
};

/**
 * A line under a button that says how its action went: `ok(text)` is announced politely,
 * `error(text)` (an ApiError or a sentence) as an alert, in the error colour.
 */
export function statusLine() {
  const element = h('p', { class: 'form-status', role: 'status' });
  const show = (text, failed) => {
    element.textContent = text;
    element.classList.toggle('error-text', failed);
    element.setAttribute('role', failed ? 'alert' : 'status');
  };
  return {
    element,
    ok: (text) => show(text ?? '', false),
    error: (error) => show(typeof error === 'string' ? error : describeError(error), true),
    clear: () => show('', false),
  };
}

/**
 * Run `action()` for `button`: disabled meanwhile (no double submit), then `status` shows the
 * sentence it resolves to, or the error. Resolves to the error, or null when it worked.
 */
export async function runAction(button, status, action) {
  button.disabled = true;
  try {
    status.ok(await action());
    return null;
  } catch (error) {
    status.error(error);
    return error;
  } finally {
    button.disabled = false;
  }
}

/**
 * form({id, fields, submit, busy, call, done}): `call(values)` runs on submit; `done(result,
 * values)` may return a sentence for the status line. Fields: {name, label, type, autocomplete,
 * hint, value, required}; `errorFields` maps more error codes to the field they are about;
 * `confirm()`, if given, is asked first (false: nothing happens). Returns {element, inputs,
 * setError, status}.
 */
export function form({
  id,
  fields,
  submit,
  busy,
  call,
  done = () => null,
  submitClass = 'primary',
  extra = [],
  errorFields = {},
  confirm = null,
}) {
  const fieldOfError = { ...FIELD_OF_ERROR, ...errorFields };
  const inputs = {};
  const errors = {};
  const formError = h('p', { class: 'form-error', role: 'alert', id: `${id}-error` });
  const status = statusLine();
  const button = h('button', { type: 'submit', class: ['button', submitClass], text: submit });

  const rows = fields.map((field) => {
    const inputId = `${id}-${field.name}`;
    const hint = field.hint ? h('p', { class: 'hint', id: `${inputId}-hint`, text: field.hint }) : null;
    const error = h('p', { class: 'field-error', id: `${inputId}-error` });
    const input = h('input', {
      id: inputId,
      name: field.name,
      type: field.type ?? 'text',
      autocomplete: field.autocomplete,
      required: field.required ?? true,
      spellcheck: 'false',
      autocapitalize: 'none',
      'aria-describedby': [hint && hint.id, error.id].filter(Boolean).join(' '),
    });
    input.value = field.value ?? '';
    inputs[field.name] = input;
    errors[field.name] = error;
    return h('div', { class: 'field' }, h('label', { for: inputId, text: field.label }), input, hint, error);
  });

  /** Show `error` (an ApiError, a sentence, or null to clear) under its field or above the button. */
  function setError(error) {
    const byField = error && typeof error === 'object' ? fieldErrors(error) : {};
    const field = fieldOfError[error?.code];
    if (field && inputs[field]) byField[field] = describeError(error);
    for (const [name, el] of Object.entries(errors)) {
      el.textContent = byField[name] ?? '';
      inputs[name].setAttribute('aria-invalid', byField[name] ? 'true' : 'false');
    }
    const shownByField = Object.keys(byField).some((name) => errors[name]);
    formError.textContent = !error || shownByField ? '' : typeof error === 'string' ? error : describeError(error);
    const firstBad = Object.keys(errors).find((name) => byField[name]);
    if (firstBad) inputs[firstBad].focus();
  }

  const element = h(
    'form',
    {
      class: 'api-form',
      novalidate: true,
      onsubmit: async (event) => {
        event.preventDefault();
        const values = Object.fromEntries(Object.entries(inputs).map(([name, input]) => [name, input.value]));
        if (confirm && !(await confirm(values))) return;
        button.disabled = true;
        button.textContent = busy;
        element.setAttribute('aria-busy', 'true');
        status.clear();
        try {
          const result = await call(values);
          setError(null);
          status.ok(done(result, values));
        } catch (error) {
          setError(error);
        } finally {
          button.disabled = false;
          button.textContent = submit;
          element.removeAttribute('aria-busy');
        }
      },
    },
    rows,
    formError,
    status.element,
    h('div', { class: 'form-actions' }, button, extra),
  );
  return { element, inputs, setError, status };
}
