// The chat page: group tabs, the conversation, the composer, who is online and
// the groups dialog. User text only ever reaches the page as text nodes
// (textContent, never innerHTML), so a message cannot run or inject anything.

import { api, backoff, isTransient, sleep, upload } from "./api.js";

const HISTORY_PAGE = 50;
const TYPING_SEND_EVERY_MS = 3000;
const TYPING_SHOWN_MS = 5000;
const NEAR_EDGE_PX = 80;
const URL_RE = /\bhttps?:\/\/[^\s<>"']+/gi;
const MAX_IMAGE_BYTES = 10 * 1024 * 1024;
const THUMB_SIZE = 512;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// Text with its http(s) links made clickable; everything else stays text.
function linkify(text) {
  const fragment = document.createDocumentFragment();
  let last = 0;
  for (const match of text.matchAll(URL_RE)) {
    const url = match[0].replace(/[.,;:!?)\]]+$/, "");
    fragment.append(text.slice(last, match.index));
    const link = el("a", "", url);
    link.href = url;
    link.rel = "noopener noreferrer nofollow";
    link.target = "_blank";
    fragment.append(link);
    last = match.index + url.length;
  }
  fragment.append(text.slice(last));
  return fragment;
}

function newClientId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function groupState(group) {
  return {
    group,
    messages: new Map(), // id -> message
    pending: new Map(), // client_id -> {clientId, text, state, error}
    unread: 0,
    historyLoaded: false,
    hasOlder: true,
    loadingOlder: false,
    online: new Map(), // user id -> user
    typing: new Map(), // user id -> {user, until}
  };
}

export class Chat {
  constructor(root, { user, t, locale }) {
    this.me = user;
    this.t = t;
    this.timeFormat = new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit" });
    this.dateFormat = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" });
    this.groups = new Map();
    this.activeId = null;
    this.activeKey = `tornado_chat:${user.id}:active`;
    this.loaded = false;
    this.queued = [];
    this.lastTypingSent = 0;
    this.typingTimer = null;
    const $ = (id) => root.querySelector(`#${id}`);
    this.dom = {
      tabs: $("tabs"), empty: $("empty"), conversation: $("conversation"), messages: $("messages"),
      typing: $("typing"), composer: $("composer"), message: $("message"), onlinePanel: $("online-panel"),
      online: $("online"), toggleOnline: $("toggle-online"), connection: $("connection"),
      dialog: $("groups-dialog"), openGroups: $("open-groups"), closeGroups: $("close-groups"),
      groupList: $("group-list"), createGroup: $("create-group"), groupName: $("group-name"),
      createError: $("create-error"), attach: $("attach"), imageFile: $("image-file"),
    };
    this.bind();
  }

