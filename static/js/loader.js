// What the page fetches besides the stream: a group's latest history the first
// time it is opened, older pages when the reader scrolls up, and who is online
// whenever a group is opened, and older pages until a reply's original is
// there; and (issue 17) the history around an older message (a search result),
// with newer pages from there as the reader scrolls down. The answers go into the store.

import { api, isTransient } from "./api.js";

const HISTORY_PAGE = 50;
export const CONTEXT = 25; // messages on either side of one gone to

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
    const { epoch } = state;
    try {
      const { messages } = await api("GET", `/api/groups/${state.group.id}/messages?limit=${HISTORY_PAGE}`);
      if (state.epoch !== epoch) return; // replaced meanwhile (a search result gone to)
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
    const { epoch } = state;
    state.olderLoad = api("GET", path).then(({ messages }) => {
      if (state.epoch === epoch) this.store.addHistory(state, messages, { older: true, hasOlder: messages.length === HISTORY_PAGE });
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

  // The history around the message `seq` (issue 17: a search result): CONTEXT messages on
  // either side. When that stretch meets the history held, it joins it; else it replaces it,
  // "jumped" unless it reaches the newest message. Says whether the message is there.
  async around(state, seq) {
    const path = `/api/groups/${state.group.id}/messages?before=${seq + CONTEXT}&limit=${2 * CONTEXT}`;
    const { messages } = await api("GET", path);
    if (!messages.some((message) => message.seq === seq)) return false;
    const first = messages[0].seq;
    const last = messages.at(-1).seq;
    const hasOlder = messages.length === 2 * CONTEXT;
    const held = [...state.messages.values()].map((message) => message.seq);
    const heldFrom = Math.min(...held);
    if (state.historyLoaded && !state.jumped && held.length && heldFrom <= last + 1) {
      this.store.addHistory(state, messages, { older: true, hasOlder: first < heldFrom ? hasOlder : state.hasOlder });
    } else {
      this.store.resetHistory(state, messages, { jumped: last >= seq + CONTEXT - 1, hasOlder });
    }
    return true;
  }

  // The page after the newest message held, while in older history (the one under way when
  // there is one). Fewer than asked for: the newest is reached, and the history is the latest.
  newer(state) {
    if (state?.newerLoad) return state.newerLoad;
    if (!state?.jumped) return Promise.resolve();
    const newest = this.store.newest(state);
    const { epoch } = state;
    const path = `/api/groups/${state.group.id}/messages?before=${newest + HISTORY_PAGE + 1}&limit=${HISTORY_PAGE}`;
    state.newerLoad = api("GET", path).then(({ messages }) => {
      if (state.epoch !== epoch) return;
      const end = !messages.length || messages.at(-1).seq < newest + HISTORY_PAGE;
      this.store.addNewer(state, messages.filter((message) => message.seq > newest), { end });
    }).finally(() => {
      state.newerLoad = null;
    });
    return state.newerLoad;
  }

  // Back to the latest page, leaving older history ("Jump to latest").
  latest(state) {
    this.store.resetHistory(state, [], { jumped: false, loaded: false });
    return this.history(state);
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
