// A message's files: photos as thumbnails that open the viewer (views/viewer.js), anything else
// as a chip with an icon, the name, the size and a download link. Their signed URLs expire
// (ATTACHMENT_URL_TTL_S): an image that fails to load, or a download whose link has expired,
// reads the message's page again for fresh ones (chat.refreshAttachments).

import { h } from '../dom.js';
import { humanSize, isPhoto } from '../format.js';
import * as chat from '../chat.js';
import { attachmentsOf, findMessage } from '../store.js';
import { openViewer } from '../views/viewer.js';

const THUMBNAIL_BOX = 240; // px: a thumbnail is shown within this square, keeping its shape

/** What a row shows of an attachment (part of its signature: fresh URLs rebuild the row). */
export function attachmentShape(a) {
  return {
    attachment_id: a.attachment_id,
    filename: a.filename,
    content_type: a.content_type,
    size: a.size,
    width: a.width ?? null,
    height: a.height ?? null,
    url: a.url,
    thumbnail_url: a.thumbnail_url ?? null,
  };
}

/** The files of message `seq` (null while it is being sent), in the order they were sent. */
export function attachmentList(threadId, seq, attachments) {
  const label = attachments.length === 1 ? '1 file' : `${attachments.length} files`;
  return h(
    'div',
    { class: 'attachments', role: 'group', 'aria-label': label },
    attachments.map((a) => (isPhoto(a) ? photo(threadId, seq, a) : fileChip(threadId, seq, a))),
  );
}

/** Scale (width, height) down to fit a square of `box` px; never up. */
export function fit(width, height, box) {
  const scale = Math.min(1, box / width, box / height);
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/** The attachment as the store now has it (fresher URLs after a refresh), else as it was. */
function latest(threadId, seq, a) {
  if (seq === null) return a;
  const message = findMessage(threadId, seq)?.message;
  return attachmentsOf(message).find((b) => b.attachment_id === a.attachment_id) ?? a;
}

/**
 * `failedUrl` of attachment `a` did not load (or has expired): read the message's page again.
 * Resolves to the attachment with its fresh URLs, or null when nothing changed.
 */
async function refreshed(threadId, seq, a, failedUrl) {
  if (seq === null) return null;
  await chat.refreshAttachments(threadId, seq, failedUrl);
  const fresh = latest(threadId, seq, a);
  return fresh.url !== a.url || fresh.thumbnail_url !== a.thumbnail_url ? fresh : null;
}

function photo(threadId, seq, a) {
  const { width, height } = fit(a.width, a.height, THUMBNAIL_BOX);
  const img = h('img', { src: a.thumbnail_url, alt: a.filename, width, height, loading: 'lazy', decoding: 'async' });
  const button = h(
    'button',
    {
      type: 'button',
      class: 'attachment-photo',
      title: `Open ${a.filename}`,
      'aria-haspopup': 'dialog',
      dataset: { attachmentId: a.attachment_id },
      onclick: () => {
        const current = latest(threadId, seq, a);
        openViewer({
          filename: current.filename,
          url: current.url,
          width: current.width,
          height: current.height,
          refresh: async () => (await refreshed(threadId, seq, current, current.url))?.url ?? null,
        });
      },
    },
    img,
  );
  // The URL expired (a tab left open for hours): fresh ones rebuild the row with a new <img>.
  // If nothing changed, the image is really unavailable: it stays shown as broken.
  img.addEventListener(
    'error',
    () => {
      button.classList.add('broken');
      refreshed(threadId, seq, a, a.thumbnail_url);
    },
    { once: true },
  );
  return button;
}

const ICONS = [
  [/^application\/pdf$/, '📄'],
  [/^audio\//, '🎵'],
  [/^video\//, '🎬'],
  [/^image\//, '🖼'],
  [/^text\//, '📝'],
  [/zip|compressed|x-tar|gzip|x-7z|x-rar/, '🗜'],
];

function iconFor(contentType) {
  return ICONS.find(([pattern]) => pattern.test(contentType ?? ''))?.[1] ?? '📎';
}

function fileChip(threadId, seq, a) {
  const size = humanSize(a.size);
  return h(
    'a',
    {
      class: 'attachment-file',
      href: a.url,
      download: a.filename, // the server says "attachment" too: a file is saved, never shown as a page
      'aria-label': `Download ${a.filename}, ${size}`,
      title: `Download ${a.filename}`,
      dataset: { attachmentId: a.attachment_id },
      onclick: (event) => {
        const current = latest(threadId, seq, a);
        if (!chat.urlExpired(current.url)) {
          event.currentTarget.href = current.url;
          return;
        }
        // The link has expired: read the message again, then download from the fresh link.
        event.preventDefault();
        refreshed(threadId, seq, current, current.url).then((fresh) => {
          if (fresh) save(fresh.url, fresh.filename);
        });
      },
    },
    h('span', { class: 'file-icon', 'aria-hidden': 'true', text: iconFor(a.content_type) }),
    h('span', { class: 'file-text' }, h('span', { class: 'file-name', text: a.filename }), h('span', { class: 'file-size', text: size })),
  );
}

function save(url, filename) {
  const link = h('a', { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
}
