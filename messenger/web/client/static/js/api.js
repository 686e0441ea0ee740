// The HTTP API: one fetch wrapper, the error type every failure becomes, and the words a person
// sees for each of the API's stable error codes.

export class ApiError extends Error {
  constructor(status, code, message, details = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status; // 0 when the server could not be reached at all
    this.code = code;
    this.details = details;
  }

  /** Worth retrying as is: the request may not have arrived, or the server had a hiccup. */
  get transient() {
    return this.status === 0 || this.status >= 500;
  }
}

let token = null;
let onUnauthorized = () => {};

/** Set the token sent as `Authorization: Bearer`, and what to do when the server rejects it. */
export function configure({ token: newToken, unauthorized }) {
  token = newToken;
  if (unauthorized) onUnauthorized = unauthorized;
}

// A request that hangs (a dead connection the OS has not noticed yet) must fail in the end,
// or a send would stay "pending" for ever; long polls pass a longer limit of their own.
const REQUEST_TIMEOUT_MS = 20_000;

export async function request(method, path, { body, query, signal, timeoutMs = REQUEST_TIMEOUT_MS } = {}) {
  const url = query ? `${path}?${new URLSearchParams(query)}` : path;
  const response = await fetched(method, url, { body, signal, timeoutMs });
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch {
    // Not JSON: a proxy's error page, or a connection cut mid-body.
  }
  if (response.ok && data !== null) return data;
  throw failed(response.status, data);
}

/** A file the API serves (GET /me/export): {blob, filename}, the name from Content-Disposition. */
export async function download(path, fallbackName) {
  // The whole body is read before it is saved: a download cut short must fail, not save half.
  const response = await fetched('GET', path, { timeoutMs: 5 * 60_000 });
  if (!response.ok) throw failed(response.status, await response.json().catch(() => null));
  const disposition = response.headers.get('Content-Disposition') ?? '';
  const filename = disposition.match(/filename="([^"]+)"/)?.[1] ?? fallbackName;
  try {
    return { blob: await response.blob(), filename };
  } catch {
    throw new ApiError(0, 'network_error', "Can't reach the server.");
  }
}

async function fetched(method, url, { body, signal, timeoutMs }) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  const timeout = AbortSignal.timeout(timeoutMs);
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
  try {
    return await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: combined,
      cache: 'no-store',
      credentials: 'omit', // the API uses bearer tokens, never cookies
    });
  } catch (error) {
    if (signal?.aborted) throw error; // the caller cancelled: not a failure to report
    throw new ApiError(0, 'network_error', "Can't reach the server.");
  }
}

/** The ApiError for a response (its status, its JSON body or null) that is not the success it should be. */
function failed(status, data) {
  const ok = status >= 200 && status < 300;
  const error = data?.error ?? { code: ok ? 'bad_response' : 'http_error', message: `HTTP ${status}` };
  const failure = new ApiError(status, error.code, error.message, error.details ?? {});
  // A token the server no longer accepts means signing in again, whatever asked.
  if (failure.status === 401 && token && failure.code !== 'invalid_credentials') onUnauthorized(failure);
  return failure;
}

// An upload that sends nothing and hears nothing for this long has stalled (a dead connection):
// it fails, and the tray offers Retry. A slow link is fine as long as bytes keep moving.
const UPLOAD_STALL_MS = 60_000;

/**
 * Upload one file as the raw body of POST /attachments?filename=…, with XMLHttpRequest because
 * fetch reports no upload progress. `progress(loaded, total)` runs as bytes leave. Returns
 * {done, abort}: `done` resolves to the reply's attachment, or rejects with an ApiError (with
 * an AbortError DOMException after `abort()`). A 401 signs out, as for every other request.
 */
