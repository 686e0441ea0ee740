// The photo viewer: a modal <dialog> with the full image (its signed `url`), its name, a
// download link and Close. Escape, the Close button and a click beside the image close it, and
// focus goes back to the thumbnail that opened it.

import { h } from '../dom.js';

/**
 * Show one image. `refresh()` resolves to a fresh URL when the one given has expired (or null);
 * it is asked once, if the image fails to load.
 */
export function openViewer({ filename, url, width, height, refresh = async () => null }) {
  const opener = document.activeElement;
  const id = `viewer-${Math.random().toString(36).slice(2)}`;
  const image = h('img', { class: 'viewer-image', src: url, alt: filename, width, height });
  const download = h('a', { class: 'button subtle small', href: url, download: filename, text: 'Download' });
  const close = h('button', { type: 'button', class: 'icon-button', 'aria-label': 'Close', text: '×', autofocus: true });
  const failed = h('p', { class: 'error-text center', hidden: true, text: "This image can't be loaded right now." });
  const dialog = h(
    'dialog',
    { class: 'dialog viewer', 'aria-labelledby': id },
    h('header', { class: 'dialog-head' }, h('h2', { id, class: 'viewer-name', text: filename }), download, close),
    h('div', { class: 'viewer-body' }, image, failed),
  );
  image.addEventListener(
    'error',
    async () => {
      const fresh = await refresh();
      if (fresh && fresh !== url) {
        image.src = fresh;
        download.href = fresh;
        image.addEventListener('error', () => (failed.hidden = false), { once: true });
      } else {
        failed.hidden = false;
      }
    },
    { once: true },
  );
  close.addEventListener('click', () => dialog.close());
  dialog.addEventListener('click', (event) => {
    if (event.target === dialog || event.target.classList.contains('viewer-body')) dialog.close();
  });
  dialog.addEventListener('close', () => {
    dialog.remove();
    if (opener?.isConnected) opener.focus();
  });
  document.body.append(dialog);
  dialog.showModal();
  close.focus();
  return dialog;
}
