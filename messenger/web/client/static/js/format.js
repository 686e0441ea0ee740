// Dates and times as people read them, in their own locale and time zone. Server timestamps
// are milliseconds since the epoch, UTC.

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const timeOfDay = new Intl.DateTimeFormat(undefined, { timeStyle: 'short' });
const weekday = new Intl.DateTimeFormat(undefined, { weekday: 'short' });
const longWeekday = new Intl.DateTimeFormat(undefined, { weekday: 'long' });
const dayMonth = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' });
const fullDate = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', year: 'numeric' });
const longDate = new Intl.DateTimeFormat(undefined, { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });
const stamp = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'short' });

function startOfDay(ms) {
  const d = new Date(ms);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

/** Calendar days between two instants in local time (0 = same day, 1 = yesterday). */
export function daysBetween(earlier, later) {
  return Math.round((startOfDay(later) - startOfDay(earlier)) / DAY);
}

/** Short relative time for the thread list: "now", "5 min", "3 h", "Yesterday", "Mon", "5 Jan". */
export function relativeTime(ms, now = Date.now()) {
  const diff = now - ms;
  if (diff < MINUTE) return 'now';
  if (diff < HOUR) return `${Math.floor(diff / MINUTE)} min`;
  const days = daysBetween(ms, now);
  if (days === 0) return `${Math.floor(diff / HOUR)} h`;
  if (days === 1) return 'Yesterday';
  if (days < 7) return weekday.format(ms);
  if (new Date(ms).getFullYear() === new Date(now).getFullYear()) return dayMonth.format(ms);
  return fullDate.format(ms);
}

/** The label of a day separator in a conversation: "Today", "Yesterday", "Monday", a date. */
export function dayLabel(ms, now = Date.now()) {
  const days = daysBetween(ms, now);
  if (days === 0) return 'Today';
  if (days === 1) return 'Yesterday';
  if (days > 1 && days < 7) return longWeekday.format(ms);
  return longDate.format(ms);
}

export const clockTime = (ms) => timeOfDay.format(ms);
export const fullStamp = (ms) => stamp.format(ms);
export const isoTime = (ms) => new Date(ms).toISOString();

/** A size as people read it: "512 bytes", "12 KB", "1.2 MB" (units of 1024, like file managers). */
export function humanSize(bytes) {
  if (bytes < 1024) return bytes === 1 ? '1 byte' : `${bytes} bytes`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const shown = value < 10 ? Math.round(value * 10) / 10 : Math.round(value);
  return `${shown} ${units[unit]}`;
}

const PHOTO_TYPES = /^image\/(jpeg|png|webp|gif)$/;

/** An attachment the client shows as a picture: one of the four image types, with a thumbnail. */
export function isPhoto(attachment) {
  return PHOTO_TYPES.test(attachment.content_type ?? '') && Boolean(attachment.thumbnail_url && attachment.width && attachment.height);
}

/** What a message with files and no text shows as its preview: "📷 Photo", "📎 report.pdf". */
export function filesPreview(attachments) {
  if (!attachments?.length) return '📎 Attachment'; // the server's preview does not say which
  const photos = attachments.filter((a) => PHOTO_TYPES.test(a.content_type ?? '')).length;
  if (photos === attachments.length) return photos === 1 ? '📷 Photo' : `📷 ${photos} photos`;
  const more = attachments.length - 1;
  return `📎 ${attachments[0].filename}${more ? ` and ${more} more` : ''}`;
}
