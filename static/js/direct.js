// Direct conversations (issue 15): started from anyone's name (the members
// dialog, the online list, a message's author, through the user card), named
// after the other person, listed apart under "Direct messages" (tabs.js). A
// direct conversation cannot be left: its X closes its tab, which stays closed
// across reloads (kept in localStorage) until its next message opens it again
// (store.closeGroup), or until the reader starts it again.

import { api } from "./api.js";
import { isDirect } from "./roles.js";

export class Direct {
  // onOpen(id) opens a conversation; onClosed() after a tab was closed.
  constructor(store, { onOpen, onClosed }) {
    this.store = store;
    this.onOpen = onOpen;
    this.onClosed = onClosed;
    this.key = `tornado_chat:${store.me.id}:closed-direct`;
    store.on("group-added", (state) => {
      if (isDirect(state.group)) this.keep(state.group.id, false);
    });
  }

  closedIds() {
    try {
      return new Set(JSON.parse(localStorage.getItem(this.key) || "[]"));
    } catch {
      return new Set();
    }
  }

  keep(id, closed) {
    const ids = this.closedIds();
    if (closed === ids.has(id)) return;
    if (closed) ids.add(id);
    else ids.delete(id);
    localStorage.setItem(this.key, JSON.stringify([...ids]));
  }

  // The joined groups at start-up, but the direct conversations whose tab was closed.
  admit(groups) {
    const closed = this.closedIds();
    for (const group of groups) {
      if (isDirect(group) && closed.has(group.id)) this.store.closed.set(group.id, group);
      else this.store.addGroup(group);
    }
  }

  // Opens the conversation with `user` (making it on the server the first time).
  async start(user) {
    const held = [...this.store.groups.values()].find((state) => isDirect(state.group) && state.group.peer?.id === user.id);
    if (held) {
      this.onOpen(held.group.id);
      return;
    }
    const closed = [...this.store.closed.values()].find((group) => group.peer?.id === user.id);
    if (closed) {
      this.store.addGroup(closed);
      this.onOpen(closed.id);
      return;
    }
    const { group } = await api("PUT", `/api/direct/${encodeURIComponent(user.username)}`);
    this.store.addGroup(group);
    this.onOpen(group.id);
  }

  close(state) {
    this.keep(state.group.id, true);
    this.store.closeGroup(state.group.id);
    this.onClosed();
  }
}
