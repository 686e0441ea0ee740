// The tray above a compose box: one row per file being attached, with its progress bar and
// Cancel while it uploads, Retry and Remove when it failed, and Remove (with its thumbnail, once
// the server made one) when it is done. No local preview: the page's CSP has no blob: images,
// so a photo shows its name and progress until the server's thumbnail exists.

import { h } from '../dom.js';
import { describeUploadError } from '../api.js';
import { humanSize } from '../format.js';
import * as chat from '../chat.js';
import { uploadsFor } from '../store.js';
import { fit } from './attachments.js';
import { keyedList } from './rows.js';

const TRAY_THUMBNAIL = 40; // px

/**
 * The tray of `target` (a thread id, or "draft:<user_id>"); `render()` on every change.
 * `gone()` runs after a row's Cancel or Remove took it away (focus goes back to the box).
 */
export function uploadTray(target, { gone = () => {} } = {}) {
  const list = h('ul', { class: 'upload-list', 'aria-label': 'Files to send' });
  const element = h('div', { class: 'upload-tray', hidden: true }, list);
  const rows = keyedList(list);

  function render() {
    const uploads = uploadsFor(target);
    element.hidden = uploads.length === 0;
    rows.show(
      uploads.map((upload) => ({
        key: upload.id,
        signature: JSON.stringify([upload.status, upload.error?.message ?? null, upload.attachment?.thumbnail_url ?? null]),
        build: () => uploadRow(upload, gone),
      })),
    );
    // Progress moves without rebuilding the row (focus on its Cancel button stays).
    for (const upload of uploads) {
      const bar = list.querySelector(`[data-key="${CSS.escape(upload.id)}"] progress`);
      if (bar) bar.value = upload.loaded;
    }
  }

  return {
    element,
    render,
    /** Whether the message may be sent: every file in the tray is uploaded. */
    ready: () => uploadsFor(target).every((u) => u.status === 'done'),
    uploads: () => uploadsFor(target),
  };
}

function uploadRow(upload, gone) {
  const { name } = upload;
  const thumbnail = upload.attachment?.thumbnail_url
    ? h('img', {
        class: 'upload-thumbnail',
        src: upload.attachment.thumbnail_url,
        alt: '',
        ...fit(upload.attachment.width || 1, upload.attachment.height || 1, TRAY_THUMBNAIL),
      })
    : h('span', { class: 'upload-icon', 'aria-hidden': 'true', text: upload.image ? '📷' : '📎' });
  let detail;
  let buttons;
  if (upload.status === 'queued' || upload.status === 'uploading') {
    detail = h('progress', {
      class: 'upload-progress',
      max: String(Math.max(upload.size, 1)),
      value: String(upload.loaded),
      'aria-label': `Uploading ${name}`,
    });
    buttons = [button('Cancel', `Cancel uploading ${name}`, () => (chat.cancelUpload(upload.id), gone()))];
  } else if (upload.status === 'failed') {
    detail = h('span', { class: 'upload-error', text: describeUploadError(upload.error) });
    buttons = [
      button('Retry', `Retry uploading ${name}`, () => chat.retryUpload(upload.id)),
      button('Remove', `Remove ${name}`, () => (chat.removeUpload(upload.id), gone())),
    ];
  } else {
    detail = h('span', { class: 'upload-size muted', text: humanSize(upload.size) });
    buttons = [button('Remove', `Remove ${name}`, () => (chat.removeUpload(upload.id), gone()))];
  }
  return h(
    'li',
    { class: 'upload', dataset: { status: upload.status } },
    thumbnail,
    h('span', { class: 'upload-main' }, h('span', { class: 'upload-name', text: name }), detail),
    h('span', { class: 'upload-actions' }, buttons),
  );
}

function button(text, label, onclick) {
  return h('button', { type: 'button', class: 'link small', text, 'aria-label': label, onclick });
}
