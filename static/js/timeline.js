// The order of the log's children and what that order means: every node has
// a sort key (a message its seq; a day separator seq - 0.5, before the first
// message of its day; the conversation's lines keys of their own), a message
// continues the run of the message right before it when it is by the same
// person within RUN_MS on the same day (then only its text shows), and a day
// separator starts each day. A new node goes in at its key, looking from the
// end, where live messages land; then only its neighbours are mended, so a
// live message is one new node and nothing else changes.

import { dayKey } from "./days.js";
import { el } from "./dom.js";

const RUN_MS = 5 * 60 * 1000;

export class Timeline {
  // views: MessageViews; days: Days (the separators' labels).
  constructor(log, { views, days }) {
    this.log = log;
    this.views = views;
    this.days = days;
    this.nodes = new Map(); // message id -> node
    this.info = new WeakMap(); // node -> {key, type, userId, time, day}
  }

  clear() {
    this.nodes.clear();
    this.log.replaceChildren();
  }

  keyOf(node) {
    return this.info.get(node)?.key;
  }

  isMessage(node) {
    return this.info.get(node)?.type === "message";
  }

  describe(message) {
    const date = new Date(message.created_at);
    return { key: message.seq, type: "message", userId: message.user.id, time: date.getTime(), day: dayKey(date) };
  }

  continues(before, info) {
    return before?.type === "message" && before.userId === info.userId && before.day === info.day
      && Math.abs(info.time - before.time) < RUN_MS;
  }

  // The node before which `key` goes: after every node with a key not above it
  // (nodes without a key, such as pending sends, stay after).
  position(key) {
    let before = null;
    let previous = this.log.lastElementChild;
    while (previous && !(this.keyOf(previous) <= key)) {
      before = previous;
      previous = previous.previousElementSibling;
    }
    return before;
  }

  lastMessageFrom(node) {
    while (node && !this.isMessage(node)) node = node.previousElementSibling;
    return node;
  }

  messageNode(message, info, previousInfo, options) {
    const node = this.views.message(message, { continued: this.continues(previousInfo, info), ...options });
    this.info.set(node, info);
    this.nodes.set(message.id, node);
    return node;
  }

  dayNode(info) {
    const node = el("h2", "day");
    const label = el("time", "", this.days.label(new Date(info.time)));
    label.dateTime = info.day;
    node.append(label);
    this.info.set(node, { key: info.key - 0.5, type: "day", day: info.day, time: info.time });
    return node;
  }

  // One message in its place, with a day separator when it starts a day.
  // Returns its node. options go to MessageViews.message.
  add(message, options = {}) {
    const info = this.describe(message);
    let before = this.position(info.key);
    const last = this.lastMessageFrom(before ? before.previousElementSibling : this.log.lastElementChild);
    if (!last || this.info.get(last).day !== info.day) {
      this.place(this.dayNode(info));
      if (last && info.day > this.info.get(last).day) this.relabel();
      before = this.position(info.key);
    }
    const previous = before ? before.previousElementSibling : this.log.lastElementChild;
    const node = this.messageNode(message, info, this.info.get(previous), options);
    this.log.insertBefore(node, before);
    this.mend(before);
    return node;
  }

  // Messages older than everything shown go in front as one fragment (runs and
  // days worked out within it); any others each find their place.
  addMany(messages) {
    const fresh = messages.filter((message) => !this.nodes.has(message.id)).sort((a, b) => a.seq - b.seq);
    if (!fresh.length) return;
    let first = this.log.firstElementChild;
    while (first && !(this.keyOf(first) > -Infinity)) first = first.nextElementSibling;
    if (first && !(fresh.at(-1).seq < this.keyOf(first))) {
      for (const message of fresh) this.add(message);
      return;
    }
    const fragment = document.createDocumentFragment();
    let previous = null;
    for (const message of fresh) {
      const info = this.describe(message);
      if (previous?.day !== info.day) fragment.append(this.dayNode(info));
      const node = this.messageNode(message, info, previous?.day === info.day ? previous : null);
      fragment.append(node);
      previous = info;
    }
    this.log.insertBefore(fragment, first ?? this.position(fresh[0].seq));
    this.mend(first);
  }

  // A line of the conversation's own (type: "system", "unread", "note") at `key`.
  mark(node, type, key) {
    this.info.set(node, { key, type });
    this.mend(this.place(node));
    return node;
  }

  place(node) {
    const before = this.position(this.keyOf(node));
    this.log.insertBefore(node, before);
    return before;
  }

  // After something went in before `next`: a day separator that no longer
  // starts its day goes, and the message after joins or leaves the run before
  // it. Changing nothing when nothing has to change (no needless mutation).
  mend(next) {
    let node = next;
    if (this.info.get(node)?.type === "day") {
      const last = this.lastMessageFrom(node.previousElementSibling);
      if (!last || this.info.get(last).day !== this.info.get(node).day) return;
      node = node.nextElementSibling;
      next.remove();
    }
    this.join(node);
  }

  // A message shows its header unless it continues the run before it.
  join(node) {
    if (!this.isMessage(node)) return;
    const continued = this.continues(this.info.get(node.previousElementSibling), this.info.get(node));
    if (continued !== node.classList.contains("continued")) node.classList.toggle("continued", continued);
  }

  // One message changed: a new node in place of its old one, nothing else moves.
  // before(node) may finish the new node before it goes in.
  replace(message, options = {}, before = () => {}) {
    const old = this.nodes.get(message.id);
    if (!old) return null;
    const info = this.describe(message);
    const node = this.messageNode(message, info, this.info.get(old.previousElementSibling), {
      expanded: this.views.expanded(old),
      ...options,
    });
    before(node);
    old.replaceWith(node);
    return node;
  }

  // The separators say "Today" and "Yesterday" as of now (after midnight passes).
  relabel() {
    const now = new Date();
    for (const node of this.log.querySelectorAll(":scope > .day")) {
      const label = this.days.label(new Date(this.info.get(node).time), now);
      if (node.textContent !== label) node.firstChild.textContent = label;
    }
  }
}
