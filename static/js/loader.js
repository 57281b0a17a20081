// What the page fetches besides the stream: a group's latest history the first
// time it is opened, older pages when the reader scrolls up, and who is online
// whenever a group is opened, and older pages until a reply's original is
// there. The answers go into the store.

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

  // The page before the oldest message held; the one under way when there is one.
  older(state) {
    if (state?.olderLoad) return state.olderLoad;
    if (!state || !state.historyLoaded || !state.hasOlder) return Promise.resolve();
    const oldest = Math.min(...[...state.messages.values()].map((m) => m.seq));
    if (!Number.isFinite(oldest)) return Promise.resolve();
    state.loadingOlder = true;
    const path = `/api/groups/${state.group.id}/messages?before=${oldest}&limit=${HISTORY_PAGE}`;
    state.olderLoad = api("GET", path).then(({ messages }) => {
      this.store.addHistory(state, messages, { older: true, hasOlder: messages.length === HISTORY_PAGE });
    }).finally(() => {
      state.loadingOlder = false;
      state.olderLoad = null;
    });
    return state.olderLoad;
  }

  // Older pages until the message `seq` is held or the history has run out (going
  // to the original of a reply). Says whether it is held.
  async until(state, seq) {
    const held = () => [...state.messages.values()].some((message) => message.seq === seq);
    while (!held() && state.hasOlder && state.historyLoaded) {
      const before = state.messages.size;
      try {
        await this.older(state);
      } catch {
        return false;
      }
      if (state.messages.size === before && state.hasOlder) return false;
    }
    return held();
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
