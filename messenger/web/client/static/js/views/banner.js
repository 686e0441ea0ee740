// The connection banner: says when live updates are down and when the next attempt is, with a
// button to try at once. Hidden while connected; not shown for a first connect that is quick.

import { h, replace } from '../dom.js';
import { state } from '../store.js';

const SHOW_CONNECTING_AFTER_MS = 1_500; // a normal connect is faster: no flash of a banner

export function connectionBanner(element, retryNow) {
  let ticker = null;
  let connectingSince = null;

  function render() {
    clearTimeout(ticker);
    const { state: status, retryAt, transport } = state.connection;
    document.documentElement.dataset.connection = status;
    document.documentElement.dataset.transport = transport;
    if (status !== 'connecting') connectingSince = null;

    let content = null;
    if (!navigator.onLine) {
      content = [h('span', { text: 'You’re offline. Messages will arrive when the network is back.' })];
    } else if (status === 'reconnecting') {
      const seconds = Math.max(1, Math.ceil((retryAt - Date.now()) / 1000));
      content = [
        h('span', { text: `Connection lost. Reconnecting in ${seconds} s…` }),
        h('button', { type: 'button', class: 'link', text: 'Retry now', onclick: retryNow }),
      ];
      ticker = setTimeout(render, 1000);
    } else if (status === 'connecting') {
      connectingSince ??= Date.now();
      const waited = Date.now() - connectingSince;
      if (waited >= SHOW_CONNECTING_AFTER_MS) content = [h('span', { text: 'Connecting…' })];
      else ticker = setTimeout(render, SHOW_CONNECTING_AFTER_MS - waited);
    }
    element.hidden = !content;
    element.classList.toggle('offline', !navigator.onLine);
    replace(element, content);
  }

  window.addEventListener('online', render);
  window.addEventListener('offline', render);
  render();
  return {
    render,
    destroy() {
      clearTimeout(ticker);
      window.removeEventListener('online', render);
      window.removeEventListener('offline', render);
      element.hidden = true;
      element.replaceChildren();
    },
  };
}
