// The conversation's own lines between the messages, and what they remember
// per group while the page lives: someone else joined or left ("ana joined",
// quiet and centred; not news for the announcer), and where the unread
// messages of a group begin ("3 new messages"), counted by the store while the
// group was not in view and shown the next time it is.

import { el } from "./dom.js";

export class Lines {
  constructor(timeline, { t, days, locale }) {
    this.timeline = timeline;
    this.t = t;
    this.days = days;
    this.plural = new Intl.PluralRules(locale);
    this.memory = new WeakMap(); // group state -> {system: [{key, text, at}], unread: {seq, count} | null}
    this.unreadLine = null; // in the list shown now
  }

  of(state) {
    if (!this.memory.has(state)) this.memory.set(state, { system: [], unread: null });
    return this.memory.get(state);
  }

  // A group's list was just built: its lines go in, and its unread mark is used up.
  build(state) {
    this.unreadLine = null;
    const memory = this.of(state);
    for (const line of memory.system) this.placeSystem(line);
    if (memory.unread?.seq != null) this.placeUnread(memory.unread);
    memory.unread = null;
  }

  // The store's unread count changed. Read while in view (the page came back):
  // the line stays until another group is opened. A new unread run in view
  // (the page was hidden) gets a new line.
  counted(state, shown) {
    const memory = this.of(state);
    if (!state.unread) {
      if (shown) memory.unread = null;
      return;
    }
    if (!memory.unread) {
      memory.unread = { seq: null, count: 0 };
      if (shown) this.dropUnreadLine();
    }
    memory.unread.count = state.unread;
    if (shown && this.unreadLine) this.unreadLine.firstChild.textContent = this.unreadLabel(state.unread);
  }

  // Before a new message goes in: the first unread one is remembered, and in
  // view the line goes in before it.
  arrived(state, message, mine, shown) {
    const unread = this.of(state).unread;
    if (!unread || mine) return;
    if (unread.seq === null) unread.seq = message.seq;
    if (shown && unread.seq === message.seq && !this.unreadLine) this.placeUnread(unread);
  }

  // Someone else joined or left: a line after the newest message (before the
  // day separator of the next one). Returns it, to be placed when in view.
  member(state, event) {
    const memory = this.of(state);
    let after = 0;
    for (const message of state.messages.values()) after = Math.max(after, message.seq);
    const name = event.user.username;
    const line = {
      key: after + 0.4 + memory.system.length * 1e-6,
      text: event.joined ? this.t("{name} joined", { name }) : this.t("{name} left", { name }),
      at: new Date(),
    };
    memory.system.push(line);
    return line;
  }

  placeSystem(line) {
    const node = el("p", "system", line.text);
    const time = el("time", "", this.days.clock(line.at));
    time.dateTime = line.at.toISOString();
    time.title = this.days.exact(line.at);
    node.append(" · ", time);
    this.timeline.mark(node, "system", line.key);
  }

  placeUnread(unread) {
    const line = el("p", "unread-line");
    line.append(el("span", "", this.unreadLabel(unread.count)));
    this.unreadLine = this.timeline.mark(line, "unread", unread.seq - 0.25);
  }

  unreadLabel(count) {
    return this.plural.select(count) === "one"
      ? this.t("{count} new message", { count }) : this.t("{count} new messages", { count });
  }

  dropUnreadLine() {
    if (!this.unreadLine) return;
    const next = this.unreadLine.nextElementSibling;
    this.unreadLine.remove();
    this.unreadLine = null;
    this.timeline.join(next);
  }
}
