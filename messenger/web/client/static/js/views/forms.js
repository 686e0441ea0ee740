// One way to build a form that calls the API: labelled fields with hints, the API's validation
// errors under the field they name, one line for any other error, a busy submit button, and a
// status line for what went right. The sign-in screens and the settings page share it.

import { describeError, fieldErrors } from '../api.js';
import { h } from '../dom.js';

// Errors about one field, said there rather than above the button.
const FIELD_OF_ERROR = {
  email_taken: 'email',
  username_taken: 'username',
  wrong_password: 'current_password',
};

/**
 * form({id, fields, submit, busy, call, done}): `call(values)` runs on submit; `done(result,
 * values)` may return a sentence for the status line. Fields: {name, label, type, autocomplete,
 * hint, value, required}; `errorFields` maps more error codes to the field they are about.
 * Returns {element, inputs, setError, status}.
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
}) {
  const fieldOfError = { ...FIELD_OF_ERROR, ...errorFields };
  const inputs = {};
  const errors = {};
  const formError = h('p', { class: 'form-error', role: 'alert', id: `${id}-error` });
  const status = h('p', { class: 'form-status', role: 'status' });
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
        button.disabled = true;
        button.textContent = busy;
        element.setAttribute('aria-busy', 'true');
        status.textContent = '';
        try {
          const result = await call(values);
          setError(null);
          status.textContent = done(result, values) ?? '';
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
    status,
    h('div', { class: 'form-actions' }, button, extra),
  );
  return { element, inputs, setError, status };
}
