// What the page fetches besides the stream: a group's latest history the first
// time it is opened, older pages when the reader scrolls up, and who is online
// whenever a group is opened. The answers go into the store.

import { api, isTransient } from "./api.js";

const HISTORY_PAGE = 50;

export class Loader {
  // Build it after the views: they must see a group opened before its history
  // counts as loading (else an empty group would say "No messages yet" early).
  constructor(store) {
    this.store = store;
    store.on("active", (state) => {
      if (!state) return;
      if (!state.historyLoaded) this.history(state);
      this.online(state);
    });
  }

  async history(state) {
    state.historyLoaded = true;
    try {
      const { messages } = await api("GET", `/api/groups/${state.group.id}/messages?limit=${HISTORY_PAGE}`);
      this.store.addHistory(state, messages, { older: false, hasOlder: messages.length === HISTORY_PAGE });
    } catch (error) {
      state.historyLoaded = false;
      if (!isTransient(error)) throw error;
      this.store.addHistory(state, [], { older: false });
    }
  }

  async older(state) {
    if (!state || !state.historyLoaded || !state.hasOlder || state.loadingOlder) return;
    const oldest = Math.min(...[...state.messages.values()].map((m) => m.seq));
    if (!Number.isFinite(oldest)) return;
    state.loadingOlder = true;
    try {
      const path = `/api/groups/${state.group.id}/messages?before=${oldest}&limit=${HISTORY_PAGE}`;
      const { messages } = await api("GET", path);
      this.store.addHistory(state, messages, { older: true, hasOlder: messages.length === HISTORY_PAGE });
    } finally {
      state.loadingOlder = false;
    }
  }

  async online(state) {
    try {
      const { users } = await api("GET", `/api/groups/${state.group.id}/online`);
      this.store.setOnline(state, users);
    } catch (error) {
      if (!isTransient(error)) throw error;
    }
  }
}
