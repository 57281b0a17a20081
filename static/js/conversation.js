// The open group's conversation, updated in place: a new message inserts one
// node (in seq order, before the pending sends; a day separator too when it
// starts a day), a changed message replaces its one node (replace(), keyed by
// message id), a pending send is one node of its own, and older history is
// prepended without moving what the reader sees. The whole list is built only
// when another group is opened. The order, runs and days are the Timeline's;
// this adds the conversation's own lines (someone joined or left, where the
// unread messages begin, that history before the reader's join is not shown),
// where the reader lands, the image viewer and what a screen reader is told.

import { Announcer } from "./announcer.js";
import { Days } from "./days.js";
import { el } from "./dom.js";
import { Lines } from "./lines.js";
import { MessageViews } from "./message.js";
import { isDirect } from "./roles.js";
import { Stamps } from "./stamps.js";
import { Timeline } from "./timeline.js";
import { Viewer } from "./viewer.js";

const NEAR_EDGE_PX = 80;
const LINE_MARGIN_PX = 32; // the "new messages" line lands this far below the top

export class Conversation {
  // dom: {empty, conversation, messages}; onNearTop asks for older history;
  // onRetry(state, entry) sends a failed pending entry again; editing(message): its editor
  // while it is being edited; onReplaced(old, node, message) runs before a new node takes an old one's place.
  constructor(dom, store, { t, locale, format, editing, onNearTop, onRetry, onReplaced = () => {} }) {
    this.dom = dom;
    this.log = dom.messages;
    this.store = store;
    this.t = t;
    this.days = new Days(locale, t);
    this.views = new MessageViews(store.me, {
      t,
      days: this.days,
      format,
      editing,
      onRetry: (entry) => onRetry(this.state, entry),
      onDismiss: (entry) => store.removePending(this.state, entry.clientId),
      onOpenImage: (message, link) => this.viewer.open(message, link),
    });
    this.timeline = new Timeline(this.log, { views: this.views, days: this.days });
    this.onReplaced = onReplaced;
    this.lines = new Lines(this.timeline, { t, days: this.days, locale });
    this.viewer = new Viewer(document.body, {
      t,
      days: this.days,
      images: () => this.sorted().filter((message) => message.image),
      thumb: (id) => this.timeline.nodes.get(id)?.querySelector(".image-link"),
    });
    this.announcer = new Announcer(document.body);
    this.state = null;
    this.places = new WeakMap(); // group state -> where the reader was when they left it
    this.pendingNodes = new Map(); // client_id -> node, in the order they show
    this.opening = false; // until the first page of history has placed the reader
    this.pinned = true; // at the bottom, and kept there when the view changes size
    this.placeholder = el("p", "no-messages", t("No messages yet. Say hello!"));
    this.note = el("p", "history-note", t("Messages from before you joined are not shown"));
    // Still a log named "Messages", but a silent one: the announcer says what is new.
    this.log.setAttribute("aria-live", "off");
    this.log.addEventListener("scroll", () => {
      this.pinned = this.atLatest();
      if (this.log.scrollTop < NEAR_EDGE_PX) onNearTop();
    });
    new ResizeObserver(() => this.pinned && this.scrollToBottom()).observe(this.log);
    this.stamps = new Stamps(this.log);
    // Only the open group's changes reach the nodes; another group's are built
    // from the store when it is opened.
    const shown = (handler) => (state, ...args) => {
      if (state && state === this.state) handler(...args);
    };
    store.on("active", (state) => this.show(state));
    store.on("unread", (state) => this.lines.counted(state, state === this.state));
    store.on("message", (state, message, { mine, away }) => this.arrived(state, message, mine, away));
    store.on("member", (state, event) => this.member(state, event));
    store.on("message-changed", shown((message) => this.replace(message)));
    store.on("history", shown((messages, { older, newer, reset }) => {
      if (reset) this.show(this.state, { again: true });
      else if (newer) this.append(messages);
      else if (older) this.prepend(messages);
      else this.latest(messages);
    }));
    store.on("pending-added", shown((entry) => this.addPending(entry)));
    store.on("pending-changed", shown((entry) => this.replacePending(entry)));
    store.on("pending-removed", shown((entry) => this.removePending(entry)));
    store.on("progress", shown((entry) => this.views.progress(this.pendingNodes.get(entry.clientId), entry)));
  }

