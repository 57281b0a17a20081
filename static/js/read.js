// Read state (issue 16): the page marks a group read on the server (PUT
// /api/groups/{id}/read) once its newest message has been in view for a moment,
// with the page in sight; never while the page is hidden or a phone shows the
// list of groups. A message that arrives while the reader looks at the bottom of
// its conversation is read as it arrives (store.seen); the server hears of it at
// most once a moment per group, with the newest seq. Every device then gets the
// server's `read` event, so all of them show the same counts.

import { api, isTransient } from "./api.js";

export const READ_AFTER_MS = 800; // in view this long counts as read
const SEND_EVERY_MS = 1000; // at most one PUT per group in this time

export class ReadMarker {
  // inSight(): the page is visible and the conversation shown; newestInView(): the open
  // group's newest message is in view in the list.
  constructor(store, { inSight, newestInView }) {
    this.store = store;
    this.inSight = inSight;
    this.newestInView = newestInView;
    this.timer = 0;
    this.sending = new Map(); // group id -> {seq wanted, timer, busy}
    const look = () => this.look();
    store.on("look", look);
    store.on("active", look);
    store.on("history", (state) => state === store.active() && look());
    store.on("unread", (state) => state === store.active() && look());
    store.on("seen", (state, seq) => this.tell(state, seq));
    document.addEventListener("visibilitychange", look);
    window.addEventListener("focus", look);
  }

  // Something may have brought the open group's newest message into view (the list
  // scrolled, the page came back, the group opened...): in view for a moment, it is read.
  look() {
    const state = this.store.active();
    const due = state && this.store.newest(state) > state.lastRead && this.inSight() && this.newestInView();
    if (!due) {
      clearTimeout(this.timer);
      this.timer = 0;
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = 0;
      const now = this.store.active();
      if (now === state && this.inSight() && this.newestInView()) this.store.seen(state, this.store.newest(state));
    }, READ_AFTER_MS);
  }

  // The server hears the newest seq read, coalesced per group.
  tell(state, seq) {
    const id = state.group.id;
    const entry = this.sending.get(id) ?? { seq: 0, timer: 0, busy: false, tries: 0 };
    this.sending.set(id, entry);
    entry.seq = Math.max(entry.seq, seq);
    if (!entry.timer && !entry.busy) entry.timer = setTimeout(() => this.send(id, entry), SEND_EVERY_MS);
  }

  async send(id, entry) {
    entry.timer = 0;
    entry.busy = true;
    const seq = entry.seq;
    try {
      await api("PUT", `/api/groups/${id}/read`, { seq });
      entry.tries = 0;
    } catch (error) {
      if (isTransient(error) && entry.tries < 3) {
        entry.tries += 1;
        entry.busy = false;
        entry.timer = setTimeout(() => this.send(id, entry), SEND_EVERY_MS * 2 ** entry.tries);
        return;
      }
    }
    entry.busy = false;
    if (entry.seq > seq) entry.timer = setTimeout(() => this.send(id, entry), SEND_EVERY_MS);
    else this.sending.delete(id);
  }
}
