// The people the reader shares groups with, as far as the page knows them: who
// is or was online, who wrote, who joined or left, direct conversations' other
// person, and the members lists the page has fetched. The members dialog
// suggests them when adding someone (the server has no search of users).

import { fold } from "./dom.js";

export class People {
  constructor(store) {
    this.users = new Map(); // user id -> user
    this.store = store;
    const fromGroup = (state) => {
      if (state.group.peer) this.add(state.group.peer);
    };
    store.on("group-added", fromGroup);
    store.on("group-changed", fromGroup);
    store.on("online", (state) => this.addMany(state.online.values()));
    store.on("message", (state, message) => this.add(message.user));
    store.on("history", (state, messages) => this.addMany(messages.map((message) => message.user)));
    store.on("member", (state, event) => this.add(event.user));
    store.on("member-changed", (state, member) => this.add(member.user));
  }

  add(user) {
    if (user?.id != null && user.id !== this.store.me.id) this.users.set(user.id, user);
  }

  addMany(users) {
    for (const user of users) this.add(user);
  }

  // Up to `limit` people whose name starts with, then contains, what was typed;
  // never those in `except` (user ids).
  suggest(typed, except, limit = 8) {
    return suggest([...this.users.values()].filter((user) => !except.has(user.id)), typed, limit);
  }
}

// Up to `limit` of `users` whose name starts with, then contains, what was typed
// (any case, any accents), those starting with it first, each part by name.
export function suggest(users, typed, limit = 8) {
  const query = fold(typed.trim());
  const matches = [];
  for (const user of users) {
    const name = fold(user.username);
    const at = query ? name.indexOf(query) : 0;
    if (at >= 0) matches.push({ user, starts: at === 0 });
  }
  matches.sort((a, b) => Number(b.starts) - Number(a.starts) || a.user.username.localeCompare(b.user.username));
  return matches.slice(0, limit).map((match) => match.user);
}
