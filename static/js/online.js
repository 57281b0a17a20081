// Who is online in the open group, in the online panel (see sheet.js for how it
// opens). While the connection is lost nobody is shown as online: the list is
// replaced by "Offline — reconnecting…" until the stream is back.

import { el } from "./dom.js";

export class OnlinePanel {
  // dom: {panel, list, offline}
  constructor(dom, store, { t }) {
    this.dom = dom;
    this.store = store;
    this.t = t;
    this.connected = true;
    store.on("active", () => this.render());
    store.on("online", (state) => {
      if (state === store.active()) this.render();
    });
  }

  connection(ok) {
    this.connected = ok;
    this.render();
  }

  render() {
    const { dom } = this;
    dom.panel.classList.toggle("offline", !this.connected);
    dom.offline.hidden = this.connected;
    dom.list.hidden = !this.connected;
    const state = this.store.active();
    if (!state) return;
    const me = this.store.me;
    const users = [...state.online.values()].sort((a, b) => a.username.localeCompare(b.username));
    dom.list.replaceChildren(
      ...users.map((user) => {
        const item = el("li", user.id === me.id ? "me" : "");
        item.append(el("span", "name", user.username));
        if (user.id === me.id) item.append(" ", el("span", "you", this.t("(you)")));
        return item;
      }),
    );
  }
}