  sorted() {
    return [...(this.state?.messages.values() ?? [])].sort((a, b) => a.seq - b.seq);
  }

  // again: the same group's history was replaced (issue 17, jump.js): the list is built anew.
  show(state, { again = false } = {}) {
    this.dom.empty.hidden = Boolean(state);
    this.dom.conversation.hidden = !state;
    if (state && state === this.state && !again) {
      this.updateNotes();
      if (!state.jumped) this.scrollToBottom();
      return;
    }
    if (!again && this.state && this.store.groups.has(this.state.group.id)) this.places.set(this.state, this.place());
    this.state = state;
    this.timeline.clear();
    this.pendingNodes.clear();
    this.stamps.forget();
    if (!state) return;
    this.timeline.addMany([...state.messages.values()]);
    this.lines.build(state);
    for (const entry of state.pending.values()) this.log.append(this.pendingNode(entry));
    this.updateNotes();
    this.stamps.ensure();
    this.opening = !state.historyLoaded;
    this.settle(again ? null : this.places.get(state));
    this.places.delete(state);
  }

  // Where the reader lands on opening a group: where they were when they left it
  // (they have seen its "new messages" line then), else at that line, else at the bottom.
  settle(place) {
    const node = place && this.timeline.nodes.get(place.id);
    if (node) this.log.scrollTop = this.offset(node) - place.offset;
    else if (this.lines.unreadLine) this.log.scrollTop = this.offset(this.lines.unreadLine) - LINE_MARGIN_PX;
    else this.scrollToBottom();
    this.pinned = this.atLatest();
  }

  // Where the reader is, unless at the bottom: the first message in view.
  place() {
    if (this.atLatest()) return null;
    for (const node of this.log.querySelectorAll(":scope > .message:not(.pending)")) {
      const offset = this.offset(node) - this.log.scrollTop;
      if (offset + node.offsetHeight > 0) return { id: Number(node.dataset.id), offset };
    }
    return null;
  }

  offset(node) {
    return node.getBoundingClientRect().top - this.log.getBoundingClientRect().top + this.log.scrollTop;
  }

  // away: it came while the reader is in older history (jump.js); said, not shown.
  arrived(state, message, mine, away) {
    if (state !== this.state) return;
    if (!away) this.add(message, { toBottom: mine });
    if (mine) return;
    const name = message.user.username;
    const text = message.text || "";
    this.announcer.say(message.image ? this.t("{name} sent an image", { name })
      : this.store.mentionsMe(message) ? this.t("{name} mentioned you: {text}", { name, text })
        : this.t("{name}: {text}", { name, text }));
  }

  // Whether the open group's newest message is (at least partly) in view in the list.
  newestInView() {
    const state = this.state;
    if (!state || this.dom.conversation.hidden) return false;
    let newest = null;
    for (const message of state.messages.values()) if (!newest || message.seq > newest.seq) newest = message;
    const node = newest && this.timeline.nodes.get(newest.id);
    if (!node) return false;
    const box = this.log.getBoundingClientRect();
    const rect = node.getBoundingClientRect();
    return box.height > 0 && rect.top < box.bottom && rect.bottom > box.top;
  }

  add(message, { toBottom = false } = {}) {
    if (this.timeline.nodes.has(message.id)) {
      this.replace(message);
      return;
    }
    const atBottom = this.atBottom();
    const tabStop = this.stamps.wanted();
    const node = this.timeline.add(message, { tabStop });
    if (tabStop) this.stamps.took(node);
    this.updateNotes();
    if (toBottom || atBottom) this.scrollToBottom();
  }

  // One message changed: its node is swapped for a new one, nothing else moves.
  // The focus, when it was in the old node, goes to the same control in the new
  // one (a reaction chip, the time, the editor...), else to its time.
  replace(message) {
    const old = this.timeline.nodes.get(message.id);
    if (!old) return;
    const atBottom = this.atBottom();
    const tabStop = this.stamps.holds(old);
    const focused = old.contains(document.activeElement) ? document.activeElement : null;
    const { selectionStart: start, selectionEnd: end } = focused ?? {};
    const node = this.timeline.replace(message, { tabStop }, (built) => this.onReplaced(old, built, message));
    if (tabStop) this.stamps.took(node);
    if (focused) {
      const same = focused.isConnected ? focused : node.querySelector(`[data-focus="${CSS.escape(focused.dataset.focus ?? "")}"]`);
      (same ?? node.querySelector("time.stamp")).focus({ preventScroll: true });
      if (same === focused && start !== undefined && "setSelectionRange" in focused) focused.setSelectionRange(start, end);
    }
    if (atBottom) this.scrollToBottom();
  }

