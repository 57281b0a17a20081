// The page's search (issue 17): a box in the top bar, focused by "/" (when not
// typing in a field) or Ctrl+K / Cmd+K, that searches the messages of the
// reader's groups as they type (GET /api/search, newest first). The box is a
// combobox owning a listbox of results: ↓ ↑ move through them, Enter opens one
// (its group scrolled to it, in context: jump.js), Escape closes the panel. Each
// result shows its group, author, time and text with the words searched
// highlighted (highlight.js; text nodes and <mark>, never HTML); "Load more"
// pages back (`before`, a message id). A polite status says how many were found,
// that none were, or that searching must wait (429, Retry-After). On a phone the
// search takes the whole screen.

import { api, ApiError } from "./api.js";
import { avatar } from "./avatar.js";
import { Days, dayKey } from "./days.js";
import { el } from "./dom.js";
import { hasWord, highlighted, searchWords } from "./highlight.js";
import { displayName } from "./roles.js";

const PAGE = 20;
const TYPING_PAUSE_MS = 300; // a search starts once the typing pauses this long

// Whether a key press is someone typing (a field, an editable text).
function typing(target) {
  return Boolean(target?.closest?.("input, textarea, select, [contenteditable]:not([contenteditable=false])"));
}

export class MessageSearch {
  // dom: {root, form, input, panel, status, hint, list, more, close}; onChoose(message) goes to a
  // result; canFocus() says whether the shortcuts may take the focus (no dialog open).
  // onDismiss(): after the phone's back control closed the search (the focus goes somewhere).
  constructor(dom, store, { t, format, locale, onChoose, onDismiss = () => {}, canFocus = () => true }) {
    this.dom = dom;
    this.store = store;
    this.t = t;
    this.format = format;
    this.onChoose = onChoose;
    this.canFocus = canFocus;
    this.results = []; // the messages shown, newest first
    this.query = ""; // the query they answer
    this.more = false;
    this.active = -1;
    this.timer = 0;
    this.asked = 0; // the number of the latest search, so that a late answer is dropped
    this.days = new Days(locale, t); // times written as the conversation writes them
    this.date = new Intl.DateTimeFormat(locale, { day: "numeric", month: "short" });
    this.dateYear = new Intl.DateTimeFormat(locale, { day: "numeric", month: "short", year: "numeric" });
    const { form, input, list, more, close } = dom;
    input.addEventListener("input", () => this.typed());
    input.addEventListener("focus", () => this.open());
    input.addEventListener("keydown", (event) => this.keys(event));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (this.active >= 0) this.choose(this.active);
      else this.search(input.value);
    });
    // A press in the panel keeps the focus in the box (the combobox pattern), but on its button.
    dom.panel.addEventListener("mousedown", (event) => {
      if (!event.target.closest("button, a")) event.preventDefault();
    });
    list.addEventListener("click", (event) => {
      const option = event.target.closest('[role="option"]');
      if (option) this.choose(Number(option.dataset.index));
    });
    list.addEventListener("pointermove", (event) => {
      const option = event.target.closest('[role="option"]');
      if (option && Number(option.dataset.index) !== this.active) this.activate(Number(option.dataset.index), { scroll: false });
    });
    more.addEventListener("click", () => this.loadMore());
    close.addEventListener("click", () => {
      this.close({ focus: false, clear: true });
      onDismiss();
    });
    form.addEventListener("focusout", (event) => {
      if (!form.contains(event.relatedTarget)) this.close({ focus: false });
    });
    document.addEventListener("pointerdown", (event) => {
      if (this.isOpen() && !form.contains(event.target)) this.close({ focus: false });
    });
    document.addEventListener("keydown", (event) => this.shortcut(event));
  }

  // "/" (not while typing) and Ctrl+K / Cmd+K put the focus in the box.
  shortcut(event) {
    const k = event.key === "k" || event.key === "K";
    const slash = event.key === "/" && !event.ctrlKey && !event.metaKey && !event.altKey && !typing(event.target);
    const combo = k && (event.ctrlKey || event.metaKey) && !event.altKey && !event.shiftKey;
    if (!(slash || combo) || event.defaultPrevented || !this.canFocus()) return;
    if (!this.dom.input.getClientRects().length) return; // not shown (a phone's conversation screen)
    event.preventDefault();
    this.dom.input.focus();
    this.dom.input.select();
  }

  isOpen() {
    return !this.dom.panel.hidden;
  }

  open() {
    const { dom } = this;
    if (this.isOpen()) return;
    dom.panel.hidden = false;
    dom.form.classList.add("open");
    dom.root.classList.add("searching");
    this.expanded();
    if (!dom.input.value.trim()) this.say("", { hint: true });
  }

  // focus: back to the box; clear: the query and its results go too.
  close({ focus = true, clear = false } = {}) {
    const { dom } = this;
    clearTimeout(this.timer);
    if (clear) {
      dom.input.value = "";
      this.reset();
    }
    if (this.isOpen()) {
      dom.panel.hidden = true;
      dom.form.classList.remove("open");
      dom.root.classList.remove("searching");
      this.activate(-1);
      this.expanded();
    }
    if (focus) dom.input.focus();
    else if (clear && dom.form.contains(document.activeElement)) dom.input.blur();
  }

  expanded() {
    const open = this.isOpen() && this.results.length > 0;
    this.dom.input.setAttribute("aria-expanded", String(open));
  }

  typed() {
    clearTimeout(this.timer);
    this.open();
    const value = this.dom.input.value;
    if (!hasWord(value)) {
      this.asked += 1; // an answer under way is not wanted any more
      this.reset();
      this.say(value.trim() ? this.t("Type a word to search for.") : "", { hint: !value.trim() });
      return;
    }
    this.timer = setTimeout(() => this.search(value), TYPING_PAUSE_MS);
  }

  reset() {
    this.results = [];
    this.query = "";
    this.more = false;
    this.active = -1;
    this.dom.list.replaceChildren();
    this.dom.more.hidden = true;
    this.dom.input.removeAttribute("aria-activedescendant");
    this.expanded();
  }

  // A new search: the first page of `value`'s results.
  async search(value) {
    clearTimeout(this.timer);
    const query = value.trim().slice(0, 200);
    this.open();
    if (!hasWord(query)) {
      this.reset();
      this.say(query ? this.t("Type a word to search for.") : "", { hint: !query });
      return;
    }
    if (query === this.query && this.results.length) return;
    const number = ++this.asked;
    this.say(this.t("Searching…"), { busy: true });
    const messages = await this.fetch(query, null, number);
    if (!messages) return;
    this.reset();
    this.query = query;
    this.add(messages);
    this.summary();
  }

  async loadMore() {
    if (!this.more || !this.results.length) return;
    const number = ++this.asked;
    const first = this.results.length;
    this.dom.more.disabled = true;
    const messages = await this.fetch(this.query, this.results.at(-1).id, number);
    this.dom.more.disabled = false;
    if (!messages) return;
    this.add(messages);
    this.summary();
    // The focus goes back to the box, on the first result of the new page.
    this.dom.input.focus();
    if (this.results.length > first) this.activate(first);
  }

  // One page of results, or null (said in the status) when there is none to show.
  async fetch(query, before, number) {
    const params = new URLSearchParams({ q: query, limit: String(PAGE) });
    if (before) params.set("before", String(before));
    try {
      const { messages } = await api("GET", `/api/search?${params}`);
      return number === this.asked ? messages : null;
    } catch (error) {
      if (number !== this.asked) return null;
      if (error instanceof ApiError && error.status === 429) {
        const seconds = Math.max(1, Math.ceil(error.retryAfter || 1));
        this.say(this.format.plural(seconds, {
          one: (n) => this.t("Too many searches at once. Trying again in {count} second…", { count: n }),
          other: (n) => this.t("Too many searches at once. Trying again in {count} seconds…", { count: n }),
        }));
        clearTimeout(this.timer);
        this.timer = setTimeout(() => (before ? this.loadMore() : this.search(query)), seconds * 1000);
      } else if (error instanceof ApiError && error.code === "invalid_query") {
        this.say(this.t("Type a word to search for."));
      } else {
        this.say(this.t("Could not search. Check your connection and try again."));
      }
      return null;
    }
  }

  add(messages) {
    const words = searchWords(this.query);
    const fragment = document.createDocumentFragment();
    for (const message of messages) {
      const index = this.results.length;
      this.results.push(message);
      fragment.append(this.option(message, index, words));
    }
    this.dom.list.append(fragment);
    this.more = messages.length === PAGE;
    this.dom.more.hidden = !this.more;
    this.expanded();
  }

  // "12 messages found" (or that none were), said politely.
  summary() {
    const count = this.results.length;
    if (!count) {
      this.say(this.t("No messages match “{query}”.", { query: this.query }), { empty: true });
      return;
    }
    const found = this.format.plural(count, {
      one: (n) => this.t("{count} message found", { count: n }),
      other: (n) => this.t("{count} messages found", { count: n }),
    });
    this.say(this.more ? this.t("{found}, more below", { found }) : found);
  }

  // The status line (a polite live region); hint: the empty box's help; empty: no result.
  say(text, { hint = false, busy = false, empty = false } = {}) {
    const { status, hint: help, panel } = this.dom;
    if (status.textContent !== text) status.textContent = text;
    help.hidden = !(hint || empty);
    panel.setAttribute("aria-busy", String(busy));
  }

  option(message, index, words) {
    const option = el("li", "result");
    option.id = `search-result-${message.id}`;
    option.setAttribute("role", "option");
    option.setAttribute("aria-selected", "false");
    option.dataset.index = String(index);
    const group = this.groupName(message.group_id);
    const date = new Date(message.created_at);
    const head = el("span", "result-head");
    const time = el("time", "result-time", this.when(date));
    time.dateTime = message.created_at;
    time.title = this.days.exact(date);
    head.append(
      el("span", "result-author", message.user.username),
      el("span", "result-group", this.t("in {group}", { group })),
      time,
    );
    const text = el("span", "result-text");
    if (message.text != null) text.append(highlighted(message.text, words));
    else text.append(el("span", "result-image", this.t("Image")));
    const body = el("span", "result-body");
    body.append(head, text);
    option.append(avatar(message.user), body);
    return option;
  }

  groupName(id) {
    const group = this.store.groups.get(id)?.group ?? this.store.closed.get(id);
    return group ? displayName(group) : "…";
  }

  // Today: the time; another day: the date and the time.
  when(date) {
    const now = new Date();
    if (dayKey(date) === dayKey(now)) return this.days.clock(date);
    const day = (date.getFullYear() === now.getFullYear() ? this.date : this.dateYear).format(date);
    return `${day}, ${this.days.clock(date)}`;
  }

  keys(event) {
    const count = this.results.length;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (!count) return;
      event.preventDefault();
      this.open();
      const step = event.key === "ArrowDown" ? 1 : -1;
      const next = this.active < 0 ? (step > 0 ? 0 : count - 1) : (this.active + step + count) % count;
      this.activate(next);
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      if (this.isOpen()) this.close();
      else if (this.dom.input.value) this.close({ clear: true });
    } else if ((event.key === "Home" || event.key === "End") && this.active >= 0) {
      event.preventDefault();
      this.activate(event.key === "Home" ? 0 : count - 1);
    }
  }

  activate(index, { scroll = true } = {}) {
    const options = this.dom.list.children;
    options[this.active]?.setAttribute("aria-selected", "false");
    this.active = index;
    const option = options[index];
    if (!option) {
      this.dom.input.removeAttribute("aria-activedescendant");
      return;
    }
    option.setAttribute("aria-selected", "true");
    this.dom.input.setAttribute("aria-activedescendant", option.id);
    if (scroll) option.scrollIntoView({ block: "nearest" });
  }

  choose(index) {
    const message = this.results[index];
    if (!message) return;
    this.close({ focus: false });
    this.onChoose(message);
  }
}
