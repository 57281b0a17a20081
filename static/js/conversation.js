// The open group's messages, updated in place: a new message inserts one node
// (in seq order, before the pending sends), a changed message replaces its one
// node (replace(), keyed by message id), a pending send is one node of its own,
// and older history is prepended without moving what the reader sees. The
// whole list is built only when another group is opened.

import { el } from "./dom.js";
import { MessageViews } from "./message.js";

const NEAR_EDGE_PX = 80;

export class Conversation {
  // dom: {empty, conversation, messages}; onNearTop asks for older history;
  // onRetry(state, entry) sends a failed pending entry again.
  constructor(dom, store, { t, locale, onNearTop, onRetry }) {
    this.dom = dom;
    this.log = dom.messages;
    this.views = new MessageViews(store.me, { t, locale, onRetry: (entry) => onRetry(this.state, entry) });
    this.state = null;
    this.nodes = new Map(); // message id -> node
    this.pendingNodes = new Map(); // client_id -> node, in the order they show
    this.seqs = new WeakMap(); // message node -> seq, to insert in order
    this.placeholder = el("p", "no-messages", t("No messages yet. Say hello!"));
    this.log.addEventListener("scroll", () => {
      if (this.log.scrollTop < NEAR_EDGE_PX) onNearTop();
    });
    // Only the open group's changes reach the nodes; another group's are built
    // from the store when it is opened.
    const shown = (handler) => (state, ...args) => {
      if (state && state === this.state) handler(...args);
    };
    store.on("active", (state) => this.show(state));
    store.on("message", shown((message, { mine }) => this.add(message, { toBottom: mine })));
    store.on("message-changed", shown((message) => this.replace(message)));
    store.on("history", shown((messages, { older }) => (older ? this.prepend(messages) : this.latest(messages))));
    store.on("pending-added", shown((entry) => this.addPending(entry)));
    store.on("pending-changed", shown((entry) => this.replacePending(entry)));
    store.on("pending-removed", shown((entry) => this.removePending(entry)));
    store.on("progress", shown((entry) => this.views.progress(this.pendingNodes.get(entry.clientId), entry)));
  }

  show(state) {
    this.dom.empty.hidden = Boolean(state);
    this.dom.conversation.hidden = !state;
    if (state && state === this.state) {
      this.updatePlaceholder();
      this.scrollToBottom();
      return;
    }
    this.state = state;
    this.nodes.clear();
    this.pendingNodes.clear();
    if (!state) {
      this.log.replaceChildren();
      return;
    }
    const messages = [...state.messages.values()].sort((a, b) => a.seq - b.seq);
    this.log.replaceChildren(
      ...messages.map((message) => this.messageNode(message)),
      ...[...state.pending.values()].map((entry) => this.pendingNode(entry)),
    );
    this.updatePlaceholder();
    this.scrollToBottom();
  }

  add(message, { toBottom = false } = {}) {
    if (this.nodes.has(message.id)) {
      this.replace(message);
      return;
    }
    const atBottom = this.atBottom();
    this.insert(this.messageNode(message));
    this.updatePlaceholder();
    if (toBottom || atBottom) this.scrollToBottom();
  }

  // One message changed: its node is swapped for a new one, nothing else moves.
  replace(message) {
    const old = this.nodes.get(message.id);
    if (!old) return;
    const atBottom = this.atBottom();
    old.replaceWith(this.messageNode(message));
    if (atBottom) this.scrollToBottom();
  }

  // The latest page, when the group is first opened.
  latest(messages) {
    this.insertMany(messages);
    this.updatePlaceholder();
    this.scrollToBottom();
  }

  // An older page goes on top; the distance from the bottom is kept, so the
  // messages the reader is looking at stay where they are.
  prepend(messages) {
    const fromBottom = this.log.scrollHeight - this.log.scrollTop;
    this.insertMany(messages);
    this.updatePlaceholder();
    this.log.scrollTop = this.log.scrollHeight - fromBottom;
  }

  addPending(entry) {
    this.log.append(this.pendingNode(entry));
    this.updatePlaceholder();
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
    this.updatePlaceholder();
  }

  // Nodes

  messageNode(message) {
    const node = this.views.message(message);
    this.nodes.set(message.id, node);
    this.seqs.set(node, message.seq);
    return node;
  }

  pendingNode(entry) {
    const node = this.views.pending(entry);
    this.pendingNodes.set(entry.clientId, node);
    return node;
  }

  // After every message with a lower seq and before the pending sends: a live
  // message lands at the end of the messages in one step.
  insert(node) {
    const seq = this.seqs.get(node);
    let before = this.pendingNodes.values().next().value ?? null;
    let previous = before ? before.previousElementSibling : this.log.lastElementChild;
    while (previous && this.seqs.get(previous) > seq) {
      before = previous;
      previous = previous.previousElementSibling;
    }
    this.log.insertBefore(node, before);
  }

  // A page of history is usually older than everything shown: then it goes in
  // front as one fragment; otherwise each message finds its place.
  insertMany(messages) {
    const fresh = messages.filter((message) => !this.nodes.has(message.id)).sort((a, b) => a.seq - b.seq);
    if (!fresh.length) return;
    const first = this.log.firstElementChild;
    const firstSeq = this.seqs.get(first);
    if (firstSeq === undefined || fresh.at(-1).seq < firstSeq) {
      const fragment = document.createDocumentFragment();
      fragment.append(...fresh.map((message) => this.messageNode(message)));
      this.log.insertBefore(fragment, first);
    } else {
      for (const message of fresh) this.insert(this.messageNode(message));
    }
  }

  updatePlaceholder() {
    const empty = !this.nodes.size && !this.pendingNodes.size;
    if (!empty || !this.state?.historyLoaded) this.placeholder.remove();
    else if (!this.placeholder.isConnected) this.log.append(this.placeholder);
  }

  atBottom() {
    return this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < NEAR_EDGE_PX;
  }

  scrollToBottom() {
    this.log.scrollTop = this.log.scrollHeight;
  }
}
