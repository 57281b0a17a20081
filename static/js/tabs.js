// The group tabs, updated in place: one node per group, kept in name order. A
// change touches only the tabs it concerns: an unread count its group's tab,
// a new selection the old and the new tab. On a phone the same tabs are the
// first screen's list of groups (css/chat.css lays them out).
//
// A fade at either end of the strip shows that more tabs lie beyond it.
//
// Each tab has its leave button (the X) beside it, outside the tab itself: a
// tablist may hold only tabs, so the tablist element owns the tabs through
// aria-owns, while #tabs lays out the tabs with their X. The X of the open tab is
// in the Tab order; the others show on hover and are reached with the mouse, or
// by Delete on a tab, or through the group menu.
//
// Direct conversations (issue 15) come after the groups, under "Direct
// messages", each named after the other person; their X closes the tab only
// (a direct conversation cannot be left), and the tab says "Direct message".

import { colourOf, initials } from "./avatar.js";
import { el } from "./dom.js";
import { displayName, isDirect } from "./roles.js";

const KEYS = ["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "Home", "End", "Delete"];

export class Tabs {
  // dom: {tablist, list, panel}; onOpen(id) opens a group; onLeave(state, opener) asks to leave one.
  constructor(dom, store, { t, format, onOpen, onLeave }) {
    this.tablist = dom.tablist;
    this.list = dom.list;
    this.panel = dom.panel;
    this.store = store;
    this.t = t;
    this.format = format;
    this.onOpen = onOpen;
    this.onLeave = onLeave;
    this.items = new Map(); // group id -> {item, tab, label, leave, description, name}
    this.groupOf = new WeakMap(); // tab item -> group state, to keep the order
    // What a screen reader says after a tab's name ("3 unread"), kept out of #tabs.
    this.descriptions = el("div", "sr-only");
    this.descriptions.hidden = true;
    this.list.after(this.descriptions);
    this.section = el("span", "tabs-section", t("Direct messages"));
    this.section.hidden = true;
    this.list.append(this.section);
    this.list.addEventListener("keydown", (event) => this.keys(event));
    this.list.addEventListener("scroll", () => this.edges(), { passive: true });
    this.list.addEventListener("wheel", (event) => this.wheel(event));
    new ResizeObserver(() => this.edges()).observe(this.list);
    store.on("group-added", (state) => this.add(state));
    store.on("group-changed", (state) => this.rename(state));
    store.on("group-removed", (state) => this.remove(state));
    store.on("unread", (state) => this.unread(state));
    store.on("active", (state, previous) => this.select(state, previous));
  }

  add(state) {
    const { id } = state.group;
    const name = displayName(state.group);
    const item = el("div", "tab-item");
    const tab = el("button", "tab");
    tab.type = "button";
    tab.id = `tab-${id}`;
    tab.setAttribute("role", "tab");
    tab.setAttribute("aria-controls", "conversation");
    tab.setAttribute("aria-describedby", `tab-about-${id}`);
    // The tab is named by its text: the group's name. The avatar (shown on a phone) and the
    // unread badge are hidden from screen readers, which hear "3 unread messages" as the
    // tab's description instead.
    const avatar = el("span", "tab-avatar");
    avatar.setAttribute("aria-hidden", "true");
    const label = el("span", "tab-name");
    tab.append(avatar, label);
    tab.addEventListener("click", () => this.onOpen(id));
    const leave = el("button", "leave");
    leave.type = "button";
    leave.append(cross());
    leave.addEventListener("click", () => this.onLeave(this.groupOf.get(item), leave));
    item.append(tab, leave);
    const description = el("span");
    description.id = `tab-about-${id}`;
    this.descriptions.append(description);
    const parts = { item, tab, avatar, label, leave, description, name: null, direct: isDirect(state.group) };
    item.classList.toggle("direct", parts.direct);
    item.classList.toggle("private", state.group.kind === "private"); // a lock before the name (members.css)
    this.items.set(id, parts);
    this.groupOf.set(item, state);
    this.setSelected(parts, id === this.store.activeId);
    this.name(parts, name);
    this.place(item, name);
    this.unread(state);
    this.showSelected();
  }

  rename(state) {
    const parts = this.items.get(state.group.id);
    if (!parts) return;
    this.groupOf.set(parts.item, state);
    const name = displayName(state.group);
    if (parts.name === name) return;
    this.name(parts, name);
    this.place(parts.item, name);
  }

  remove(state) {
    const parts = this.items.get(state.group.id);
    if (!parts) return;
    parts.item.remove();
    parts.description.remove();
    this.items.delete(state.group.id);
    this.own();
  }

  // The server's counts (issue 16): unread messages, and the mentions of the reader
  // among them in a badge of their own ("@2"); a group set to notify nothing shows its
  // count quietly. Only the badges that changed are touched.
  unread(state) {
    const parts = this.items.get(state.group.id);
    if (!parts) return;
    const muted = state.notify === "none";
    if (parts.item.classList.contains("muted") !== muted) parts.item.classList.toggle("muted", muted);
    this.badge(parts.tab, "unread count", state.unread, this.format.number(state.unread));
    this.badge(parts.tab, "unread mentions", state.mentions, `@${this.format.number(state.mentions)}`);
    const unread = state.unread
      ? this.format.plural(state.unread, {
        one: (n) => this.t("{count} unread message", { count: n }),
        other: (n) => this.t("{count} unread messages", { count: n }),
      })
      : "";
    const mentions = state.mentions
      ? this.format.plural(state.mentions, {
        one: (n) => this.t("{count} mention of you", { count: n }),
        other: (n) => this.t("{count} mentions of you", { count: n }),
      })
      : "";
    const level = muted ? this.t("Notifications off") : state.notify === "mentions" ? this.t("Notifies mentions only") : "";
    const text = [parts.direct ? this.t("Direct message") : "", unread, mentions, level].filter(Boolean).join(", ");
    if (parts.description.textContent !== text) parts.description.textContent = text;
  }

  badge(tab, className, count, text) {
    const selector = `.${className.split(" ").join(".")}`;
    const badge = tab.querySelector(selector);
    if (!count) badge?.remove();
    else if (badge) {
      if (badge.textContent !== text) badge.textContent = text;
    } else {
      const fresh = el("span", className, text);
      fresh.setAttribute("aria-hidden", "true");
      tab.append(fresh);
    }
  }

  select(state, previous) {
    const old = previous && this.items.get(previous.group.id);
    if (old && previous !== state) this.setSelected(old, false);
    const parts = state && this.items.get(state.group.id);
    if (parts) this.setSelected(parts, true);
    if (parts) this.panel.setAttribute("aria-labelledby", parts.tab.id);
    this.showSelected();
  }

  // Arrow keys, Home and End move between the tabs and open the one reached (the
  // tablist pattern, keeping the focus on the tabs); Delete asks to leave.
  keys(event) {
    const tabs = [...this.list.querySelectorAll('[role="tab"]')];
    const index = tabs.indexOf(document.activeElement);
    if (index < 0 || !KEYS.includes(event.key)) return;
    event.preventDefault();
    if (event.key === "Delete") {
      this.onLeave(this.groupOf.get(tabs[index].parentElement), tabs[index]);
      return;
    }
    const next = {
      ArrowLeft: index - 1, ArrowUp: index - 1, ArrowRight: index + 1, ArrowDown: index + 1, Home: 0, End: tabs.length - 1,
    }[event.key];
    const tab = tabs[(next + tabs.length) % tabs.length];
    tab.focus();
    this.store.activate(this.groupOf.get(tab.parentElement).group.id);
  }

  // Parts

  name(parts, name) {
    parts.name = name;
    parts.label.textContent = name;
    parts.avatar.textContent = [...name.trim()][0]?.toLocaleUpperCase() || "#";
    const peer = parts.direct && this.groupOf.get(parts.item)?.group.peer;
    if (peer) { // the other person's initials and colour, as beside their messages
      parts.avatar.textContent = initials(peer.username);
      parts.avatar.className = `tab-avatar c${colourOf(peer.id)}`;
    }
    parts.tab.title = name; // the whole name, when the tab shows only its start
    const close = parts.direct ? this.t("Close {name}", { name }) : this.t("Leave {name}", { name });
    parts.leave.setAttribute("aria-label", close);
    parts.leave.title = parts.leave.getAttribute("aria-label");
  }

  setSelected(parts, selected) {
    parts.tab.setAttribute("aria-selected", String(selected));
    parts.tab.tabIndex = selected ? 0 : -1;
    parts.leave.tabIndex = selected ? 0 : -1;
  }

  // Before the first tab of its section whose name sorts after this one: the
  // groups first, then "Direct messages" and the direct conversations.
  place(item, name) {
    const direct = isDirect(this.groupOf.get(item).group);
    const after = [...this.list.children].find((other) => {
      const group = other !== item && this.groupOf.get(other)?.group;
      return group && isDirect(group) === direct && displayName(group).localeCompare(name) > 0;
    }) ?? (direct ? null : this.section);
    if (!(item.isConnected && item.nextElementSibling === (after ?? null))) {
      this.list.insertBefore(item, after ?? null); // (not when already there: moving it would lose its focus)
    }
    this.own();
  }

  // The tablist owns the tabs, in their order.
  own() {
    const ids = [...this.list.querySelectorAll('[role="tab"]')].map((tab) => tab.id);
    this.tablist.setAttribute("aria-owns", ids.join(" "));
    this.section.hidden = !this.list.querySelector(".tab-item.direct");
    this.edges();
  }

  // A mouse wheel scrolls the strip of tabs sideways (on a wide screen, where it is one row).
  wheel(event) {
    const strip = this.list;
    if (event.deltaX || !event.deltaY || strip.scrollWidth <= strip.clientWidth) return;
    if (getComputedStyle(strip).flexDirection !== "row") return;
    event.preventDefault();
    strip.scrollLeft += event.deltaY;
  }

  // A fade at an edge of the tab strip says more tabs lie beyond it.
  edges() {
    const { scrollLeft, scrollWidth, clientWidth } = this.list;
    this.list.classList.toggle("more-before", scrollLeft > 1);
    this.list.classList.toggle("more-after", scrollLeft + clientWidth < scrollWidth - 1);
  }

  showSelected() {
    this.list.querySelector('[aria-selected="true"]')?.scrollIntoView({ block: "nearest", inline: "nearest" });
  }
}

function cross() {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "16");
  svg.setAttribute("height", "16");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", "M6 6l12 12M18 6L6 18");
  path.setAttribute("fill", "none");
  path.setAttribute("stroke", "currentColor");
  path.setAttribute("stroke-width", "2.4");
  path.setAttribute("stroke-linecap", "round");
  svg.append(path);
  return svg;
}