  bind() {
    const { dom } = this;
    dom.composer.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    dom.message.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.submit();
      }
    });
    dom.message.addEventListener("input", () => this.typed());
    dom.message.addEventListener("paste", (event) => {
      const files = [...(event.clipboardData?.files || [])].filter((file) => file.type.startsWith("image/"));
      if (files.length) {
        event.preventDefault();
        files.forEach((file) => this.submitImage(file));
      }
    });
    dom.attach.addEventListener("click", () => dom.imageFile.click());
    dom.imageFile.addEventListener("change", () => {
      [...dom.imageFile.files].forEach((file) => this.submitImage(file));
      dom.imageFile.value = "";
    });
    dom.conversation.addEventListener("dragover", (event) => {
      if ([...event.dataTransfer.types].includes("Files")) {
        event.preventDefault();
        dom.conversation.classList.add("dropping");
      }
    });
    dom.conversation.addEventListener("dragleave", () => dom.conversation.classList.remove("dropping"));
    dom.conversation.addEventListener("drop", (event) => {
      event.preventDefault();
      dom.conversation.classList.remove("dropping");
      [...event.dataTransfer.files].forEach((file) => this.submitImage(file));
    });
    dom.messages.addEventListener("scroll", () => {
      if (dom.messages.scrollTop < NEAR_EDGE_PX) this.loadOlder(this.active());
    });
    dom.openGroups.addEventListener("click", () => this.openGroups());
    dom.closeGroups.addEventListener("click", () => dom.dialog.close());
    dom.createGroup.addEventListener("submit", (event) => {
      event.preventDefault();
      this.createGroup();
    });
    dom.toggleOnline.addEventListener("click", () => {
      const open = dom.toggleOnline.getAttribute("aria-expanded") !== "true";
      dom.toggleOnline.setAttribute("aria-expanded", String(open));
      dom.onlinePanel.classList.toggle("open", open);
    });
    dom.tabs.addEventListener("keydown", (event) => this.tabKeys(event));
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden && this.active()) {
        this.active().unread = 0;
        this.renderTabs();
      }
    });
  }

  active() {
    return this.groups.get(this.activeId) || null;
  }

  // Start-up: the joined groups, then the tab that was open before a reload.
  async load() {
    const me = await api("GET", "/api/me");
    for (const group of me.groups) this.addGroup(group);
    const stored = Number(localStorage.getItem(this.activeKey));
    this.loaded = true;
    this.applyEvents(this.queued.splice(0));
    this.activate(this.groups.has(stored) ? stored : this.sortedGroups()[0]?.group.id ?? null);
  }

  sortedGroups() {
    return [...this.groups.values()].sort((a, b) => a.group.name.localeCompare(b.group.name));
  }

  addGroup(group) {
    const existing = this.groups.get(group.id);
    if (existing) existing.group = group;
    else this.groups.set(group.id, groupState(group));
    this.renderTabs();
  }

  removeGroup(id) {
    if (!this.groups.delete(id)) return;
    if (this.activeId === id) this.activate(this.sortedGroups()[0]?.group.id ?? null);
    else this.renderTabs();
  }

  activate(id) {
    this.activeId = id;
    if (id === null) localStorage.removeItem(this.activeKey);
    else localStorage.setItem(this.activeKey, String(id));
    const state = this.active();
    if (state) state.unread = 0;
    this.renderTabs();
    this.renderConversation({ toBottom: true });
    if (state && !state.historyLoaded) this.loadHistory(state);
    if (state) this.loadOnline(state);
  }

  // Loading

  async loadHistory(state) {
    state.historyLoaded = true;
    try {
      const { messages } = await api("GET", `/api/groups/${state.group.id}/messages?limit=${HISTORY_PAGE}`);
      state.hasOlder = messages.length === HISTORY_PAGE;
      for (const message of messages) state.messages.set(message.id, message);
    } catch (error) {
      state.historyLoaded = false;
      if (!isTransient(error)) throw error;
    }
    if (state === this.active()) this.renderConversation({ toBottom: true });
  }

  async loadOlder(state) {
    if (!state || !state.historyLoaded || !state.hasOlder || state.loadingOlder) return;
    const oldest = Math.min(...[...state.messages.values()].map((m) => m.seq));
    if (!Number.isFinite(oldest)) return;
    state.loadingOlder = true;
    try {
      const path = `/api/groups/${state.group.id}/messages?before=${oldest}&limit=${HISTORY_PAGE}`;
      const { messages } = await api("GET", path);
      state.hasOlder = messages.length === HISTORY_PAGE;
      for (const message of messages) state.messages.set(message.id, message);
      if (state === this.active()) {
        const log = this.dom.messages;
        const fromBottom = log.scrollHeight - log.scrollTop;
        this.renderConversation();
        log.scrollTop = log.scrollHeight - fromBottom;
      }
    } finally {
      state.loadingOlder = false;
    }
  }

  async loadOnline(state) {
    try {
      const { users } = await api("GET", `/api/groups/${state.group.id}/online`);
      state.online = new Map(users.map((user) => [user.id, user]));
      if (state === this.active()) this.renderOnline();
    } catch (error) {
      if (!isTransient(error)) throw error;
    }
  }

  // Events from the stream (this tab's poll or another tab's)

  applyEvents(events) {
    if (!this.loaded) {
      this.queued.push(...events);
      return;
    }
    for (const event of events) {
      const state = this.groups.get(event.group_id ?? event.message?.group_id);
      if (event.type === "membership") this.membership(event);
      else if (!state) continue;
      else if (event.type === "message") this.addMessage(state, event.message, { live: true });
      else if (event.type === "presence") this.presence(state, event);
      else if (event.type === "typing") this.typing(state, event.user);
    }
  }

  membership(event) {
    if (event.joined) {
      this.addGroup(event.group);
      if (this.activeId === null) this.activate(event.group.id);
    } else {
      this.removeGroup(event.group_id);
    }
  }

  addMessage(state, message, { live }) {
    if (state.messages.has(message.id)) return;
    state.messages.set(message.id, message);
    const mine = message.user.id === this.me.id;
    if (mine && message.client_id) state.pending.delete(message.client_id);
    state.typing.delete(message.user.id);
    const isActive = state === this.active();
    if (live && !mine && (!isActive || document.hidden)) state.unread += 1;
    if (isActive) this.renderConversation({ toBottom: mine });
    this.renderTabs();
  }

  presence(state, event) {
    if (event.online) {
      state.online = new Map(event.online.map((user) => [user.id, user]));
    } else {
      for (const user of event.came) state.online.set(user.id, user);
      for (const user of event.went) state.online.delete(user.id);
    }
    if (state === this.active()) this.renderOnline();
  }

  typing(state, user) {
    state.typing.set(user.id, { user, until: Date.now() + TYPING_SHOWN_MS });
    if (state === this.active()) this.renderTyping();
    clearTimeout(this.typingTimer);
    this.typingTimer = setTimeout(() => this.renderTyping(), TYPING_SHOWN_MS + 50);
  }

  showConnection(ok) {
    this.dom.connection.hidden = ok;
  }

  // Sending: shown as pending at once, retried with the same client_id until
  // the server answers, so a flaky network never doubles a message.

  submit() {
    const state = this.active();
    const text = this.dom.message.value.trim();
    if (!state || !text) return;
    this.dom.message.value = "";
    this.lastTypingSent = 0; // a sent message ends "typing…" for the others: the next keystroke says it again
    this.enqueue(state, { text });
  }

  submitImage(file) {
    const state = this.active();
    if (state) this.enqueue(state, { file, progress: 0 });
  }

  // Shown as pending at once; an image over the limit fails here without being sent.
  enqueue(state, fields) {
    const entry = { clientId: newClientId(), state: "sending", error: "", ...fields };
    state.pending.set(entry.clientId, entry);
    this.renderConversation({ toBottom: true });
    if (entry.file && entry.file.size > MAX_IMAGE_BYTES) this.failed(state, entry, { code: "image_too_large" });
    else this.deliver(state, entry);
  }

  post(state, entry) {
    const group = `/api/groups/${state.group.id}`;
    if (!entry.file) return api("POST", `${group}/messages`, { text: entry.text, client_id: entry.clientId });
    const form = new FormData();
    form.append("client_id", entry.clientId);
    form.append("image", entry.file);
    return upload(`${group}/images`, form, (fraction) => {
      entry.progress = fraction;
      if (entry.bar) entry.bar.value = fraction;
    });
  }

  async deliver(state, entry) {
    for (let attempt = 1; state.pending.has(entry.clientId); attempt += 1) {
      try {
        const { message } = await this.post(state, entry);
        this.addMessage(state, message, { live: false });
        return;
      } catch (error) {
        if (!isTransient(error)) {
          this.failed(state, entry, error);
          return;
        }
        await sleep(error.retryAfter ? error.retryAfter * 1000 : backoff(attempt));
      }
    }
  }

  failed(state, entry, error) {
    entry.state = "failed";
    entry.error = {
      not_member: this.t("You are not a member of this group any more."),
      image_too_large: this.t("The image is too large: at most 10 MB and 50 megapixels."),
      unsupported_image: this.t("That file is not a PNG, JPEG, GIF or WebP image."),
    }[error.code] || error.message || this.t("Something went wrong. Try again.");
    if (state === this.active()) this.renderConversation();
  }

  typed() {
    const state = this.active();
    const now = Date.now();
    if (!state || !this.dom.message.value.trim() || now - this.lastTypingSent < TYPING_SEND_EVERY_MS) return;
    this.lastTypingSent = now;
    api("POST", `/api/groups/${state.group.id}/typing`).catch(() => {});
  }

  // The groups dialog

  async openGroups() {
    const { dom } = this;
    dom.createError.textContent = "";
    dom.groupList.replaceChildren(el("li", "muted", this.t("Loading…")));
    dom.dialog.showModal();
    try {
      const { groups } = await api("GET", "/api/groups");
      dom.groupList.replaceChildren(...groups.map((group) => this.groupListItem(group)));
    } catch {
      dom.groupList.replaceChildren(el("li", "muted", this.t("Could not load the groups. Try again.")));
    }
  }

  groupListItem(group) {
    const item = el("li", group.joined ? "joined" : "");
    const button = el("button", "join", group.name);
    button.type = "button";
    button.addEventListener("click", () => this.join(group));
    const meta = el("span", "meta", this.t("{members} members · {online} online", group));
    item.append(button, meta);
    if (group.joined) item.append(el("span", "badge", this.t("Joined")));
    return item;
  }

  async join(group) {
    if (!group.joined) {
      const answer = await api("PUT", `/api/groups/${group.id}/membership`);
      this.addGroup(answer.group);
    }
    this.dom.dialog.close();
    this.activate(group.id);
  }

  async createGroup() {
    const { dom } = this;
    const name = dom.groupName.value.trim();
    if (!name || name.length > 64) {
      dom.createError.textContent = this.t("Use 1 to 64 characters.");
      return;
    }
    try {
      const { group } = await api("POST", "/api/groups", { name });
      dom.groupName.value = "";
      this.addGroup(group);
      dom.dialog.close();
      this.activate(group.id);
    } catch (error) {
      dom.createError.textContent = {
        group_exists: this.t("A group with that name already exists."),
        invalid_name: this.t("Use 1 to 64 characters."),
      }[error.code] || this.t("Could not create the group. Try again.");
    }
  }

  async leave(id) {
    await api("DELETE", `/api/groups/${id}/membership`);
    this.removeGroup(id);
  }

  tabKeys(event) {
    const tabs = [...this.dom.tabs.querySelectorAll('[role="tab"]')];
    const index = tabs.indexOf(document.activeElement);
    if (index < 0 || !["ArrowLeft", "ArrowRight", "Home", "End"].includes(event.key)) return;
    event.preventDefault();
    const next = { ArrowLeft: index - 1, ArrowRight: index + 1, Home: 0, End: tabs.length - 1 }[event.key];
    const tab = tabs[(next + tabs.length) % tabs.length];
    tab.focus();
    tab.click();
  }

  // Rendering

  renderTabs() {
    const tabs = this.sortedGroups().map((state) => {
      const { id, name } = state.group;
      const item = el("div", "tab-item");
      const tab = el("button", "tab");
      tab.type = "button";
      tab.setAttribute("role", "tab");
      tab.setAttribute("aria-label", name);
      tab.setAttribute("aria-selected", String(id === this.activeId));
      tab.setAttribute("aria-controls", "conversation");
      tab.tabIndex = id === this.activeId ? 0 : -1;
      tab.append(el("span", "tab-name", name));
      if (state.unread) tab.append(el("span", "unread", String(state.unread)));
      tab.addEventListener("click", () => this.activate(id));
      const leave = el("button", "leave", "×");
      leave.type = "button";
      leave.setAttribute("aria-label", this.t("Leave {name}", { name }));
      leave.title = leave.getAttribute("aria-label");
      leave.addEventListener("click", () => this.leave(id));
      item.append(tab, leave);
      return item;
    });
    this.dom.tabs.replaceChildren(...tabs);
    this.dom.tabs.querySelector('[aria-selected="true"]')?.scrollIntoView({ block: "nearest", inline: "nearest" });
    const unread = [...this.groups.values()].reduce((sum, state) => sum + state.unread, 0);
    document.title = unread ? `(${unread}) tornado_chat` : "tornado_chat";
  }

  renderConversation({ toBottom = false } = {}) {
    const state = this.active();
    const { dom } = this;
    dom.empty.hidden = Boolean(state);
    dom.conversation.hidden = !state;
    dom.onlinePanel.hidden = !state;
    if (!state) return;
    const log = dom.messages;
    const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < NEAR_EDGE_PX;
    const messages = [...state.messages.values()].sort((a, b) => a.seq - b.seq);
    log.replaceChildren(
      ...messages.map((message) => this.messageElement(message)),
      ...[...state.pending.values()].map((entry) => this.pendingElement(state, entry)),
    );
    if (!log.childElementCount && state.historyLoaded) {
      log.append(el("p", "no-messages", this.t("No messages yet. Say hello!")));
    }
    if (toBottom || atBottom) log.scrollTop = log.scrollHeight;
    this.renderOnline();
    this.renderTyping();
  }

  messageElement(message) {
    const mine = message.user.id === this.me.id;
    const article = el("article", mine ? "message mine" : "message");
    article.dataset.id = message.id;
    const head = el("header", "meta");
    const time = el("time", "", this.timeFormat.format(new Date(message.created_at)));
    time.dateTime = message.created_at;
    time.title = this.dateFormat.format(new Date(message.created_at));
    head.append(el("span", "author", message.user.username), time);
    article.append(head, message.image ? this.imageElement(message) : this.textElement(message.text || ""));
    return article;
  }

  textElement(text) {
    const body = el("p", "text");
    body.append(linkify(text));
    return body;
  }

  imageElement(message) {
    const { url, thumb_url: thumbUrl, width, height } = message.image;
    const link = el("a", "image-link");
    link.href = url;
    link.target = "_blank";
    link.rel = "noopener";
    const img = el("img", "thumb");
    const scale = Math.min(1, THUMB_SIZE / Math.max(width, height));
    img.width = Math.max(1, Math.round(width * scale));
    img.height = Math.max(1, Math.round(height * scale));
    img.src = thumbUrl;
    img.alt = this.t("Image from {name}", { name: message.user.username });
    img.loading = "lazy";
    link.append(img);
    return link;
  }

  pendingElement(state, entry) {
    const article = el("article", `message mine pending ${entry.state}`);
    const head = el("header", "meta");
    const status = entry.state === "failed" ? this.t("Not sent: {reason}", { reason: entry.error }) : this.t("Sending…");
    head.append(el("span", "author", this.me.username), el("span", "status", status));
    article.append(head, entry.file ? this.uploadElement(entry) : this.textElement(entry.text));
    if (entry.state === "failed") {
      const retry = el("button", "link-button", this.t("Try again"));
      retry.type = "button";
      retry.addEventListener("click", () => {
        entry.state = "sending";
        this.renderConversation();
        this.deliver(state, entry);
      });
      article.append(retry);
    }
    return article;
  }

  uploadElement(entry) {
    const box = el("div", "upload");
    box.append(el("span", "file-name", entry.file.name || this.t("Image")));
    if (entry.state !== "failed") {
      const bar = el("progress");
      bar.max = 1;
      bar.value = entry.progress;
      bar.setAttribute("aria-label", this.t("Uploading {name}", { name: entry.file.name || this.t("Image") }));
      entry.bar = bar;
      box.append(bar);
    }
    return box;
  }

  renderOnline() {
    const state = this.active();
    if (!state) return;
    const users = [...state.online.values()].sort((a, b) => a.username.localeCompare(b.username));
    this.dom.online.replaceChildren(...users.map((user) => el("li", user.id === this.me.id ? "me" : "", user.username)));
    this.dom.toggleOnline.textContent = this.t("Who is online ({count})", { count: users.length });
  }

  renderTyping() {
    const state = this.active();
    if (!state) return;
    const now = Date.now();
    const names = [...state.typing.values()].filter((t) => t.until > now).map((t) => t.user.username);
    this.dom.typing.textContent = names.length === 0 ? ""
      : names.length === 1 ? this.t("{name} is typing…", { name: names[0] })
        : this.t("{names} are typing…", { names: names.join(", ") });
  }
}
