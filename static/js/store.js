// The page's state and nothing else: the joined groups, each with its messages
// by id, pending sends, read state (issue 16: the server's unread and mention
// counts, counted on between its `read` events), who is online and who is
// typing. No DOM and no HTTP: the stream, the loader and the outbox feed it, and
// the views listen for what changed so that they can update just that.

export const TYPING_SHOWN_MS = 5000;

function groupState(group) {
  return {
    group,
    messages: new Map(), // id -> message
    pending: new Map(), // client_id -> {clientId, text or file, state, error, progress}
    // Read state, from the server's group object and its `read` events (every device's).
    lastRead: group.last_read_seq ?? 0,
    unread: group.unread ?? 0,
    mentions: group.unread_mentions ?? 0,
    notify: group.notify ?? "all",
    historyLoaded: false,
    hasOlder: true,
    // Issue 17 (jump.js): the messages held may be a stretch of older history around a search
    // result rather than the newest; new messages then wait in `later` (counted, not shown) until
    // the newer pages reach them. `epoch` changes whenever the held history is replaced.
    jumped: false,
    later: new Map(),
    epoch: 0,
    loadingOlder: false,
    online: new Map(), // user id -> user
    typing: new Map(), // user id -> {user, until}
  };
}

export class Store {
  // inView(state) says whether a new message of that group is seen as it arrives
  // (its conversation open at the bottom, the page in sight); the store asks
  // rather than looking at the document itself.
  constructor(me, { inView = () => false } = {}) {
    this.me = me;
    this.inView = inView;
    this.groups = new Map(); // group id -> group state
    this.closed = new Map(); // group id -> group: direct conversations whose tab was closed (still joined)
    this.activeId = null;
    this.loaded = false;
    this.queued = [];
    this.listeners = new Map();
  }

  // Change notices, each with the group state it concerns first:
  // group-added, group-changed, group-removed, member (state, event), active (state, previous),
  // member-changed (state, member), removed (state, event: removed by someone else or banned),
  // message (state, message, {mine, away: held apart while in older history}), message-changed,
  // history (state, added, {older, newer, reset}), jumped (state: into older history or back), pending-added, pending-changed, pending-removed,
  // progress, unread (its counts or notify level changed), look (the group may have been
  // read: read.js checks), seen (state, seq: read here, to be told to the server), online, typing.
  on(type, listener) {
    if (!this.listeners.has(type)) this.listeners.set(type, []);
    this.listeners.get(type).push(listener);
  }

  emit(type, ...args) {
    for (const listener of this.listeners.get(type) || []) listener(...args);
  }

  active() {
    return this.groups.get(this.activeId) || null;
  }

  sortedGroups() {
    return [...this.groups.values()].sort((a, b) => a.group.name.localeCompare(b.group.name));
  }

  // The page title's count: every unread message, but in groups set to notify nothing.
  totalUnread() {
    return [...this.groups.values()].reduce((sum, state) => sum + (state.notify === "none" ? 0 : state.unread), 0);
  }

  mentionsMe(message) {
    return mentions(message, this.me);
  }

  // Groups

  addGroup(group) {
    this.closed.delete(group.id);
    const existing = this.groups.get(group.id);
    if (existing) {
      existing.group = group;
      this.emit("group-changed", existing);
      return;
    }
    const state = groupState(group);
    this.groups.set(group.id, state);
    this.emit("group-added", state);
  }

  removeGroup(id) {
    const state = this.groups.get(id);
    if (!state) return;
    this.groups.delete(id);
    this.emit("group-removed", state);
    if (this.activeId === id) this.activate(this.sortedGroups()[0]?.group.id ?? null);
  }

  // A direct conversation cannot be left: its X closes its tab only. Its next
  // message opens it again (see apply).
  closeGroup(id) {
    const state = this.groups.get(id);
    if (!state) return;
    this.removeGroup(id);
    this.closed.set(id, state.group);
  }

  activate(id) {
    const previous = this.active();
    this.activeId = id;
    const state = this.active();
    this.emit("active", state, previous);
    if (state) this.markRead(state);
  }

  // The group may have come into sight: read.js marks it read once its newest
  // message has been seen for a moment.
  markRead(state) {
    this.emit("look", state);
  }

  // The reader has seen the group up to `seq` (its newest message) on this page:
  // nothing of it is unread any more; read.js tells the server.
  seen(state, seq) {
    if (!(seq > state.lastRead)) return;
    state.lastRead = seq;
    const changed = state.unread || state.mentions;
    state.unread = 0;
    state.mentions = 0;
    if (changed) this.emit("unread", state);
    this.emit("seen", state, seq);
  }

  // The server's read state (a `read` event from any of the reader's devices, in
  // the stream's order). One behind what this page has already read (its own
  // mark not yet echoed) changes only the level.
  readState(state, event) {
    if (event.notify) state.notify = event.notify;
    if (event.last_read_seq >= state.lastRead) {
      state.lastRead = event.last_read_seq;
      state.unread = event.unread;
      state.mentions = event.unread_mentions;
    }
    this.emit("unread", state);
  }

