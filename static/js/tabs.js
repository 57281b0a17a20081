// The group tabs, updated in place: one node per group, kept in name order. A
// change touches only the tabs it concerns: an unread count its group's tab,
// a new selection the old and the new tab. The page title carries the total.

import { api } from "./api.js";
import { el } from "./dom.js";

export class Tabs {
  constructor(list, store, { t }) {
    this.list = list;
    this.store = store;
    this.t = t;
    this.items = new Map(); // group id -> {item, tab, name, leave}
    this.groupOf = new WeakMap(); // tab item -> group state, to keep the order
    list.addEventListener("keydown", (event) => this.keys(event));
    store.on("group-added", (state) => this.add(state));
    store.on("group-changed", (state) => this.rename(state));
    store.on("group-removed", (state) => this.remove(state));
    store.on("unread", (state) => this.unread(state));
    store.on("active", (state, previous) => this.select(state, previous));
  }

  add(state) {
    const { id, name } = state.group;
    const item = el("div", "tab-item");
    const tab = el("button", "tab");
    tab.type = "button";
    tab.setAttribute("role", "tab");
    tab.setAttribute("aria-controls", "conversation");
    const label = el("span", "tab-name");
    tab.append(label);
    tab.addEventListener("click", () => this.store.activate(id));
    const leave = el("button", "leave", "×");
    leave.type = "button";
    leave.addEventListener("click", () => this.leave(id));
    item.append(tab, leave);
    const parts = { item, tab, label, leave, name: null };
    this.items.set(id, parts);
    this.groupOf.set(item, state);
    this.setSelected(parts, id === this.store.activeId);
    this.name(parts, name);
    this.place(item, name);
    if (state.unread) this.unread(state);
    this.showSelected();
  }

  rename(state) {
    const parts = this.items.get(state.group.id);
    if (!parts || parts.name === state.group.name) return;
    this.name(parts, state.group.name);
    this.place(parts.item, state.group.name);
  }

  remove(state) {
    const parts = this.items.get(state.group.id);
    if (!parts) return;
    parts.item.remove();
    this.items.delete(state.group.id);
    this.title();
  }

  unread(state) {
    const parts = this.items.get(state.group.id);
    if (parts) {
      const badge = parts.tab.querySelector(".unread");
      if (!state.unread) badge?.remove();
      else if (badge) badge.textContent = String(state.unread);
      else parts.tab.append(el("span", "unread", String(state.unread)));
    }
    this.title();
  }

  select(state, previous) {
    const old = previous && this.items.get(previous.group.id);
    if (old && previous !== state) this.setSelected(old, false);
    const parts = state && this.items.get(state.group.id);
    if (parts) this.setSelected(parts, true);
    this.showSelected();
  }

  async leave(id) {
    await api("DELETE", `/api/groups/${id}/membership`);
    this.store.removeGroup(id);
  }

  // Arrow keys, Home and End move between the tabs (the tablist pattern).
  keys(event) {
    const tabs = [...this.list.querySelectorAll('[role="tab"]')];
    const index = tabs.indexOf(document.activeElement);
    if (index < 0 || !["ArrowLeft", "ArrowRight", "Home", "End"].includes(event.key)) return;
    event.preventDefault();
    const next = { ArrowLeft: index - 1, ArrowRight: index + 1, Home: 0, End: tabs.length - 1 }[event.key];
    const tab = tabs[(next + tabs.length) % tabs.length];
    tab.focus();
    tab.click();
  }

  // Parts

  name(parts, name) {
    parts.name = name;
    parts.label.textContent = name;
    parts.tab.setAttribute("aria-label", name);
    parts.leave.setAttribute("aria-label", this.t("Leave {name}", { name }));
    parts.leave.title = parts.leave.getAttribute("aria-label");
  }

  setSelected(parts, selected) {
    parts.tab.setAttribute("aria-selected", String(selected));
    parts.tab.tabIndex = selected ? 0 : -1;
  }

  // Before the first tab whose name sorts after this one.
  place(item, name) {
    const after = [...this.list.children].find(
      (other) => other !== item && this.groupOf.get(other)?.group.name.localeCompare(name) > 0,
    );
    if (item.isConnected && item.nextElementSibling === (after ?? null)) return; // moving it would lose its focus
    this.list.insertBefore(item, after ?? null);
  }

  showSelected() {
    this.list.querySelector('[aria-selected="true"]')?.scrollIntoView({ block: "nearest", inline: "nearest" });
  }

  title() {
    const unread = this.store.totalUnread();
    document.title = unread ? `(${unread}) tornado_chat` : "tornado_chat";
  }
}
