// The conversation's own lines between the messages, and what they remember
// per group while the page lives: someone else joined or left ("ana joined",
// quiet and centred; not news for the announcer), and where the unread
// messages of a group begin ("3 new messages"), after the server's read mark
// (issue 16), shown when the group is opened and when a new unread run starts.

import { el } from "./dom.js";

export class Lines {
  constructor(timeline, { t, days, locale }) {
    this.timeline = timeline;
    this.t = t;
    this.days = days;
    this.plural = new Intl.PluralRules(locale);
    this.memory = new WeakMap(); // group state -> {system: [{key, text, at}]}
    this.unreadLine = null; // in the list shown now
    this.pending = null; // {after, count}: the line of this opening, until the history reaches it
  }

  of(state) {
    if (!this.memory.has(state)) this.memory.set(state, { system: [] });
    return this.memory.get(state);
  }

  // A group's list was just built: its lines go in, and where its unread messages
  // begin (the server's read mark: the line goes right after the last message read),
  // once the history shown reaches back to the mark (see place).
  build(state) {
    this.unreadLine = null;
    this.pending = state.unread ? { after: state.lastRead, count: state.unread } : null;
    const memory = this.of(state);
    for (const line of memory.system) this.placeSystem(line);
    this.place(state);
  }

  // The "new messages" line of this opening, when the messages shown reach the read mark
  // (a message at or before it is held, or there is no older history): above 50 unread
  // messages it waits for the older pages, rather than stand over a message that is not the first.
  place(state) {
    const pending = this.pending;
    if (!pending || this.unreadLine) return;
    const reached = (state.historyLoaded && !state.hasOlder)
      || [...state.messages.values()].some((message) => message.seq <= pending.after);
    if (!reached || !state.messages.size) return;
    this.pending = null;
    this.placeUnread(pending.after, pending.count);
  }

  // The group's unread count changed while it is shown. Read (the count falls to
  // zero): the line stays until another group is opened. A new unread run (the page
  // was hidden, or the reader scrolled up) gets a new line at the read mark.
  counted(state, shown) {
    if (!shown || !state.unread) return;
    if (this.pending?.after === state.lastRead) { // the opening's line, still waiting for older history
      this.pending.count = state.unread;
      return;
    }
    if (this.unreadLine?.after !== state.lastRead) {
      this.dropUnreadLine();
      this.placeUnread(state.lastRead, state.unread);
    } else this.unreadLine.firstChild.textContent = this.unreadLabel(state.unread);
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

  // Before the first message after `after` (and after its day's separator).
  placeUnread(after, count) {
    const line = el("p", "unread-line");
    line.append(el("span", "", this.unreadLabel(count)));
    this.unreadLine = this.timeline.mark(line, "unread", after + 0.25); // before the next day's separator too
    this.unreadLine.after = after;
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
