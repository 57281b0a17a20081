// The open group's header: its name, how many members it has and how many of
// them are online (a button that opens the online list), a back control on a
// phone, and the group menu ("Who is online", "Leave group"). The page title
// follows: "(2) Lobby · tornado chat", the count being every unread message.
// Issue 15: the group's topic under its name, the member count opens the
// members dialog, a settings button for its owner and moderators; a direct
// conversation is named after the other person, has no members or settings,
// and its menu closes it instead of leaving.

import { colourOf, initials } from "./avatar.js";
import { Menu } from "./menu.js";
import { displayName, isDirect, mayEdit } from "./roles.js";

export const APP_NAME = "tornado chat";

export class GroupHeader {
  // dom: {title, members, online, back, menuButton, menu, menuOnline, menuLeave, topic, settings, kind, avatar}
  // onBack(), onOnline(opener) toggles the online list, onShowOnline(opener) opens it,
  // onLeave(state, opener) asks to leave, onMembers(state, opener), onSettings(state, opener).
  constructor(dom, store, { t, format, onBack, onOnline, onShowOnline, onLeave, onMembers, onSettings }) {
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
    dom.members.addEventListener("click", () => {
      const state = store.active();
      if (state) onMembers(state, dom.members);
    });
    dom.settings.addEventListener("click", () => {
      const state = store.active();
      if (state) onSettings(state, dom.settings);
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
    const { group } = state;
    const direct = isDirect(group);
    dom.title.textContent = displayName(group);
    dom.members.textContent = this.format.members(group.members);
    dom.members.hidden = direct;
    dom.members.nextElementSibling.hidden = direct; // its dot
    dom.kind.hidden = group.kind !== "private";
    const peer = direct ? group.peer : null;
    dom.avatar.hidden = !peer;
    if (peer) {
      dom.avatar.className = `avatar peer-avatar c${colourOf(peer.id)}`;
      dom.avatar.textContent = initials(peer.username);
    }
    dom.kind.title = dom.kind.hidden ? "" : this.t("Private group: only its members see it");
    const topic = group.topic || "";
    dom.topic.textContent = topic;
    dom.topic.title = topic;
    dom.topic.hidden = !topic;
    dom.settings.hidden = !mayEdit(group);
    dom.menuLeave.textContent = direct ? this.t("Close conversation") : this.t("Leave group");
    dom.online.textContent = this.connected ? this.format.online(state.online.size) : this.t("Offline");
    dom.online.classList.toggle("offline", !this.connected);
  }

  pageTitle() {
    const state = this.store.active();
    const unread = this.store.totalUnread();
    const parts = [state ? `${displayName(state.group)} · ${APP_NAME}` : APP_NAME];
    if (unread) parts.unshift(`(${this.format.number(unread)})`);
    document.title = parts.join(" ");
  }
}
