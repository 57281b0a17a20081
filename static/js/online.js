// Who is online in the open group, in the online panel (see sheet.js for how it
// opens). While the connection is lost nobody is shown as online: the list is
// replaced by "Offline — reconnecting…" until the stream is back. Each name is a
// button that opens the person's card (a direct conversation from there).

import { el } from "./dom.js";

export class OnlinePanel {
  // dom: {panel, list, offline}
  // onPerson(user, button) opens a person's card.
  constructor(dom, store, { t, onPerson = () => {} }) {
    this.dom = dom;
    this.people = new Map(); // user id -> user, of the list shown
    dom.list.addEventListener("click", (event) => {
      const button = event.target.closest("button.person-name");
      const user = button && this.people.get(Number(button.dataset.user));
      if (user) onPerson(user, button);
    });
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
    const focused = dom.list.contains(document.activeElement) ? document.activeElement.dataset.user : null;
    this.people = new Map(users.map((user) => [user.id, user]));
    dom.list.replaceChildren(
      ...users.map((user) => {
        const item = el("li", user.id === me.id ? "me" : "");
        const name = el("button", "name person-name", user.username);
        name.type = "button";
        name.dataset.user = String(user.id);
        name.setAttribute("aria-haspopup", "dialog");
        item.append(name);
        if (user.id === me.id) item.append(" ", el("span", "you", this.t("(you)")));
        return item;
      }),
    );
    if (focused) dom.list.querySelector(`button[data-user="${focused}"]`)?.focus();
  }
}
