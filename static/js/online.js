// Who is online in the open group: the panel's list and the button that shows
// it on a phone (the button also says how many).

import { el } from "./dom.js";

export class OnlinePanel {
  // dom: {panel, list, toggle}
  constructor(dom, store, { t }) {
    this.dom = dom;
    this.store = store;
    this.t = t;
    dom.toggle.addEventListener("click", () => {
      const open = dom.toggle.getAttribute("aria-expanded") !== "true";
      dom.toggle.setAttribute("aria-expanded", String(open));
      dom.panel.classList.toggle("open", open);
    });
    store.on("active", (state) => {
      dom.panel.hidden = !state;
      this.render();
    });
    store.on("online", (state) => {
      if (state === store.active()) this.render();
    });
  }

  render() {
    const state = this.store.active();
    if (!state) return;
    const me = this.store.me;
    const users = [...state.online.values()].sort((a, b) => a.username.localeCompare(b.username));
    this.dom.list.replaceChildren(...users.map((user) => el("li", user.id === me.id ? "me" : "", user.username)));
    this.dom.toggle.textContent = this.t("Who is online ({count})", { count: users.length });
  }
}