  // Goes to a message already in the list: scrolled to the middle, highlighted a
  // moment, its time focused. Says whether it is there.
  // instant: no smooth scroll (a list just built: jump.js).
  reveal(seq, { instant = false } = {}) {
    const message = this.sorted().find((one) => one.seq === seq);
    const node = message && this.timeline.nodes.get(message.id);
    if (!node) return false;
    const still = instant || window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    node.scrollIntoView({ block: "center", behavior: still ? "auto" : "smooth" });
    node.classList.remove("highlight");
    void node.offsetWidth; // the highlight starts again when it was already running
    node.classList.add("highlight");
    node.addEventListener("animationend", () => node.classList.remove("highlight"), { once: true });
    node.querySelector("time.stamp")?.focus({ preventScroll: true });
    return true;
  }

  // The latest page, when the group is first opened.
  latest(messages) {
    this.timeline.addMany(messages);
    this.lines.place(this.state);
    this.updateNotes();
    this.stamps.ensure();
    if (this.opening || this.pinned) this.settle(null);
    this.opening = false;
  }

  // An older page goes on top; the distance from the bottom is kept, so the
  // messages the reader is looking at stay where they are.
  prepend(messages) {
    const fromBottom = this.log.scrollHeight - this.log.scrollTop;
    this.timeline.addMany(messages);
    this.lines.place(this.state);
    this.updateNotes();
    this.log.scrollTop = this.log.scrollHeight - fromBottom;
  }

  // A newer page below, while in older history (jump.js): what the reader sees stays put.
  append(messages) {
    const top = this.log.scrollTop;
    this.timeline.addMany(messages);
    this.lines.place(this.state);
    this.updateNotes();
    this.log.scrollTop = top;
    this.pinned = this.atLatest();
  }

  addPending(entry) {
    this.log.append(this.pendingNode(entry));
    this.updateNotes();
    this.scrollToBottom();
  }

  replacePending(entry) {
    const old = this.pendingNodes.get(entry.clientId);
    if (!old) return;
    const atBottom = this.atBottom();
    old.replaceWith(this.pendingNode(entry));
    if (atBottom) this.scrollToBottom();
  }

  removePending(entry) {
    this.pendingNodes.get(entry.clientId)?.remove();
    this.pendingNodes.delete(entry.clientId);
    this.updateNotes();
  }

  pendingNode(entry) {
    const node = this.views.pending(entry);
    this.pendingNodes.set(entry.clientId, node);
    return node;
  }

  // Someone else joined or left while the page was open: a quiet line.
  member(state, event) {
    if (isDirect(state.group)) return; // the other person "joining" at the first message is no news
    const line = this.lines.member(state, event);
    if (state !== this.state) return;
    const atBottom = this.atBottom();
    this.lines.placeSystem(line);
    if (atBottom) this.scrollToBottom();
  }

  // "No messages yet" when nothing is shown; and, once the history has run
  // out, a note at the top when messages from before the reader's join exist
  // (the oldest one shown is not the group's first) or may exist (nothing is
  // shown and someone else made the group).
  updateNotes() {
    const state = this.state;
    const oldest = this.timeline.keyOf(this.log.querySelector(":scope > .message:not(.pending)"));
    const empty = oldest === undefined && !this.pendingNodes.size;
    if (!empty || !state?.historyLoaded) this.placeholder.remove();
    else if (!this.placeholder.isConnected) this.log.append(this.placeholder);
    const hidden = state?.historyLoaded && !state.hasOlder
      && (oldest > 1 || (oldest === undefined && state.group.created_by?.id !== this.store.me.id));
    if (!hidden) this.note.remove();
    else if (!this.note.isConnected) this.timeline.mark(this.note, "note", -Infinity);
  }

  // At the bottom of the newest messages (not of older history gone to from a search).
  atLatest() {
    return !this.state?.jumped && this.atBottom();
  }

  atBottom() {
    return this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < NEAR_EDGE_PX;
  }

  scrollToBottom() {
    this.log.scrollTop = this.log.scrollHeight;
  }
}
