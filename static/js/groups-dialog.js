// The groups dialog: every group as a row with its name, members and who is
// online, and a Join button (Open when joined) named after the group; a search
// that filters as you type; a form to create one. It stays open while the person
// joins several groups (each join opens the group behind it); Open and Create
// close it and put the person in the group. A group can be made public or
// private, with a topic (issue 15); direct conversations are not listed here.

import { api } from "./api.js";
import { el, fold } from "./dom.js";

export class GroupsDialog {
  // dom: {dialog, title, open, close, search, status, list, empty, form, name, error, more, topic}
  // onOpen(id) opens a group; onClosed(joined) runs when the dialog closes; isPhone() says
  // whether to keep the keyboard down on opening (the heading gets the focus, not the search).
  constructor(dom, store, { t, format, onOpen, onClosed, isPhone = () => false }) {
    this.dom = dom;
    this.store = store;
    this.t = t;
    this.format = format;
    this.onOpen = onOpen;
    this.onClosed = onClosed;
    this.isPhone = isPhone;
    this.rows = []; // {group, item, button, meta, key}
    this.joined = false; // joined a group since the dialog opened
    dom.open.addEventListener("click", () => this.open());
    dom.close.addEventListener("click", () => dom.dialog.close());
    dom.search.addEventListener("input", () => this.filter());
    dom.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.create();
    });
    dom.dialog.addEventListener("close", () => this.onClosed(this.joined));
    store.on("group-removed", (state) => this.update({ ...state.group, joined: false }));
  }

  async open() {
    const { dom } = this;
    dom.error.textContent = "";
    dom.search.value = "";
    this.joined = false;
    this.rows = [];
    dom.list.replaceChildren(el("li", "muted", this.t("Loading…")));
    dom.empty.hidden = true;
    dom.dialog.showModal();
    (this.isPhone() ? dom.title : dom.search).focus();
    try {
      const { groups } = await api("GET", "/api/groups");
      this.rows = groups.filter((group) => group.kind !== "direct").map((group) => this.row(group));
      dom.list.replaceChildren(...this.rows.map((row) => row.item));
      this.filter();
    } catch {
      dom.list.replaceChildren(el("li", "muted", this.t("Could not load the groups. Try again.")));
    }
  }

  row(group) {
    const item = el("li", "group-row");
    const about = el("div", "about");
    const name = el("span", "name", group.name);
    name.title = group.name;
    const meta = el("span", "meta");
    about.append(name, meta);
    const button = el("button");
    button.type = "button";
    button.addEventListener("click", () => (row.group.joined ? this.openGroup(row.group) : this.join(row)));
    item.append(about, button);
    const row = { group, item, button, meta, key: fold(group.name) };
    this.show(row);
    return row;
  }

  show(row) {
    const { group, item, button, meta } = row;
    item.classList.toggle("joined", group.joined);
    const counts = `${this.format.members(group.members)} · ${this.format.online(group.online)}`;
    meta.textContent = group.kind === "private" ? `${this.t("Private")} · ${counts}` : counts;
    item.classList.toggle("private", group.kind === "private");
    button.className = group.joined ? "secondary" : "primary";
    button.textContent = group.joined ? this.t("Open") : this.t("Join");
    const label = group.joined ? this.t("Open {name}", { name: group.name }) : this.t("Join {name}", { name: group.name });
    button.setAttribute("aria-label", label);
  }

  // A group left elsewhere while the dialog is open can be joined again.
  update(group) {
    const row = this.rows.find((candidate) => candidate.group.id === group.id);
    if (!row) return;
    if (group.kind === "private") { // no longer seen: it cannot be joined
      row.item.remove();
      this.rows = this.rows.filter((other) => other !== row);
      return;
    }
    row.group = { ...row.group, joined: false, members: Math.max(0, row.group.members - 1) };
    this.show(row);
  }

  filter() {
    const { dom } = this;
    const query = fold(dom.search.value.trim());
    let shown = 0;
    for (const row of this.rows) {
      row.item.hidden = Boolean(query) && !row.key.includes(query);
      if (!row.item.hidden) shown += 1;
    }
    dom.empty.hidden = shown > 0;
    dom.empty.textContent = !this.rows.length
      ? this.t("No groups yet. Create the first one.")
      : this.t("No group matches “{query}”.", { query: dom.search.value.trim() });
    dom.status.textContent = query
      ? this.format.plural(shown, {
        one: (n) => this.t("{count} group found", { count: n }),
        other: (n) => this.t("{count} groups found", { count: n }),
      })
      : "";
  }

  async join(row) {
    const { button } = row;
    button.disabled = true;
    try {
      const answer = await api("PUT", `/api/groups/${row.group.id}/membership`);
      row.group = answer.group;
      this.store.addGroup(answer.group);
      this.store.activate(answer.group.id);
      this.joined = true;
      this.show(row);
    } catch {
      this.dom.error.textContent = this.t("Could not join {name}. Try again.", { name: row.group.name });
    } finally {
      button.disabled = false;
      button.focus(); // the same button, now Open
    }
  }

  openGroup(group) {
    this.dom.dialog.close();
    this.onOpen(group.id);
  }

  async create() {
    const { dom } = this;
    const name = dom.name.value.trim();
    const kind = dom.form.elements.kind.value || "public";
    const topic = dom.topic.value.trim();
    if (!name || name.length > 64) {
      dom.error.textContent = this.t("Use 1 to 64 characters.");
      dom.name.focus();
      return;
    }
    try {
      const { group } = await api("POST", "/api/groups", { name, kind, ...(topic ? { topic } : {}) });
      dom.form.reset();
      dom.more.open = false;
      this.store.addGroup(group);
      dom.dialog.close();
      this.onOpen(group.id);
    } catch (error) {
      dom.error.textContent = {
        group_exists: this.t("A group with that name already exists."),
        invalid_name: this.t("Use 1 to 64 characters."),
        invalid_topic: this.t("A topic can have up to 250 characters."),
      }[error.code] || this.t("Could not create the group. Try again.");
      (error.code === "invalid_topic" ? dom.topic : dom.name).focus();
    }
  }
}
