// The groups dialog: every group with its members and who is online, a button
// per group to join (or open) it, and a form to create one.

import { api } from "./api.js";
import { el } from "./dom.js";

export class GroupsDialog {
  // dom: {dialog, open, close, list, form, name, error}
  constructor(dom, store, { t }) {
    this.dom = dom;
    this.store = store;
    this.t = t;
    dom.open.addEventListener("click", () => this.open());
    dom.close.addEventListener("click", () => dom.dialog.close());
    dom.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.create();
    });
  }

  async open() {
    const { dom } = this;
    dom.error.textContent = "";
    dom.list.replaceChildren(el("li", "muted", this.t("Loading…")));
    dom.dialog.showModal();
    try {
      const { groups } = await api("GET", "/api/groups");
      dom.list.replaceChildren(...groups.map((group) => this.item(group)));
    } catch {
      dom.list.replaceChildren(el("li", "muted", this.t("Could not load the groups. Try again.")));
    }
  }

  item(group) {
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
      this.store.addGroup(answer.group);
    }
    this.dom.dialog.close();
    this.store.activate(group.id);
  }

  async create() {
    const { dom } = this;
    const name = dom.name.value.trim();
    if (!name || name.length > 64) {
      dom.error.textContent = this.t("Use 1 to 64 characters.");
      return;
    }
    try {
      const { group } = await api("POST", "/api/groups", { name });
      dom.name.value = "";
      this.store.addGroup(group);
      dom.dialog.close();
      this.store.activate(group.id);
    } catch (error) {
      dom.error.textContent = {
        group_exists: this.t("A group with that name already exists."),
        invalid_name: this.t("Use 1 to 64 characters."),
      }[error.code] || this.t("Could not create the group. Try again.");
    }
  }
}
