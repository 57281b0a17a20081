// The open group's header: its name, how many members it has and how many of
// them are online (a button that opens the online list), a back control on a
// phone, and the group menu ("Who is online", "Leave group"). The page title
// follows: "(2) Lobby · tornado chat", the count being every unread message.

import { Menu } from "./menu.js";

export const APP_NAME = "tornado chat";

export class GroupHeader {
  // dom: {title, members, online, back, menuButton, menu, menuOnline, menuLeave}
  // onBack(), onOnline(opener) toggles the online list, onShowOnline(opener) opens it,
  // onLeave(state, opener) asks to leave.
  constructor(dom, store, { t, format, onBack, onOnline, onShowOnline, onLeave }) {
    this.dom = dom;
    this.store = store;
    this.t = t;
    this.format = format;
    this.connected = true;
    this.menu = new Menu(dom.menuButton, dom.menu);
    dom.back.addEventListener("click", () => onBack());
    dom.online.addEventListener("click", () => onOnline(dom.online));
    dom.menuOnline.addEventListener("click", () => onShowOnline(dom.menuButton));
    dom.menuLeave.addEventListener("click", () => {
      const state = store.active();
      if (state) onLeave(state, dom.menuButton);
    });
    const mine = (state) => {
      if (state === store.active()) this.render();
    };
    store.on("active", () => {
      this.menu.close({ focusButton: false });
      this.render();
    });
    store.on("group-changed", mine);
    store.on("online", mine);
    store.on("unread", () => this.pageTitle());
    store.on("group-removed", () => this.pageTitle());
  }

  connection(ok) {
    this.connected = ok;
    this.render();
  }

  render() {
    const { dom } = this;
    const state = this.store.active();
    this.pageTitle();
    if (!state) return;
    const { name, members } = state.group;
    dom.title.textContent = name;
    dom.members.textContent = this.format.members(members);
    dom.online.textContent = this.connected ? this.format.online(state.online.size) : this.t("Offline");
    dom.online.classList.toggle("offline", !this.connected);
  }

  pageTitle() {
    const state = this.store.active();
    const unread = this.store.totalUnread();
    const parts = [state ? `${state.group.name} · ${APP_NAME}` : APP_NAME];
    if (unread) parts.unshift(`(${this.format.number(unread)})`);
    document.title = parts.join(" ");
  }
}
