// The events long poll, one per browser (not one per tab): the tab holding a
// Web Lock is the leader and polls; it hands every answer to the other tabs
// through a BroadcastChannel, and keeps its cursor in localStorage so that the
// next leader resumes exactly where it stopped when its tab closes. Browsers
// allow six HTTP/1.1 connections per host; with one poll per browser, any
// number of tabs can still send and receive.

import { ApiError, api, backoff, isTransient, sleep } from "./api.js";

const POLL_SECONDS = 25;
// A poll unanswered this long is abandoned and made again with its cursor: the machine behind
// its connection is gone (pulled, not closed), and nothing else would end the wait.
const POLL_DEADLINE_MS = (POLL_SECONDS + 15) * 1000;
const CURSOR_MAX_AGE_MS = 60000; // older than this, no tab was following: start afresh

export class EventStream {
  constructor(userId, { onEvents, onConnection }) {
    this.onEvents = onEvents;
    this.onConnection = onConnection;
    this.lockName = `tornado_chat-events-${userId}`;
    this.cursorKey = `tornado_chat:${userId}:cursor`;
    this.channel = new BroadcastChannel(`tornado_chat-${userId}`);
    this.channel.onmessage = (message) => this.receive(message.data);
    this.stopped = false;
    this.abort = null;
  }

  // Resolves once this tab knows its role and, as a leader, holds a cursor:
  // history loaded after that cannot miss a message.
  async start() {
    if (!navigator.locks) {
      await this.lead();
      return;
    }
    await new Promise((resolve) => {
      navigator.locks.request(this.lockName, { ifAvailable: true }, (lock) => {
        if (!lock) {
          navigator.locks.request(this.lockName, () => this.lead());
          resolve();
          return undefined;
        }
        return this.lead(resolve);
      });
    });
  }

  stop() {
    this.stopped = true;
    if (this.abort) this.abort.abort();
    this.channel.close();
  }

  async lead(ready = () => {}) {
    let cursor = this.storedCursor();
    if (cursor) ready(); // everything after it will come: history may load now
    let failures = 0;
    while (!this.stopped) {
      this.abort = new AbortController();
      const path = cursor ? `/api/events?cursor=${encodeURIComponent(cursor)}&timeout=${POLL_SECONDS}` : "/api/events";
      let timedOut = false;
      const deadline = setTimeout(() => {
        timedOut = true;
        this.abort.abort();
      }, POLL_DEADLINE_MS);
      try {
        const answer = await api("GET", path, undefined, { signal: this.abort.signal });
        cursor = answer.cursor;
        this.storeCursor(cursor);
        if (failures) this.publish({ kind: "connection", ok: true });
        failures = 0;
        ready();
        if (answer.events.length) this.publish({ kind: "events", events: answer.events });
      } catch (error) {
        if (this.stopped || (error.name === "AbortError" && !timedOut)) return;
        if (error instanceof ApiError && error.code === "invalid_cursor") {
          cursor = null;
          continue;
        }
        if (error instanceof ApiError && error.status === 401) return; // api() takes the page to the login page
        if (!timedOut && !isTransient(error)) throw error;
        failures += 1;
        this.publish({ kind: "connection", ok: false });
        await sleep(backoff(failures));
      } finally {
        clearTimeout(deadline);
      }
    }
  }

  publish(message) {
    this.receive(message);
    this.channel.postMessage(message);
  }

  receive(message) {
    if (message.kind === "events") this.onEvents(message.events);
    else if (message.kind === "connection") this.onConnection(message.ok);
  }

  storedCursor() {
    try {
      const stored = JSON.parse(localStorage.getItem(this.cursorKey) || "null");
      return stored && Date.now() - stored.at < CURSOR_MAX_AGE_MS ? stored.cursor : null;
    } catch {
      return null;
    }
  }

  storeCursor(cursor) {
    localStorage.setItem(this.cursorKey, JSON.stringify({ cursor, at: Date.now() }));
  }
}