export function upload(file, { progress = () => {} } = {}) {
  const xhr = new XMLHttpRequest();
  let stall = null;
  const done = new Promise((resolve, reject) => {
    const finish = (outcome, value) => {
      clearTimeout(stall);
      outcome(value);
    };
    const watch = () => {
      clearTimeout(stall);
      stall = setTimeout(() => {
        xhr.onabort = () => finish(reject, new ApiError(0, 'network_error', "Can't reach the server."));
        xhr.abort();
      }, UPLOAD_STALL_MS);
    };
    xhr.open('POST', `/attachments?${new URLSearchParams({ filename: file.name || 'file' })}`);
    xhr.setRequestHeader('Accept', 'application/json');
    // The server sniffs the type from the bytes; this only says "raw body, not multipart".
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`);
    xhr.upload.onprogress = (event) => {
      watch();
      progress(event.loaded, event.lengthComputable ? event.total : file.size);
    };
    xhr.onload = () => {
      let data = null;
      try {
        data = JSON.parse(xhr.responseText);
      } catch {
        // Not JSON: a proxy's error page.
      }
      if (xhr.status === 201 && data?.attachment) finish(resolve, data.attachment);
      else finish(reject, failed(xhr.status, data));
    };
    xhr.onerror = () => finish(reject, new ApiError(0, 'network_error', "Can't reach the server."));
    xhr.onabort = () => finish(reject, new DOMException('The upload was cancelled.', 'AbortError'));
    watch();
    xhr.send(file);
  });
  return { done, abort: () => xhr.abort() };
}

const path = (template, ...ids) => template.replace(/\{\}/g, () => encodeURIComponent(ids.shift()));

export const api = {
  signUp: (email, username, password) => request('POST', '/auth/signup', { body: { email, username, password } }),
  signIn: (login, password) => request('POST', '/auth/signin', { body: { login, password } }),
  signOut: () => request('POST', '/auth/signout'),
  version: () => request('GET', '/version'),
  me: () => request('GET', '/me'),
  searchUsers: (q, signal) => request('GET', '/users', { query: { q }, signal }),
  threads: (start, end) => request('GET', '/threads', { query: { start_index: start, end_index: end } }),
  thread: (threadId) => request('GET', path('/threads/{}', threadId)),
  latestMessages: (threadId, count) =>
    request('GET', path('/threads/{}/messages', threadId), { query: { start_index: 0, end_index: count } }),
  messagesBefore: (threadId, beforeSeq, limit) =>
    request('GET', path('/threads/{}/messages', threadId), { query: { before_seq: beforeSeq, limit } }),
  send: (threadId, message) => request('POST', '/message', { body: { thread_id: threadId, message } }),
  createThread: (userIds, message, title) =>
    request('POST', '/threads', { body: { user_ids: userIds, message, ...(title ? { title } : {}) } }),
  markRead: (threadId, seq) => request('POST', path('/threads/{}/read', threadId), { body: { seq } }),
  addMembers: (threadId, userIds) =>
    request('POST', path('/threads/{}/members', threadId), { body: { user_ids: userIds } }),
  removeMember: (threadId, userId) => request('DELETE', path('/threads/{}/members/{}', threadId, userId)),
  editMessage: (threadId, seq, contents) =>
    request('PATCH', path('/threads/{}/messages/{}', threadId, seq), { body: { contents } }),
  deleteMessage: (threadId, seq) => request('DELETE', path('/threads/{}/messages/{}', threadId, seq)),
  react: (threadId, seq, emoji) => request('PUT', path('/threads/{}/messages/{}/reactions/{}', threadId, seq, emoji)),
  unreact: (threadId, seq, emoji) =>
    request('DELETE', path('/threads/{}/messages/{}/reactions/{}', threadId, seq, emoji)),
  updateProfile: (fields) => request('PATCH', '/me', { body: fields }),
  changeEmail: (email, password) => request('POST', '/me/email', { body: { email, password } }),
  resendVerification: () => request('POST', '/me/email/verification'),
  verifyEmail: (token) => request('POST', '/auth/verify-email', { body: { token } }),
  requestPasswordReset: (email) => request('POST', '/auth/password-reset', { body: { email } }),
  confirmPasswordReset: (token, newPassword) =>
    request('POST', '/auth/password-reset/confirm', { body: { token, new_password: newPassword } }),
  changePassword: (currentPassword, newPassword) =>
    request('POST', '/me/password', { body: { current_password: currentPassword, new_password: newPassword } }),
  sessions: () => request('GET', '/me/sessions'),
  signOutSession: (sessionId) => request('DELETE', path('/me/sessions/{}', sessionId)),
  signOutEverywhere: () => request('POST', '/auth/signout-everywhere'),
  blocks: () => request('GET', '/me/blocks'),
  block: (userId) => request('PUT', path('/me/blocks/{}', userId)),
  unblock: (userId) => request('DELETE', path('/me/blocks/{}', userId)),
  invitations: () => request('GET', '/me/invitations'),
  answerInvitation: (threadId, accept) => request('POST', path('/threads/{}/invitation', threadId), { body: { accept } }),
  deleteAccount: (password) => request('DELETE', '/me', { body: { password } }),
  updates: (since, timeoutS, signal) =>
    request('GET', '/updates', { query: { since, timeout: timeoutS }, signal, timeoutMs: (timeoutS + 15) * 1000 }),
};

// What a person reads for each error code (README, "Errors"). Codes not listed fall back to the
// server's own message, which is written for people too.
const MESSAGES = {
  network_error: "Can't reach the server. Check your connection and try again.",
  invalid_credentials: "That username or email and password don't match.",
  email_taken: 'An account with this email already exists. Try signing in instead.',
  username_taken: 'That username is taken. Try another one.',
  auth_required: 'Please sign in.',
  invalid_token: 'Your session has ended. Please sign in again.',
  thread_not_found: "This conversation doesn't exist, or you're no longer in it.",
  member_not_found: "That person isn't in this group.",
  not_thread_creator: "Only the group's creator can remove other people.",
  direct_thread_members_fixed: "People can't be added to or removed from a one-to-one chat.",
  unknown_users: 'Some of those people no longer have an account.',
  client_msg_id_conflict: 'This message could not be matched to its earlier attempt. Discard it and send it again.',
  payload_too_large: 'That is too long to send.',
  store_unavailable: 'The server is having trouble right now. Try again in a moment.',
  internal_error: 'Something went wrong on the server. Try again.',
  rate_limited: 'Too many requests. Wait a moment and try again.',
  too_many_requests_in_flight: 'Too many requests at once. Wait a moment and try again.',
  too_many_connections: 'Too many connections from your network. Wait a moment and try again.',
  request_timeout: 'The connection is too slow. Try again.',
  readd_cooldown: 'Someone who left this group recently cannot be added back by you yet.',
  validation_error: 'Please check the fields below.',
  message_not_found: 'That message no longer exists.',
  not_allowed: "You can't change that message.",
  edit_window_passed: 'This message is too old to edit.',
  message_deleted: 'That message was deleted.',
  too_many_reactions: 'This message has as many reactions as it can take.',
  not_a_contact: 'Some of these people can be added only by someone they already chat with 1:1. Message them first.',
  blocked: "You can't message or add this person.",
  wrong_password: "That isn't your current password.",
  mail_not_configured: "This server doesn't send mail, so this can't be done by email. Ask the server's operator.",
  invalid_one_time_token: 'This link was used already, has expired, or was cut short. Ask for a new one.',
  email_not_verified: 'Verify your email address first: open the link we mailed you (Settings can send another).',
  session_not_found: 'That device is signed out already.',
  account_disabled: 'This account is disabled. Ask the server’s operator.',
  already_a_member: "You're in this group already.",
  too_many_blocks: "You've blocked as many people as you can. Unblock someone first.",
  quota_exceeded: "Your uploads fill all the space this server gives you. Delete some messages with files first.",
  image_too_large: 'This image has too many pixels for the server to take.',
  invalid_image: 'This image is damaged and cannot be read.',
  unknown_attachments: 'Some of these files are no longer on the server. Remove them and attach them again.',
  too_many_attachments: 'That is more files than one message can carry.',
  url_expired: 'This link has expired. Reload the conversation.',
  attachment_not_found: 'That file is no longer available.',
};

/** One sentence about a failed upload: a 413 here is the file, not a message, being too large. */
export function describeUploadError(error) {
  if (error instanceof ApiError && error.code === 'payload_too_large') return 'This file is larger than the server accepts.';
  return describeError(error);
}

/** One sentence for a person; validation errors name the field when there is just one. */
export function describeError(error) {
  if (!(error instanceof ApiError)) return 'Something went wrong. Try again.';
  if (error.code === 'validation_error') {
    const fields = fieldErrors(error);
    const names = Object.keys(fields);
    if (names.length === 1 && ['contents', '_schema'].includes(names[0])) return fields[names[0]];
  }
  return MESSAGES[error.code] ?? error.message;
}

// marshmallow's wording, made friendlier for the sign-up and sign-in forms.
const FIELD_WORDING = [
  [/^Missing data for required field\.$/, () => 'This field is required.'],
  [/^Not a valid email address\.$/, () => 'Enter a valid email address.'],
  [/^Shorter than minimum length (\d+)\.$/, (_, min) => `Use at least ${min} characters.`],
  [
    /^Length must be between (\d+) and (\d+)\.$/,
    (_, min, max) => {
      if (min === '1') return `This field is required (at most ${max} characters).`;
      return Number(max) >= 256 ? `Use at least ${min} characters.` : `Use ${min} to ${max} characters.`;
    },
  ],
];

/** {field: "message"} from a validation error's details (nested fields by their last name). */
export function fieldErrors(error) {
  const out = {};
  const walk = (value, name) => {
    if (Array.isArray(value)) {
      const text = value.filter((v) => typeof v === 'string').map(friendly).join(' ');
      if (text) out[name] = text;
      value.filter((v) => v && typeof v === 'object').forEach((v) => walk(v, name));
    } else if (value && typeof value === 'object') {
      for (const [key, inner] of Object.entries(value)) walk(inner, key);
    }
  };
  walk(error?.details ?? {}, '_schema');
  return out;
}

function friendly(text) {
  for (const [pattern, wording] of FIELD_WORDING) if (pattern.test(text)) return text.replace(pattern, wording);
  return text;
}