  // The level changed here (the answer to PATCH .../membership).
  setNotify(state, notify) {
    if (state.notify === notify) return;
    state.notify = notify;
    this.emit("unread", state);
  }

  // Events from the stream (this tab's poll or another tab's), held until the
  // joined groups are known.

  apply(events) {
    if (!this.loaded) {
      this.queued.push(...events);
      return;
    }
    for (const event of events) {
      const id = event.group_id ?? event.message?.group_id ?? event.group?.id;
      if (event.type === "message" && this.closed.has(id)) this.addGroup(this.closed.get(id));
      const state = this.groups.get(id);
      if (event.type === "membership") this.membership(event);
      else if (event.type === "group_changed" && this.closed.has(id)) this.closed.set(id, event.group);
      else if (event.type === "read" && this.closed.has(id)) this.closed.set(id, closedRead(this.closed.get(id), event));
      else if (!state) continue;
      else if (event.type === "group_changed") this.addGroup({ ...state.group, ...event.group });
      else if (event.type === "member_changed") this.memberChanged(state, event.member);
      else if (event.type === "message") this.addMessage(state, event.message, { live: true });
      else if (event.type === "message_changed") this.changeMessage(state, event.message);
      else if (event.type === "read") this.readState(state, event);
      else if (event.type === "presence") this.presence(state, event);
      else if (event.type === "typing") this.typing(state, event.user);
      else if (event.type === "member") this.member(state, event);
    }
  }

  ready() {
    this.loaded = true;
    this.apply(this.queued.splice(0));
  }

  membership(event) {
    if (event.joined) {
      // Counted from here on: the group's counts as it comes may already hold the message
      // that follows it (a direct conversation opened by its first message).
      this.addGroup(this.groups.has(event.group.id) ? event.group : { ...event.group, unread: 0, unread_mentions: 0 });
      if (this.activeId === null) this.activate(event.group.id);
    } else {
      const state = this.groups.get(event.group_id);
      if (state && (event.removed_by || event.banned)) this.emit("removed", state, event);
      this.closed.delete(event.group_id);
      this.removeGroup(event.group_id);
    }
  }

  // A member's role changed (the reader's own included: the group's role follows).
  memberChanged(state, member) {
    if (member.user.id === this.me.id && state.group.role !== member.role) {
      state.group = { ...state.group, role: member.role };
      this.emit("group-changed", state);
    }
    this.emit("member-changed", state, member);
  }

  // Someone else joined or left while the page was open: the member count follows,
  // and the conversation may show a quiet line.
  member(state, event) {
    state.group = { ...state.group, members: Math.max(1, state.group.members + (event.joined ? 1 : -1)) };
    this.emit("member", state, event);
    this.emit("group-changed", state);
  }

  // Messages

  addMessage(state, message, { live }) {
    if (state.messages.has(message.id)) return;
    const away = live && state.jumped; // the reader is in older history: held apart (jump.js)
    (away ? state.later : state.messages).set(message.id, message);
    const mine = message.user.id === this.me.id;
    if (mine && message.client_id) this.removePending(state, message.client_id);
    if (state.typing.delete(message.user.id)) this.emit("typing", state);
    // Between the server's `read` events the page counts for itself (the contract):
    // someone else's new message after the read mark is unread, unless it is seen as
    // it arrives; one's own reads the group up to it (sending reads).
    if (live && message.seq > state.lastRead) {
      if (mine || this.inView(state)) this.seen(state, message.seq);
      else {
        state.unread += 1;
        if (this.mentionsMe(message)) state.mentions += 1;
        this.emit("unread", state);
      }
    }
    this.emit("message", state, message, { mine, away });
  }

  // A message that changed (an edit, a delete, a reaction), from the stream or
  // from the answer to this page's own change: each message keeps its highest
  // version (an older one arriving late is ignored; a deleted message never
  // changes again). The replies to it that the page has show it as it is now.
  // Says whether anything changed.
  changeMessage(state, message) {
    const known = state.messages.get(message.id);
    const stale = known && ((known.version ?? 1) >= (message.version ?? 1) || (known.deleted && !message.deleted));
    if (!stale) this.recount(state, known, message);
    if (!stale) this.updateMessage(state, message);
    const later = state.later.get(message.id); // one held apart while the reader is in older history
    if (later && (later.version ?? 1) < (message.version ?? 1)) state.later.set(message.id, message);
    for (const reply of state.messages.values()) {
      if (reply.reply_to?.seq !== message.seq) continue;
      const quoted = quoteOf(state.messages.get(message.id) ?? message);
      const { reply_to: was } = reply;
      if (was.text !== quoted.text || was.deleted !== quoted.deleted) this.updateMessage(state, { ...reply, reply_to: { ...was, ...quoted } });
    }
    return Boolean(known) && !stale;
  }

