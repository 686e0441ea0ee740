// Live updates: keeps this tab's copy of the user's update log current.
//
// The server's log is the truth and every entry has a cursor that only grows. Whatever carries
// the entries — the WebSocket, or long polling when a socket cannot connect — starts after the
// last cursor this tab applied, so a reconnect, a server restart or a switch of transport loses
// nothing and applies nothing twice (entries at or below the cursor are skipped).

import { api } from './api.js';

const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 30_000;
// A socket that stayed open this long was working; its closing is a drop, not a failure to
// connect, so the next attempt starts again from the shortest delay.
const HEALTHY_AFTER_MS = 5_000;
// Sockets failing this many times in a row while HTTP works means something between us and the
// server (a proxy, a firewall) refuses WebSockets: long-poll instead.
const SOCKET_FAILURES_BEFORE_POLLING = 2;
// While long polling, try the socket again this often: the obstacle may have gone.
const SOCKET_RETRY_WHILE_POLLING_MS = 60_000;
// The API's maximum: under the 30-second first-byte limit of Heroku-style routers.
const POLL_TIMEOUT_S = 25;

const CLOSE_UNAUTHORIZED = 4401;
const CLOSE_CURSOR_EXPIRED = 4410;
// The user opened more sockets than the server allows, and this was the oldest: reconnecting at
// once would close the next oldest tab, and so on round the tabs; wait the longest delay.
const CLOSE_REPLACED = 4409;

/** Exponential backoff with "equal jitter": between half and all of min(max, base * 2^attempt). */
export function backoff(attempt) {
  const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** attempt);
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

export class Live {
  /**
   * token: for the socket's query string. Callbacks:
   *   update(entry)      one log entry, in cursor order, never twice
   *   typing(frame)      {thread_id, user_id}: someone is typing (socket only, never stored)
   *   status(s)          {state: 'connecting'|'live'|'reconnecting', transport: 'socket'|'poll', retryAt}
   *   expired()          the cursor is older than the log keeps: reload, resolve to a new cursor
   *   unauthorized()     the token is no longer valid: sign in again
   */
  constructor({ token, update, typing, status, expired, unauthorized }) {
    Object.assign(this, { token, onUpdate: update, onTyping: typing, onStatus: status, onExpired: expired });
    this.onUnauthorized = unauthorized;
    this.cursor = 0;
    this.transport = 'socket';
    this.socket = null;
    this.running = false;
    this.generation = 0;
    this.wake = null;
    this.poll = null;
    this.socketFailures = 0;
    this.socketProbed = true;
    this.lastSocketTry = 0;
    this.pollPrimed = false;
    this.state = 'connecting';
    this.onOnline = () => this.retryNow();
  }

  start(cursor) {
    this.cursor = cursor;
    this.running = true;
    window.addEventListener('online', this.onOnline);
    this.run(++this.generation);
  }

  stop() {
    this.running = false;
    this.generation++;
    window.removeEventListener('online', this.onOnline);
    this.socket?.close(1000, 'bye');
    this.socket = null;
    this.poll?.abort();
    this.wake?.();
  }

  /** Skip the current wait (the "Retry now" button, or the network coming back). */
  retryNow() {
    this.wake?.();
  }

  /** Tell a thread's other members we are typing; only the socket carries this. */
  sendTyping(threadId) {
    if (this.socket?.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify({ action: 'typing', thread_id: threadId }));
    return true;
  }

  setStatus(state, retryAt = null) {
    this.state = state; // what the page was last told
    this.onStatus({ state, transport: this.transport, retryAt });
  }

