// @mentions: highlighted in a message's text, and completed from the thread's members while
// typing in the compose box. The pattern is the server's (messenger/text.py, MENTION).

import { h } from '../dom.js';
import { state } from '../store.js';

// "@name" where a username may start: not inside a word or an address (alice@example.com).
const MENTION = /(?<![\w@.-])@([A-Za-z0-9_.-]{3,32})/g;
const COMPLETING = /(?:^|[^\w@.-])@([A-Za-z0-9_.-]{0,32})$/;
const MAX_SUGGESTIONS = 6;

/**
 * `contents` as text nodes, each "@name" of `mentioned` ([[lower-case username, user_id]])
 * wrapped in a <mark>: built with text only, never parsed as HTML.
 */
export function withMentions(contents, mentioned) {
  if (!mentioned.length) return [contents];
  const ids = new Map(mentioned);
  const parts = [];
  let last = 0;
  for (const match of contents.matchAll(MENTION)) {
    let name = match[1];
    // "thanks @bob." mentions bob: the server also reads a name without trailing dots and dashes.
    if (!ids.has(name.toLowerCase())) name = name.replace(/[.-]+$/, '');
    const userId = ids.get(name.toLowerCase());
    if (!userId) continue;
    parts.push(contents.slice(last, match.index));
    const me = userId === state.me.user_id;
    parts.push(h('mark', { class: ['mention', me && 'me'], text: `@${name}` }));
    last = match.index + 1 + name.length;
  }
  parts.push(contents.slice(last));
  return parts;
}

/**
 * Suggest members for the "@…" being typed in `input`; returns {element, keydown(event) → true
 * when it used the key, update()}. `members()` gives the people to suggest.
 */
export function mentionCompleter(input, members) {
  const list = h('ul', { class: 'mention-list', id: 'mention-list', role: 'listbox', 'aria-label': 'Mention someone', hidden: true });
  let options = [];
  let active = 0;
  let start = -1; // where the "@" being completed is

  input.setAttribute('aria-autocomplete', 'list');
  input.setAttribute('aria-controls', 'mention-list');
  input.setAttribute('aria-expanded', 'false');

  function update() {
    const caret = input.selectionStart;
    const before = input.value.slice(0, caret);
    const match = input.selectionStart === input.selectionEnd ? before.match(COMPLETING) : null;
    if (!match) return close();
    const prefix = match[1].toLowerCase();
    start = caret - match[1].length - 1;
    const chosen = options.map((m) => m.user_id);
    options = members()
      .filter((m) => m.user_id !== state.me.user_id && m.username.toLowerCase().startsWith(prefix))
      .slice(0, MAX_SUGGESTIONS);
    if (!options.length) return close();
    if (options.map((m) => m.user_id).join() !== chosen.join()) active = 0;
    render();
  }

  function render() {
    list.replaceChildren(
      ...options.map((member, index) =>
        h('li', {
          id: `mention-option-${index}`,
          role: 'option',
          class: ['mention-option', index === active && 'active'],
          'aria-selected': index === active ? 'true' : 'false',
          text: `@${member.username}`,
          onmousedown: (event) => event.preventDefault(), // keep the focus in the box
          onclick: () => pick(index),
        }),
      ),
    );
    list.hidden = false;
    input.setAttribute('aria-expanded', 'true');
    input.setAttribute('aria-activedescendant', `mention-option-${active}`);
  }

  function close() {
    options = [];
    list.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
  }

  function pick(index) {
    const member = options[index];
    if (!member) return;
    const caret = input.selectionStart;
    const inserted = `@${member.username} `;
    input.setRangeText(inserted, start, caret, 'end');
    close();
    input.focus();
    input.dispatchEvent(new Event('input'));
  }

  function keydown(event) {
    if (list.hidden || !options.length) return false;
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      const step = event.key === 'ArrowDown' ? 1 : -1;
      active = (active + step + options.length) % options.length;
      render();
    } else if ((event.key === 'Enter' && !event.shiftKey) || event.key === 'Tab') {
      pick(active);
    } else if (event.key === 'Escape') {
      close();
    } else {
      return false;
    }
    event.preventDefault();
    return true;
  }

  input.addEventListener('input', update);
  input.addEventListener('click', update);
  input.addEventListener('blur', close);

  return { element: list, keydown, update, close };
}