  // An unread message deleted is unread no more; an edit may add or take away a
  // mention of the reader.
  recount(state, known, message) {
    if (message.user.id === this.me.id || !(message.seq > state.lastRead) || known?.deleted) return;
    const before = { unread: state.unread, mentions: state.mentions };
    const mentioned = known ? this.mentionsMe(known) : false;
    if (message.deleted) {
      state.unread = Math.max(0, state.unread - 1);
      if (mentioned) state.mentions = Math.max(0, state.mentions - 1);
    } else if (known && mentioned !== this.mentionsMe(message)) {
      state.mentions = Math.max(0, state.mentions + (mentioned ? -1 : 1));
    }
    if (before.unread !== state.unread || before.mentions !== state.mentions) this.emit("unread", state);
  }

  // The newest message the page holds of a group (0 when none).
  newest(state) {
    let seq = 0;
    for (const message of state.messages.values()) seq = Math.max(seq, message.seq);
    return seq;
  }

  // A message the page has, replaced (its node follows: message-changed).
  updateMessage(state, message) {
    if (!state.messages.has(message.id)) return;
    state.messages.set(message.id, message);
    this.emit("message-changed", state, message);
  }

  // The newest message of mine that can be edited (↑ in an empty composer).
  lastEditable(state) {
    let last = null;
    for (const message of state.messages.values()) {
      if (message.user.id === this.me.id && message.kind === "text" && !message.deleted && !(last?.seq > message.seq)) last = message;
    }
    return last;
  }

  // A page of history: the latest when a group is first opened, or an older one.
  addHistory(state, messages, { older, hasOlder = state.hasOlder }) {
    state.hasOlder = hasOlder;
    const added = messages.filter((message) => !state.messages.has(message.id));
    for (const message of messages) {
      const known = state.messages.get(message.id);
      if (!known || (known.version ?? 1) <= (message.version ?? 1)) state.messages.set(message.id, message);
    }
    this.emit("history", state, added, { older });
  }

  // Issue 17 (jump.js): the held history replaced by `messages` (the stretch around a search
  // result, `jumped` when it does not reach the newest message; or nothing, to load the latest
  // again). The views build the list again ("history" with {reset}).
  resetHistory(state, messages, { jumped, hasOlder = true, loaded = true }) {
    state.messages.clear();
    state.later.clear();
    for (const message of messages) state.messages.set(message.id, message);
    state.jumped = jumped;
    state.hasOlder = hasOlder;
    state.historyLoaded = loaded;
    state.epoch += 1;
    this.emit("history", state, messages, { older: false, reset: true });
    this.emit("jumped", state);
  }

  // A newer page of a jumped history; at the `end` (the newest reached) the messages that came
  // meanwhile join it and the history is the latest again.
  addNewer(state, messages, { end }) {
    const added = [...messages];
    if (end) {
      added.push(...state.later.values());
      state.later.clear();
      state.jumped = false;
    }
    const fresh = added.filter((message) => !state.messages.has(message.id));
    for (const message of fresh) state.messages.set(message.id, message);
    this.emit("history", state, fresh, { older: false, newer: true });
    if (end) this.emit("jumped", state);
  }

  // Pending sends (the outbox's)

  addPending(state, entry) {
    state.pending.set(entry.clientId, entry);
    this.emit("pending-added", state, entry);
  }

  updatePending(state, entry) {
    if (state.pending.has(entry.clientId)) this.emit("pending-changed", state, entry);
  }

  progress(state, entry, fraction) {
    entry.progress = fraction;
    this.emit("progress", state, entry);
  }

  removePending(state, clientId) {
    const entry = state.pending.get(clientId);
    if (!entry) return;
    state.pending.delete(clientId);
    this.emit("pending-removed", state, entry);
  }

  // Who is online and who is typing

  setOnline(state, users) {
    state.online = new Map(users.map((user) => [user.id, user]));
    this.emit("online", state);
  }

  presence(state, event) {
    if (event.online) {
      this.setOnline(state, event.online);
      return;
    }
    for (const user of event.came) state.online.set(user.id, user);
    for (const user of event.went) state.online.delete(user.id);
    this.emit("online", state);
  }

  typing(state, user) {
    state.typing.set(user.id, { user, until: Date.now() + TYPING_SHOWN_MS });
    this.emit("typing", state);
  }

  // The names of those typing now (a notice holds for TYPING_SHOWN_MS).
  typingNames(state) {
    const now = Date.now();
    return [...state.typing.values()].filter((entry) => entry.until > now).map((entry) => entry.user.username);
  }
}

// A closed direct conversation keeps its read state for when it opens again.
function closedRead(group, event) {
  if (!(event.last_read_seq >= (group.last_read_seq ?? 0))) return { ...group, notify: event.notify ?? group.notify };
  return {
    ...group, last_read_seq: event.last_read_seq, unread: event.unread, unread_mentions: event.unread_mentions,
    notify: event.notify ?? group.notify,
  };
}

// Whether a message mentions this user.
export function mentions(message, user) {
  return Boolean(message.mentions?.some((mentioned) => mentioned.id === user.id));
}

// What a reply shows of the message it answers, as that message is now (the
// contract: the first 200 characters of a text, nothing of an image or a deleted one).
export const EXCERPT_CHARS = 200;
export function quoteOf(message) {
  const text = message.deleted || message.text == null ? null : [...message.text].slice(0, EXCERPT_CHARS).join("");
  return { text, deleted: Boolean(message.deleted) };
}