  async run(generation) {
    let attempt = 0;
    const current = () => this.running && this.generation === generation;
    this.setStatus('connecting');
    while (current()) {
      const outcome = this.transport === 'socket' ? await this.runSocket() : await this.runPoll();
      if (!current()) return;
      if (outcome !== 'polled') this.pollPrimed = false;
      if (outcome !== 'polled' && this.state === 'live') this.setStatus('connecting');
      let delay = 0;
      if (outcome === 'unauthorized') {
        this.stop();
        this.onUnauthorized();
        return;
      } else if (outcome === 'expired') {
        try {
          this.cursor = await this.onExpired();
          attempt = 0;
        } catch {
          delay = backoff(attempt++);
        }
      } else if (outcome === 'dropped') {
        // A working socket closed (a restart, a deploy, a network change): reconnect soon,
        // jittered so that thousands of clients do not all knock at the same instant.
        attempt = 0;
        this.socketFailures = 0;
        delay = backoff(0);
      } else if (outcome === 'replaced') {
        delay = MAX_DELAY_MS;
      } else if (outcome === 'socket-failed') {
        this.socketFailures++;
        if (this.socketFailures >= SOCKET_FAILURES_BEFORE_POLLING) {
          this.transport = 'poll'; // at once: if HTTP fails too, that poll waits its backoff
          // The failures may have been an outage that just ended: once the first poll
          // succeeds, try the socket again straight away, once, before settling on polling.
          if (this.socketFailures === SOCKET_FAILURES_BEFORE_POLLING) this.socketProbed = false;
        } else {
          delay = backoff(attempt++);
        }
      } else if (outcome === 'polled') {
        attempt = 0;
        if (!this.socketProbed || Date.now() - this.lastSocketTry > SOCKET_RETRY_WHILE_POLLING_MS) {
          this.socketProbed = true;
          this.transport = 'socket';
        }
      } else if (outcome === 'unreachable') {
        // HTTP failed as well, so the server (or the network) is down: the socket's failures
        // proved nothing about sockets. Next time, try the socket first again.
        this.transport = 'socket';
        this.socketFailures = 0;
        delay = backoff(attempt++);
      }
      if (delay > 0 && current()) {
        this.setStatus('reconnecting', Date.now() + delay);
        await this.sleep(delay);
        if (current()) this.setStatus('connecting');
      }
    }
  }

  sleep(ms) {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = null;
        done();
      };
    });
  }

  /** One socket, from open to close; resolves to what its closing means. */
  runSocket() {
    this.lastSocketTry = Date.now();
    return new Promise((resolve) => {
      const url = new URL('/stream', window.location.href);
      url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
      url.searchParams.set('token', this.token);
      url.searchParams.set('since', String(this.cursor));
      let socket;
      try {
        socket = new WebSocket(url);
      } catch {
        resolve('socket-failed');
        return;
      }
      this.socket = socket;
      let openedAt = 0;
      let received = false;
      socket.onopen = () => {
        openedAt = Date.now();
        this.setStatus('live');
      };
      socket.onmessage = (event) => {
        received = true;
        this.handleFrame(event.data);
      };
      socket.onclose = (event) => {
        if (this.socket === socket) this.socket = null;
        if (event.code === CLOSE_UNAUTHORIZED) resolve('unauthorized');
        else if (event.code === CLOSE_CURSOR_EXPIRED) resolve('expired');
        else if (event.code === CLOSE_REPLACED) resolve('replaced');
        else if (openedAt && (received || Date.now() - openedAt >= HEALTHY_AFTER_MS)) resolve('dropped');
        else resolve('socket-failed');
      };
    });
  }

  handleFrame(data) {
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    if (frame.type === 'update') this.apply(frame.update);
    else if (frame.type === 'typing') this.onTyping(frame);
    // "result" and "error" frames answer our typing frames; a lost typing hint needs no action.
  }

  apply(entry) {
    if (!entry || entry.cursor <= this.cursor) return;
    this.cursor = entry.cursor;
    this.onUpdate(entry);
  }

  /** One long poll; resolves to what happened. */
  async runPoll() {
    this.poll = new AbortController();
    // The first poll after a (re)connect returns at once, to show "live" without waiting a
    // whole poll; the ones after it wait for news.
    const timeout = this.pollPrimed ? POLL_TIMEOUT_S : 0;
    try {
      const page = await api.updates(this.cursor, timeout, this.poll.signal);
      this.pollPrimed = true;
      this.setStatus('live');
      for (const entry of page.updates) this.apply(entry);
      this.cursor = Math.max(this.cursor, page.cursor);
      return 'polled';
    } catch (error) {
      this.pollPrimed = false;
      if (this.poll?.signal.aborted) return 'stopped';
      if (error.status === 401) return 'unauthorized';
      if (error.status === 410) return 'expired';
      return 'unreachable';
    } finally {
      this.poll = null;
    }
  }
}
