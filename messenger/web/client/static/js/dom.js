// Builds DOM from data without ever parsing data as HTML. Text reaches the page through
// textContent / text nodes only, so a message such as "<img src=x onerror=…>" stays text.
// Nothing in the client uses innerHTML, and `style` is refused here because the CSP forbids
// inline style attributes: looks come from classes in app.css.

const FORBIDDEN = new Set(['style', 'innerHTML', 'outerHTML', 'srcdoc']);

/**
 * h('button', {class: 'primary', onclick: fn, text: 'Send'}, child, ...)
 * Props: class (string or array), text, dataset, on<event> listeners, attributes otherwise
 * (true → present, false/null/undefined → absent). Children: nodes, strings, arrays, null.
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (FORBIDDEN.has(key)) throw new Error(`h(): "${key}" is not allowed`);
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') {
      el.className = Array.isArray(value) ? value.filter(Boolean).join(' ') : value;
    } else if (key === 'text') {
      el.textContent = String(value);
    } else if (key === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

/** Append children: nodes as they are, anything else as a text node. */
export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

/** Replace everything inside `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

// Avatar colours come from a fixed palette of classes (hue-0 … hue-7), picked by a stable hash
// of the id, so one person keeps one colour everywhere.
const HUES = 8;
export function hueClass(id) {
  let hash = 0;
  for (const char of String(id)) hash = (hash * 31 + char.codePointAt(0)) >>> 0;
  return `hue-${hash % HUES}`;
}

/** A person's picture (``avatar_url``, same-origin) when they set one, else their initial. */
export function avatar(name, id, extraClass, url = null) {
  if (url) return h('img', { class: ['avatar', 'photo', extraClass], src: url, alt: '', loading: 'lazy' });
  const initial = (Array.from(name || '?')[0] || '?').toUpperCase();
  return h('span', { class: ['avatar', hueClass(id || name), extraClass], 'aria-hidden': 'true', text: initial });
}

/** True when the element is scrolled to (or within `slack` px of) its bottom. */
export function atBottom(el, slack = 80) {
  return el.scrollHeight - el.scrollTop - el.clientHeight <= slack;
}
